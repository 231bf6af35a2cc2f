"""``create-chunk``: a synthetic chunk for tests and demos."""

from __future__ import annotations

import click

from chunkflow.operators._options import name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"create-chunk": {"section": "source"}}


@click.command("create-chunk")
@name_option("create-chunk")
@triple("--size", "-s", default=(64, 64, 64), show_default=True, help="Size of the chunk")
@click.option(
    "--dtype",
    "-d",
    type=click.Choice(["uint8", "uint16", "uint32", "uint64", "float32", "float64"]),
    default="uint8",
    show_default=True,
    help="Data type.",
)
@click.option("--pattern", "-p", type=click.Choice(["sin", "random", "zero"]), default="sin", show_default=True)
@triple("--voxel-offset", "-t", default=(0, 0, 0), signed=True, help="Global offset of the chunk")
@triple("--voxel-size", "-e", default=(1, 1, 1), help="Voxel size in nm")
@click.option(
    "--layer-type",
    type=click.Choice(["image", "segmentation", "probability_map", "affinity_map"]),
    default=None,
    help="Layer type (default: from the dtype, as chunkflow 1.2.0 does: uint8 image, "
    "other unsigned integers segmentation, floats probability map).",
)
@click.option("--seed", type=int, default=0, help="Seed of the random pattern.")
@output_option()
def create_chunk(op_name, size, dtype, pattern, voxel_offset, voxel_size, layer_type, seed, output_name) -> Stage:
    """Create a chunk filled with a pattern; inside a task, it fills the task's bounding box.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern sin -t 0 0 0 save-h5 -f sin.h5
    """
    from chunkflow.synthetic import create_chunk as create

    def apply(task: Task) -> None:
        offset, shape = (task.bbox.start, task.bbox.size) if task.bbox is not None else (voxel_offset, size)
        task[output_name] = create(
            shape,
            dtype=dtype,
            pattern=pattern,
            voxel_offset=offset,
            voxel_size=voxel_size,
            layer_type=layer_type,
            seed=seed,
        )

    return Stage(op_name, apply)
