"""``load-h5`` / ``save-h5``: HDF5 files in chunkflow 1.2.0's layout."""

from __future__ import annotations

import click

from chunkflow.operators._io import cutout_box, load_into, save_from, task_path
from chunkflow.operators._options import input_option, name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task


@click.command("load-h5")
@name_option("load-h5")
@click.option("--file-name", "-f", required=True, help="HDF5 file; a path ending in / reads <dir>/<bbox>.h5.")
@click.option("--dataset-path", "-d", default="main", show_default=True, help="Dataset inside the file.")
@triple("--voxel-offset", "-v", signed=True, help="Override the stored voxel offset")
@triple("--voxel-size", "-x", help="Override the stored voxel size")
@triple("--cutout-start", "-t", signed=True, help="Global start of the box to read")
@triple("--cutout-stop", "-p", signed=True, help="Global stop of the box to read")
@triple("--cutout-size", "-s", help="Size of the box to read")
@click.option("--layer-type", "-l", type=click.Choice(["image", "segmentation", "probability_map", "affinity_map"]))
@output_option()
def load_h5(op_name, file_name, dataset_path, voxel_offset, voxel_size, cutout_start, cutout_stop, cutout_size,
            layer_type, output_name) -> Stage:  # fmt: skip
    """Read a chunk from an HDF5 file (the task's box, a cutout, or all of it).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 save-h5 -f a.h5
      chunkflow load-h5 -f a.h5 --cutout-start 0 0 0 --cutout-size 8 32 32 save-h5 -f part.h5
    """

    def apply(task: Task) -> None:
        bbox = cutout_box(cutout_start, cutout_stop, cutout_size, task)
        url = task_path(file_name, task, bbox, ".h5")
        load_into(task, output_name, url, bbox, dataset_path=dataset_path, voxel_offset=voxel_offset,
                  voxel_size=voxel_size, layer_type=layer_type)  # fmt: skip

    return Stage(op_name, apply)


@click.command("save-h5")
@name_option("save-h5")
@input_option()
@click.option("--file-name", "-f", required=True, help="Output file; a path ending in / writes <dir>/<bbox>.h5.")
def save_h5(op_name, input_name, file_name) -> Stage:
    """Write a chunk to an HDF5 file (dataset main + voxel_offset + voxel_size).

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 -t 8 0 64 save-h5 -f out/
    """

    def apply(task: Task) -> None:
        save_from(task, input_name, task_path(file_name, task, task[input_name].bbox, ".h5"))

    return Stage(op_name, apply)
