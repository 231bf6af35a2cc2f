"""``normalize-intensity``: uint8 image to float32 in [-1, 1]."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"normalize-intensity": {"section": "transform"}}


@click.command("normalize-intensity")
@name_option("normalize-intensity")
@input_option()
@output_option()
def normalize_intensity(op_name, input_name, output_name) -> Stage:
    """Map a uint8 image to float32 with x / 127.5 - 1.

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 normalize-intensity -o norm save-h5 -i norm -f norm.h5
    """
    from chunkflow.transforms import normalize_intensity as normalize

    def apply(task: Task) -> None:
        task[output_name] = normalize(task[input_name])

    return Stage(op_name, apply)
