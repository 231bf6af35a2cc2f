"""``load-png`` / ``save-pngs``: directories of per-section PNG images named by global z."""

from __future__ import annotations

import click

from chunkflow.operators._io import cutout_box, load_into, save_from
from chunkflow.operators._options import input_option, name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"load-png": {"section": "source"}, "save-pngs": {"section": "sink"}}


@click.command("load-png")
@name_option("load-png")
@click.option(
    "--path", "-p", "path", required=True, help="Directory of <z>.png sections (global z, e.g. 00192.png or 192.png)."
)
@triple("--cutout-offset", "-c", signed=True, help="Global start of the box to read")
@triple("--chunk-size", "-s", help="Size of the box to read")
@triple("--voxel-offset", "-t", signed=True, help="Global offset of the first section (default: z from its name)")
@triple("--voxel-size", "-x", help="Voxel size")
@output_option()
def load_png(op_name, path, cutout_offset, chunk_size, voxel_offset, voxel_size, output_name) -> Stage:
    """Read a stack of PNG sections.

    \b
    Example:
      chunkflow create-chunk -s 4 64 64 save-pngs -o pngs
      chunkflow load-png -p pngs save-h5 -f stack.h5
    """

    def apply(task: Task) -> None:
        bbox = cutout_box(cutout_offset, None, chunk_size, task) if chunk_size else task.bbox
        load_into(task, output_name, f"png://{path}", bbox, voxel_offset=voxel_offset, voxel_size=voxel_size)

    return Stage(op_name, apply)


@click.command("save-pngs")
@name_option("save-pngs")
@input_option()
@click.option(
    "--output-path",
    "-o",
    required=True,
    help="Directory to write sections into, named by global z zero-padded to 5 digits (00192.png).",
)
def save_pngs(op_name, input_name, output_path) -> Stage:
    """Write a 3D uint8/uint16 chunk as one PNG per section.

    \b
    Example:
      chunkflow create-chunk -s 4 64 64 --pattern sin save-pngs -o pngs
    """

    def apply(task: Task) -> None:
        save_from(task, input_name, f"png://{output_path}")

    return Stage(op_name, apply)
