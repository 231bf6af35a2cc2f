"""``connected-components``: label connected components with cc3d."""

from __future__ import annotations

import click

from chunkflow.operators._options import FINITE_FLOAT, input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"connected-components": {"section": "transform", "extra": "segmentation"}}


@click.command("connected-components")
@name_option("connected-components")
@click.option(
    "--threshold",
    "-t",
    type=FINITE_FLOAT,
    default=None,
    help="Foreground is value > threshold (image/probability input).",
)
@click.option("--connectivity", "-c", type=click.Choice(["6", "18", "26"]), default="6", show_default=True)
@click.option(
    "--dtype",
    "-d",
    type=click.Choice(["uint16", "uint32", "uint64"]),
    default=None,
    help="Label dtype (default: chunkflow 1.2.0's, the smallest that holds every possible label; uint16 "
    "for most chunks).",
)
@input_option()
@output_option()
def connected_components(op_name, threshold, connectivity, dtype, input_name, output_name) -> Stage:
    """Connected components of a thresholded map, or of each label of a segmentation.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern sin connected-components -t 128 -c 26 -o cc save-h5 -i \\
          cc -f cc.h5
    """
    from chunkflow.segmentation import connected_components as run

    def apply(task: Task) -> None:
        task[output_name] = run(task[input_name], threshold, int(connectivity), dtype)

    return Stage(op_name, apply)
