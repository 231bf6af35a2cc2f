"""``load-tif`` / ``save-tif``: TIFF stacks, placement kept in the image description."""

from __future__ import annotations

import click

from chunkflow.operators._io import cutout_box, load_into, save_from, task_path
from chunkflow.operators._options import input_option, name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"load-tif": {"section": "source"}, "save-tif": {"section": "sink"}}


@click.command("load-tif")
@name_option("load-tif")
@click.option("--file-name", "-f", required=True, help="TIFF file; a path ending in / reads <dir>/<bbox>.tif.")
@triple("--voxel-offset", "-v", signed=True, help="Override the stored voxel offset")
@triple("--voxel-size", "-s", help="Override the stored voxel size")
@click.option("--layer-type", "-l", type=click.Choice(["image", "segmentation", "probability_map", "affinity_map"]))
@output_option()
def load_tif(op_name, file_name, voxel_offset, voxel_size, layer_type, output_name) -> Stage:
    """Read a chunk from a TIFF file (the task's box if there is one, else all of it).

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 save-tif -f a.tif
      chunkflow load-tif -f a.tif save-npy -f a.npy
    """

    def apply(task: Task) -> None:
        bbox = cutout_box(None, None, None, task)
        url = task_path(file_name, task, bbox, ".tif")
        load_into(task, output_name, url, bbox, voxel_offset=voxel_offset, voxel_size=voxel_size, layer_type=layer_type)

    return Stage(op_name, apply)


@click.command("save-tif")
@name_option("save-tif")
@input_option()
@click.option("--file-name", "-f", required=True, help="Output file; a path ending in / writes <dir>/<bbox>.tif.")
def save_tif(op_name, input_name, file_name) -> Stage:
    """Write a chunk to a TIFF file.

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 --pattern random save-tif -f random.tif
    """

    def apply(task: Task) -> None:
        save_from(task, input_name, task_path(file_name, task, task[input_name].bbox, ".tif"))

    return Stage(op_name, apply)
