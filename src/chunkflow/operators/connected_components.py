"""``connected-components``: label connected components with cc3d."""

from __future__ import annotations

import click

from chunkflow.operators._options import FINITE_FLOAT, input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task


@click.command("connected-components")
@name_option("connected-components")
@click.option("--threshold", "-t", type=FINITE_FLOAT, default=None, help="Foreground is value > threshold (image/probability input).")
@click.option("--connectivity", "-c", type=click.Choice(["6", "18", "26"]), default="6", show_default=True)
@input_option()
@output_option()
def connected_components(op_name, threshold, connectivity, input_name, output_name) -> Stage:
    """Connected components of a thresholded map, or of each label of a segmentation.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern sin connected-components -t 128 -c 26 -o cc save-h5 -i \\
          cc -f cc.h5
    """
    from chunkflow.segmentation import connected_components as run

    def apply(task: Task) -> None:
        task[output_name] = run(task[input_name], threshold, int(connectivity))

    return Stage(op_name, apply)
