"""``crop-margin``: drop a margin from every side of a chunk (or crop to the task's box)."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task


@click.command("crop-margin")
@name_option("crop-margin")
@triple("--margin-size", "-m", positive=False, help="Margin to drop (default: crop to the task's box)")
@input_option()
@output_option()
def crop_margin(op_name, margin_size, input_name, output_name) -> Stage:
    """Crop a margin off a chunk (a view; no copy).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 crop-margin -m 2 8 8 save-h5 -f cropped.h5
    """
    from chunkflow.transforms import crop_margin as crop

    def apply(task: Task) -> None:
        bbox = task.bbox if margin_size is None else None
        task[output_name] = crop(task[input_name], margin_size, bbox)

    return Stage(op_name, apply)
