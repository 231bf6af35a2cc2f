"""``skip-task-by-file`` and ``mark-complete``: resume a run without redoing finished tasks."""

from __future__ import annotations

import logging

import click

from chunkflow.operators._options import name_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"skip-task-by-file": {"section": "transform"}, "mark-complete": {"section": "sink"}}

log = logging.getLogger(__name__)


def _markers(task: Task, prefix: str, suffix: str):
    from chunkflow.errors import InvalidParameterError
    from chunkflow.queues.markers import DoneMarkers

    if task.bbox is None:
        raise InvalidParameterError(
            "done markers are named by the task's bounding box; start the chain with generate-tasks or fetch-task"
        )
    return DoneMarkers(prefix, suffix)


@click.command("skip-task-by-file")
@name_option("skip-task-by-file")
@click.option(
    "--prefix", "-p", required=True, help="Marker path before the bbox, e.g. /data/out/.done/ or s3://lab/out/.done/"
)
@click.option("--suffix", "-s", default="", help="Marker path after the bbox.")
@click.option(
    "--mode",
    "-m",
    type=click.Choice(["exist", "missing", "empty"]),
    default="exist",
    show_default=True,
    help="Skip the task when its file exists, is missing, or is missing or empty (1.2.0's modes).",
)
@click.option(
    "--adjust-size",
    "-a",
    type=click.INT,
    default=None,
    help="Grow (negative: shrink) the box naming the file by this many voxels on every side.",
)
def skip_task_by_file(op_name, prefix, suffix, mode, adjust_size) -> Stage:
    """Skip the rest of the chain (but still acknowledge) when the task's marker exists.

    \b
    Example:
      chunkflow generate-tasks -b 0-16_0-64_0-128 -c 16 64 64 skip-task-by-file -p done/ create-chunk \\
          save-h5 -f out/ mark-complete -p done/
    """

    def apply(task: Task) -> None:
        markers = _markers(task, prefix, suffix)
        bbox = task.bbox if adjust_size is None else task.bbox.grow(adjust_size)  # type: ignore[union-attr]
        if mode == "exist":
            skip = markers.is_done(bbox)
        else:
            size = markers.size(bbox)
            skip = size is None or (mode == "empty" and size == 0)
        if skip:
            log.info("task %s: file %s; skipping", task.bbox, "exists" if mode == "exist" else f"is {mode}")
            task.skip = True

    return Stage(op_name, apply)


@click.command("mark-complete")
@name_option("mark-complete")
@click.option(
    "--prefix", "-p", required=True, help="Marker path before the bbox, e.g. /data/out/.done/ or s3://lab/out/.done/"
)
@click.option("--suffix", "-s", default="", help="Marker path after the bbox.")
def mark_complete(op_name, prefix, suffix) -> Stage:
    """Create the task's marker (put it after the writes it vouches for).

    \b
    Example:
      chunkflow generate-tasks -b 0-16_0-64_0-128 -c 16 64 64 create-chunk save-h5 -f out/ mark-complete \\
          -p done/
    """

    def apply(task: Task) -> None:
        _markers(task, prefix, suffix).mark(task.bbox)

    return Stage(op_name, apply)
