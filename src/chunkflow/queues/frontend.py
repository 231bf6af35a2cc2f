"""The frontend: plan task boxes, and either queue them or hand them to the local chain."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.queues.taskgen import task_boxes
from chunkflow.task import Task

__all__ = ["plan_tasks", "submit_or_yield"]

log = logging.getLogger(__name__)


def plan_tasks(roi_start, roi_stop, roi_size, chunk_size, grid_size, bounding_box, aligned_block_size, volume_path, mip):  # type: ignore[no-untyped-def]
    """Resolve generate-tasks' flags into a list of boxes."""
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
        roi = clip  # type: ignore[assignment]
    if chunk_size is None:
        if grid_size is None:
            raise InvalidParameterError("give --chunk-size or --grid-size")
        chunk_size = roi.size.ceildiv(grid_size)
    if clip is not None and not roi.intersects(clip):
        raise InvalidParameterError(f"region {roi} lies outside the volume {clip} ({volume_path})")
    return task_boxes(roi, chunk_size, aligned_block_size, grid_offset, clip)


def submit_or_yield(boxes: list[BoundingBox], queue_name: str | None, max_receive_count: int,
                    file_path: str | None) -> Iterator[Task]:  # fmt: skip
    if file_path is not None:
        from chunkflow.volumes.base import atomic_path

        with atomic_path(Path(file_path)) as tmp:
            tmp.write_text("".join(f"{b}\n" for b in boxes))
        log.info("wrote %d task boxes to %s", len(boxes), file_path)
    if queue_name is not None:
        from chunkflow.queues import open_queue

        sent = open_queue(queue_name, max_receive_count=max_receive_count).send(str(b) for b in boxes)
        print(f"sent {sent} tasks to {queue_name}")
        return
    if file_path is not None:
        return
    from tqdm.auto import tqdm

    for index, bbox in enumerate(tqdm(boxes, desc="tasks", unit="task", disable=None)):
        yield Task(bbox=bbox, index=index)
