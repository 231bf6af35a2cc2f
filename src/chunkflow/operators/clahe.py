"""``clahe``: contrast-limited adaptive histogram equalization of each section of a uint8 image."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"clahe": {"section": "transform", "extra": "segmentation-skimage"}}


@click.command("clahe")
@name_option("clahe")
@input_option()
@output_option()
@click.option(
    "--kernel-size",
    type=click.IntRange(min=2),
    default=None,
    help="Tile size in pixels (Y and X) [default: 1/8 of the section, scikit-image's].",
)
@click.option(
    "--clip-limit",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.01,
    show_default=True,
    help="Contrast limit, as a fraction of each tile's histogram (higher = more contrast).",
)
@click.option("--nbins", type=click.IntRange(min=2), default=256, show_default=True, help="Histogram bins.")
def clahe(op_name, input_name, output_name, kernel_size, clip_limit, nbins) -> Stage:
    """Equalize the local contrast of each section (CLAHE, scikit-image); uint8 in, uint8 out.

    Tiles are laid out from the chunk's corner, so run it on whole sections (or before cutting a
    volume into tasks): unlike normalize-contrast --levels-path, chunks of one volume do not agree.

    \b
    Example:
      chunkflow create-chunk -s 4 64 64 --pattern sin -o img clahe -i img -o img --clip-limit 0.02 \\
          save-h5 -i img -f clahe.h5
    """
    from chunkflow.preprocess import clahe as equalize

    def apply(task: Task) -> None:
        task[output_name] = equalize(task[input_name], kernel_size, clip_limit, nbins)

    return Stage(op_name, apply)
