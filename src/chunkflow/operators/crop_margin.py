"""``crop-margin``: drop a margin from every side of a chunk (or crop to the task's box)."""

from __future__ import annotations

import re
from typing import Any

import click

from chunkflow.operators._options import GreedyOption, input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"crop-margin": {"section": "transform"}}


class MarginOption(GreedyOption):
    """An option taking 3 integers (every side) or 6 (-z -y -x +z +y +x, chunkflow 1.2.0's form)."""

    max_values = 6

    @staticmethod
    def accepts(token: str) -> bool:
        return re.fullmatch(r"\d+", token) is not None

    def type_cast_value(self, ctx: click.Context, value: Any) -> Any:
        if value is None or value == ():
            return None
        values = value if isinstance(value, (tuple, list)) else (value,)
        while len(values) == 1 and isinstance(values[0], (tuple, list)):
            values = values[0]
        try:
            numbers = tuple(int(v) for v in values)
        except ValueError:
            raise click.BadParameter(f"{' '.join(map(str, values))} are not integers", ctx=ctx, param=self) from None
        if len(numbers) not in (3, 6) or min(numbers) < 0:
            raise click.BadParameter(
                f"give 3 or 6 non-negative integers, got {' '.join(map(str, numbers))}", ctx=ctx, param=self
            )
        return numbers


@click.command("crop-margin")
@name_option("crop-margin")
@click.option(
    "--margin-size",
    "-m",
    cls=MarginOption,
    default=None,
    help="Margin to drop, voxels: Z Y X from every side, or -z -y -x +z +y +x (default: crop to the task's box).",
)
@click.option(
    "--crop-bbox/--no-crop-bbox",
    default=False,
    show_default=True,
    help="Also set the task's box to the cropped chunk's.",
)
@input_option()
@output_option()
def crop_margin(op_name, margin_size, crop_bbox, input_name, output_name) -> Stage:
    """Crop a margin off a chunk (a view; no copy).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 crop-margin -m 2 4 4 save-h5 -f cropped.h5
      chunkflow create-chunk -s 16 64 64 crop-margin -m 0 0 0 2 4 4 save-h5 -f ./
    """
    from chunkflow.transforms import crop_margin as crop

    def apply(task: Task) -> None:
        bbox = task.bbox if margin_size is None else None
        task[output_name] = crop(task[input_name], margin_size, bbox)
        if crop_bbox:
            task.bbox = task[output_name].bbox

    return Stage(op_name, apply)
