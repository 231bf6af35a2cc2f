"""chunkflow 1.2.0's task-control operators: ``create-bbox``, ``adjust-bbox``, ``skip-none``,
``skip-all-zero``, ``skip-task-by-blocks-in-volume`` and ``cleanup``."""

from __future__ import annotations

import logging

import click

from chunkflow.operators._options import input_option, name_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {
    "create-bbox": {"section": "source"},
    "adjust-bbox": {"section": "transform"},
    "skip-none": {"section": "transform"},
    "skip-all-zero": {"section": "transform"},
    "skip-task-by-blocks-in-volume": {"section": "transform"},
    "cleanup": {"section": "transform"},
}

log = logging.getLogger(__name__)


def _need_bbox(task: Task, what: str):
    from chunkflow.errors import InvalidParameterError

    if task.bbox is None:
        raise InvalidParameterError(
            f"{what} needs the task's bounding box; start the chain with generate-tasks or create-bbox"
        )
    return task.bbox


@click.command("create-bbox")
@name_option("create-bbox")
@triple("--start", "-s", signed=True, required=True, help="Start of the box")
@triple("--stop", "-p", signed=True, help="Stop of the box (or give --size)")
@triple("--size", "-z", help="Size of the box (or give --stop)")
def create_bbox(op_name, start, stop, size) -> Stage:
    """Start a chain with one task whose box is given here.

    \b
    Example:
      chunkflow create-bbox -s 0 0 0 -z 8 64 64 create-chunk save-h5 -f ./
    """
    from chunkflow.errors import InvalidParameterError
    from chunkflow.geometry import BoundingBox

    if (stop is None) == (size is None):
        raise InvalidParameterError("create-bbox: give --stop or --size (one of them)")
    bbox = BoundingBox(start, stop) if stop is not None else BoundingBox.from_size(start, size)
    return Stage(op_name, produce=lambda: [Task(bbox=bbox)])


@click.command("adjust-bbox")
@name_option("adjust-bbox")
@click.option(
    "--corner-offset",
    "-c",
    type=click.INT,
    nargs=6,
    required=True,
    help="Added to the box: -z -y -x to the start, then z y x to the stop (voxels).",
)
def adjust_bbox(op_name, corner_offset) -> Stage:
    """Move the corners of the task's box.

    \b
    Example:
      chunkflow create-bbox -s 0 0 0 -z 8 64 64 adjust-bbox -c 2 4 4 -2 -4 -4 create-chunk save-h5 -f ./
    """
    from chunkflow.lib.operations import adjust_corners

    def apply(task: Task) -> None:
        task.bbox = adjust_corners(_need_bbox(task, "adjust-bbox"), corner_offset)
        log.info("bounding box adjusted to %s", task.bbox)

    return Stage(op_name, apply)


@click.command("skip-none")
@name_option("skip-none")
@click.option("--input-name", "-i", default="chunk", show_default=True, help="Name of the item to test for None.")
@click.option(
    "--touch/--no-touch",
    default=True,
    show_default=True,
    help="Create the marker <prefix><bbox><suffix> of a skipped task (when --prefix is given).",
)
@click.option("--prefix", "-p", default=None, help="Marker path before the bbox, e.g. /data/out/.done/.")
@click.option("--suffix", "-s", default="", help="Marker path after the bbox.")
def skip_none(op_name, input_name, touch, prefix, suffix) -> Stage:
    """Skip the rest of the chain where the named item is None (or absent).

    \b
    Example:
      chunkflow create-bbox -s 0 0 0 -z 8 64 64 create-chunk plugin -f print_max_id -i chunk -o maybe \\
          skip-none -i maybe -p ./skipped/ save-h5 -i maybe -f never.h5
    """
    from chunkflow.lib.operations import touch as touch_file

    def apply(task: Task) -> None:
        if task.chunks.get(input_name) is None:
            task.skip = True
            if touch and prefix is not None:
                touch_file(f"{prefix}{_need_bbox(task, 'skip-none --prefix')}{suffix}")

    return Stage(op_name, apply)


@click.command("skip-all-zero")
@name_option("skip-all-zero")
@input_option()
@click.option("--prefix", "-p", default=None, help="Create the marker <prefix><bbox><suffix> of a skipped task.")
@click.option("--suffix", "-s", default="", help="Marker path after the bbox.")
@click.option(
    "--adjust-size",
    "-a",
    type=click.INT,
    default=None,
    help="Grow (or with a negative value shrink) the marker's box by this many voxels on every side.",
)
@click.option(
    "--chunk-bbox/--task-bbox",
    default=True,
    show_default=True,
    help="Name the marker by the chunk's box or by the task's.",
)
def skip_all_zero(op_name, input_name, prefix, suffix, adjust_size, chunk_bbox) -> Stage:
    """Skip the rest of the chain where the chunk is all zero.

    \b
    Example:
      chunkflow create-chunk -p zero skip-all-zero -p ./all-zero/ save-h5 -f never.h5
    """
    import numpy as np

    from chunkflow.lib.operations import touch

    def apply(task: Task) -> None:
        chunk = task[input_name]
        if np.any(chunk.array):
            return
        log.info("all-zero chunk %s; skipping the task", chunk.bbox)
        task.skip = True
        if prefix is not None:
            bbox = chunk.bbox if chunk_bbox else _need_bbox(task, "skip-all-zero --task-bbox")
            if adjust_size is not None:
                bbox = bbox.grow(adjust_size)
            touch(f"{prefix}{bbox}{suffix}")

    return Stage(op_name, apply)


@click.command("skip-task-by-blocks-in-volume")
@name_option("skip-task-by-blocks-in-volume")
@click.option("--volume-path", "-v", required=True, help="Precomputed volume URL.")
@click.option("--mip", "-m", type=click.IntRange(min=0), default=0, show_default=True, help="Mip level to check.")
@click.option(
    "--use-https/--use-credential",
    default=False,
    hidden=True,
    help="Accepted for 1.2.0 command lines; give an https:// URL for public data instead.",
)
def skip_task_by_blocks_in_volume(op_name, volume_path, mip, use_https) -> Stage:
    """Skip the rest of the chain where every block of the task's box exists in the volume.

    \b
    Example:
      chunkflow create-chunk -s 64 64 64 save-precomputed -v file://$PWD/img
      chunkflow generate-tasks -v file://$PWD/img -c 64 64 64 skip-task-by-blocks-in-volume -v file://$PWD/img \\
          load-precomputed -v file://$PWD/img save-h5 -f never.h5
    """
    from chunkflow.lib.operations import blocks_all_exist

    def apply(task: Task) -> None:
        if blocks_all_exist(volume_path, _need_bbox(task, "skip-task-by-blocks-in-volume"), mip):
            log.info("all blocks of %s exist in %s; skipping", task.bbox, volume_path)
            task.skip = True

    return Stage(op_name, apply)


@click.command("cleanup")
@name_option("cleanup")
@click.option(
    "--dir",
    "-d",
    "directory",
    default="./",
    show_default=True,
    type=click.Path(exists=True, file_okay=False, dir_okay=True, writable=True, resolve_path=True),
    help="Folder whose files are removed.",
)
@click.option(
    "--mode",
    "-m",
    type=click.Choice(["exist", "empty", "not-empty"]),
    default="exist",
    show_default=True,
    help="Remove every file, the empty ones, or the non-empty ones.",
)
@click.option("--suffix", "-s", default=None, help="Only files ending in this.")
def cleanup(op_name, directory, mode, suffix) -> Stage:
    """Remove files of a folder (all, empty or non-empty), e.g. stale markers.

    \b
    Example:
      chunkflow create-chunk -s 8 8 8 save-h5 -f kept.h5
      chunkflow create-chunk -p zero skip-all-zero -p ./empty-marker-
      chunkflow cleanup -d . -m empty
    """
    from chunkflow.lib.operations import cleanup_files

    def produce():
        removed = cleanup_files(directory, mode, suffix)
        log.info("removed %d file(s) from %s", removed, directory)
        return [Task()]

    return Stage(op_name, produce=produce)
