"""``threshold``: binary foreground ``value > threshold``."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task


@click.command("threshold")
@name_option("threshold")
@click.option("--threshold", "-t", "value", type=float, default=0.5, show_default=True)
@input_option()
@output_option()
def threshold(op_name, value, input_name, output_name) -> Stage:
    """Binarise a chunk: 1 where it exceeds the threshold."""
    from chunkflow.transforms import threshold as binarise

    def apply(task: Task) -> None:
        task[output_name] = binarise(task[input_name], value)

    return Stage(op_name, apply)
