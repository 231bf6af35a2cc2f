"""What the load-/save- operators of every format share: choosing the box and the file name."""

from __future__ import annotations

from typing import Any

from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.task import Task

__all__ = ["cutout_box", "task_path", "load_into", "save_from"]


def cutout_box(
    start: tuple[int, int, int] | None,
    stop: tuple[int, int, int] | None,
    size: tuple[int, int, int] | None,
    task: Task,
) -> BoundingBox | None:
    """The box to read: explicit start/stop/size first, else the task's box, else ``None`` (all)."""
    if stop is not None and size is not None:
        raise InvalidParameterError("give --cutout-stop or --cutout-size, not both")
    if start is None and stop is None and size is None:
        return task.bbox
    if start is None:
        if task.bbox is None:
            raise InvalidParameterError("--cutout-stop/--cutout-size need --cutout-start (or a task bounding box)")
        start = tuple(task.bbox.start)  # type: ignore[assignment]
    assert start is not None  # set above from the option or the task
    if stop is not None:
        return BoundingBox(Vec3.of(start), Vec3.of(stop))
    if size is not None:
        return BoundingBox.from_size(start, size)
    raise InvalidParameterError("--cutout-start needs --cutout-stop or --cutout-size")


def task_path(path: str, task: Task, bbox: BoundingBox | None, extension: str) -> str:
    """A path ending in ``/`` names a directory: the file is ``<dir>/<bbox><extension>``."""
    if not path.endswith("/"):
        return path
    box = bbox or task.bbox
    if box is None:
        raise InvalidParameterError(f"{path!r} is a directory but the chunk has no bounding box to name the file")
    return f"{path}{box}{extension}"


def load_into(task: Task, output_name: str, url: str, bbox: BoundingBox | None, **open_options: Any) -> None:
    from chunkflow.volumes import open_volume

    fill_missing = bool(open_options.pop("fill_missing", False))
    volume = open_volume(url, **open_options)
    task[output_name] = volume.read(bbox, fill_missing=fill_missing)


def save_from(task: Task, input_name: str, url: str) -> None:
    from chunkflow.volumes import save_chunk

    save_chunk(url, task[input_name], policy=task.create_policy)
