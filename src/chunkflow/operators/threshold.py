"""``threshold``: binary foreground ``value > threshold``."""

from __future__ import annotations

import click

from chunkflow.operators._options import FINITE_FLOAT, input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"threshold": {"section": "transform"}}


@click.command("threshold")
@name_option("threshold")
@click.option("--threshold", "-t", "value", type=FINITE_FLOAT, default=0.5, show_default=True)
@input_option()
@output_option()
def threshold(op_name, value, input_name, output_name) -> Stage:
    """Binarise a chunk: 1 where it exceeds the threshold.

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 --pattern sin threshold -t 128 -o mask save-h5 -i mask -f mask.h5
    """
    from chunkflow.transforms import threshold as binarise

    def apply(task: Task) -> None:
        task[output_name] = binarise(task[input_name], value)

    return Stage(op_name, apply)
