"""The frontend: plan task boxes, and either queue them or hand them to the local chain."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator

from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.queues.taskgen import TaskPlan, plan_boxes
from chunkflow.task import CreatePolicy, Task

__all__ = ["plan_tasks", "submit_or_yield", "count_tasks", "DEFAULT_MAX_TASKS"]

#: the largest plan generate-tasks makes unless told otherwise (--max-tasks)
DEFAULT_MAX_TASKS = 1_000_000

log = logging.getLogger(__name__)


def plan_tasks(
    roi_start, roi_stop, roi_size, chunk_size, grid_size, bounding_box, aligned_block_size, volume_path, mip
):
    """Resolve generate-tasks' flags into a :class:`TaskPlan` (boxes made on demand)."""
    grid_offset, clip = Vec3(0, 0, 0), None
    if volume_path is not None:
        from chunkflow.volumes import open_volume

        volume = open_volume(volume_path, mip=mip)
        grid_offset, clip = volume.bbox.start, volume.bbox
        if aligned_block_size is None and chunk_size is not None:
            aligned_block_size = tuple(volume.block_size)
    if bounding_box is not None:
        roi = bounding_box
    elif roi_start is not None or volume_path is None:
        if roi_start is None:
            raise InvalidParameterError("give --roi-start, --bounding-box or --volume-path")
        if roi_stop is not None:
            roi = BoundingBox(Vec3.of(roi_start), Vec3.of(roi_stop))
        elif roi_size is not None:
            roi = BoundingBox.from_size(roi_start, roi_size)
        elif grid_size is not None and chunk_size is not None:
            roi = BoundingBox.from_size(roi_start, Vec3.of(grid_size) * Vec3.of(chunk_size))
        else:
            raise InvalidParameterError("give --roi-stop, --roi-size, or --grid-size with --chunk-size")
    else:
        roi = clip
    if chunk_size is None:
        if grid_size is None:
            raise InvalidParameterError("give --chunk-size or --grid-size")
        if any(g <= 0 for g in grid_size):
            raise InvalidParameterError(f"grid size {tuple(grid_size)} must be positive")
        chunk_size = roi.size.ceildiv(grid_size)
    if clip is not None and not roi.intersects(clip):
        raise InvalidParameterError(f"region {roi} lies outside the volume {clip} ({volume_path})")
    return plan_boxes(roi, chunk_size, aligned_block_size, grid_offset, clip)


def count_tasks(
    plan: TaskPlan, index_start: int = 0, index_stop: int | None = None, max_tasks: int = DEFAULT_MAX_TASKS
) -> int:
    """How many tasks ``plan[index_start:index_stop]`` makes; more than ``max_tasks`` is refused."""
    total = plan.count()
    stop = total if index_stop is None else min(index_stop, total)
    count = max(0, stop - index_start)
    if count > max_tasks:
        raise InvalidParameterError(
            f"this plan makes {count:,} tasks, more than --max-tasks {max_tasks:,}; use a larger --chunk-size, "
            "a smaller region or --task-index-start/--task-index-stop, or raise --max-tasks"
        )
    return count


def submit_or_yield(
    plan: TaskPlan,
    queue_name: str | None,
    max_receive_count: int | None,
    file_path: str | None,
    index_start: int = 0,
    index_stop: int | None = None,
    max_tasks: int = DEFAULT_MAX_TASKS,
) -> Iterator[Task]:
    """Stream the plan's boxes (``index_start:index_stop``) to a task file, a queue, or this chain.

    A plan of more than ``max_tasks`` boxes is refused before anything is written or sent.
    """
    count = count_tasks(plan, index_start, index_stop, max_tasks)
    stop = index_start + count

    def boxes() -> Iterator[BoundingBox]:
        return itertools.islice(iter(plan), index_start, stop)

    if file_path is not None:
        from chunkflow import files

        try:  # a local path or a bucket (the workers of a Slurm array or a cloud batch read it from there)
            files.write_text(file_path, "".join(f"{b}\n" for b in boxes()))
        except OSError as exc:
            raise InvalidParameterError(f"cannot write the task file {file_path}: {exc.strerror or exc}") from None
        log.info("wrote %d task boxes to %s", count, file_path)
    if queue_name is not None:
        from chunkflow.queues import open_queue

        sent = open_queue(queue_name, max_receive_count=max_receive_count).send(str(b) for b in boxes())
        print(f"sent {sent} tasks to {queue_name}")
        return
    if file_path is not None:
        return
    # a volume that a task of this loop creates (save-precomputed -v NEW) covers the whole plan
    policy = CreatePolicy(region=plan.region)
    for index, bbox in enumerate(boxes(), index_start):
        yield Task(bbox=bbox, index=index, create_policy=policy)
