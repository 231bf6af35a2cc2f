"""``load-npy`` / ``save-npy``: raw NumPy arrays."""

from __future__ import annotations

import click

from chunkflow.operators._io import load_into, save_from, task_path
from chunkflow.operators._options import input_option, name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"load-npy": {"section": "source"}, "save-npy": {"section": "sink"}}


@click.command("load-npy")
@name_option("load-npy")
@click.option("--file-name", "--file-path", "-f", required=True, help="NPY file.")
@triple("--voxel-offset", "-t", signed=True, default=(0, 0, 0), help="Global offset of the array")
@triple("--voxel-size", "-s", default=(1, 1, 1), help="Voxel size")
@click.option("--layer-type", "-l", type=click.Choice(["image", "segmentation", "probability_map", "affinity_map"]))
@output_option()
def load_npy(op_name, file_name, voxel_offset, voxel_size, layer_type, output_name) -> Stage:
    """Read a whole .npy array as a chunk placed at --voxel-offset.

    \b
    Example:
      chunkflow create-chunk -s 8 32 32 save-npy -f a.npy
      chunkflow load-npy -f a.npy -t 100 0 0 -s 40 4 4 save-h5 -f placed.h5
    """

    def apply(task: Task) -> None:
        url = task_path(file_name, task, None, ".npy")
        load_into(task, output_name, url, None, voxel_offset=voxel_offset, voxel_size=voxel_size, layer_type=layer_type)

    return Stage(op_name, apply)


@click.command("save-npy")
@name_option("save-npy")
@input_option()
@click.option(
    "--file-name", "--file-path", "-f", required=True, help="Output file; ending in / writes <dir>/<bbox>.npy."
)
def save_npy(op_name, input_name, file_name) -> Stage:
    """Write a chunk's array to a .npy file.

    \b
    Example:
      chunkflow create-chunk -s 8 32 32 save-npy -f a.npy
    """

    def apply(task: Task) -> None:
        save_from(task, input_name, task_path(file_name, task, task[input_name].bbox, ".npy"))

    return Stage(op_name, apply)
