"""``generate-tasks``: cut a region into task boxes; queue them, or run them here."""

from __future__ import annotations

import logging

import click

from chunkflow.operators._options import BoundingBoxType, name_option, triple
from chunkflow.pipeline import Stage

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"generate-tasks": {"section": "source"}}

log = logging.getLogger(__name__)


@click.command("generate-tasks")
@name_option("generate-tasks")
@triple("--roi-start", "-s", signed=True, help="Start of the region of interest")
@triple("--roi-stop", "-r", signed=True, help="Stop of the region of interest")
@triple("--roi-size", "-z", help="Size of the region of interest")
@triple("--chunk-size", "-c", help="Size of each task's box")
@triple(
    "--grid-size",
    "-g",
    help="Number of tasks per axis: with --chunk-size, that many tasks from the region's "
    "start (as 1.2.0), however the region is given; alone, the region is cut into that many",
)
@click.option("--bounding-box", "-b", type=BoundingBoxType(), default=None, help="ROI as z0-z1_y0-y1_x0-x1.")
@triple("--aligned-block-size", "-a", help="Align task boxes to this storage block grid")
@click.option("--volume-path", "-v", default=None, help="Take the ROI (and block grid) from this volume.")
@click.option("--mip", "-m", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--task-index-start", "-i", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--task-index-stop", "-p", type=click.IntRange(min=0), default=None)
@click.option("--queue-name", "-q", default=None, help="sqs://NAME, NAME or file:///path; else run here.")
@click.option(
    "--max-receive-count",
    type=click.IntRange(min=1),
    default=None,
    help="Receives before a task goes to the dead-letter queue (kept with the queue; default: what the "
    "queue has, else 5).",
)
@click.option(
    "--max-tasks",
    type=click.IntRange(min=1),
    default=1_000_000,
    show_default=True,
    help="Refuse a plan of more tasks than this (it says how many it would make).",
)
@click.option("--file-path", "-f", type=click.Path(dir_okay=False), default=None, help="Write the task boxes here.")
def generate_tasks(
    op_name,
    roi_start,
    roi_stop,
    roi_size,
    chunk_size,
    grid_size,
    bounding_box,
    aligned_block_size,
    volume_path,
    mip,
    task_index_start,
    task_index_stop,
    queue_name,
    max_receive_count,
    max_tasks,
    file_path,
) -> Stage:
    """Cut a region of interest into tasks: send them to a queue, or run the rest of the chain on each.

    \b
    Example:
      chunkflow generate-tasks -b 0-16_0-128_0-128 -c 16 64 64 create-chunk save-h5 -f tasks/
    """
    from chunkflow.queues.frontend import count_tasks, plan_tasks, submit_or_yield

    if volume_path is not None:  # a sharded volume: one task per shard, nothing else
        from chunkflow.volumes.sharded import sharded_task_size

        shard = sharded_task_size(volume_path, mip, chunk_size)
        chunk_size = chunk_size if shard is None else tuple(shard)
        aligned_block_size = aligned_block_size if shard is None else tuple(shard)
    plan = plan_tasks(
        roi_start, roi_stop, roi_size, chunk_size, grid_size, bounding_box, aligned_block_size, volume_path, mip
    )
    if grid_size is not None and chunk_size is not None:  # 1.2.0: -g tasks per axis from the region's start
        from chunkflow.geometry import BoundingBox, Vec3
        from chunkflow.queues.taskgen import TaskPlan

        plan = TaskPlan(BoundingBox.from_size(plan.roi.start, Vec3.of(grid_size) * chunk_size), plan.size, plan.clip_to)
    count = count_tasks(plan, task_index_start, task_index_stop, max_tasks)  # a plan too large is refused here
    return Stage(
        op_name,
        produce=lambda: submit_or_yield(
            plan, queue_name, max_receive_count, file_path, task_index_start, task_index_stop, max_tasks
        ),
        total=None if queue_name else count,
        ends_chain=_ends_chain(queue_name, file_path),
    )


def _ends_chain(queue_name: str | None, file_path: str | None) -> str | None:
    """With -q or -f the tasks leave this process: operators after generate-tasks would never run."""
    if queue_name is not None:
        return (
            f"-q sends the tasks to {queue_name}; end the chain there and run the operators in a worker: "
            f"chunkflow fetch-task -q {queue_name} {{operators}} delete-task-in-queue"
        )
    if file_path is not None:
        return f"-f writes the task boxes to {file_path} instead of running them; end the chain there or drop -f"
    return None
