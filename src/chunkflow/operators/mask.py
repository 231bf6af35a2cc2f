"""``mask``: zero chunks where a (coarser) mask volume is 0."""

from __future__ import annotations

import click

from chunkflow.operators._options import name_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"mask": {"section": "transform"}}


@click.command("mask")
@name_option("mask")
@click.option(
    "--input-names",
    "--input-chunk-name",
    "-i",
    "input_names",
    default="chunk",
    show_default=True,
    help="Comma-separated names.",
)
@click.option(
    "--output-names",
    "--output-chunk-name",
    "-o",
    "output_names",
    default=None,
    help="Comma-separated (default: in place).",
)
@click.option("--volume-path", "-v", required=True, help="Mask volume.")
@click.option("--mip", "-m", type=click.IntRange(min=0), default=0, show_default=True, help="Mip of the mask to read.")
@click.option("--inverse/--no-inverse", default=False, help="Zero where the mask is non-zero instead.")
@click.option("--fill-missing/--no-fill-missing", default=False)
def mask(op_name, input_names, output_names, volume_path, mip, inverse, fill_missing) -> Stage:
    """Apply a mask volume (possibly at a coarser mip) to chunks.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern sin threshold -t 128 -o m save-precomputed -i m -v \\
          file://$PWD/mask
      chunkflow create-chunk -s 16 64 64 -o img mask -i img -o img -v file://$PWD/mask save-h5 -i img -f \\
          masked.h5
    """
    from chunkflow.postprocess import apply_mask

    inputs = input_names.split(",")
    outputs = output_names.split(",") if output_names else inputs

    def apply(task: Task) -> None:
        for i, o in zip(inputs, outputs):
            task[o] = apply_mask(task[i], volume_path, mip, inverse, fill_missing)

    return Stage(op_name, apply)
