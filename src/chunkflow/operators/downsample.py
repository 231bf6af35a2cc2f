"""``downsample`` and ``downsample-upload``: image mean / segmentation mode pooling (tinybrain)."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task


@click.command("downsample")
@name_option("downsample")
@triple("--factor", "-f", default=(1, 2, 2), show_default=True, help="Downsampling factor")
@input_option()
@output_option()
def downsample(op_name, factor, input_name, output_name) -> Stage:
    """Downsample a chunk (mean for images and maps, mode for segmentations)."""
    from chunkflow.postprocess import downsample as run

    def apply(task: Task) -> None:
        (task[output_name],) = run(task[input_name], factor, 1)

    return Stage(op_name, apply)


@click.command("downsample-upload")
@name_option("downsample-upload")
@click.option("--volume-path", "-v", required=True, help="Precomputed volume to write the mips into.")
@click.option("--start-mip", type=click.IntRange(min=0), default=0, show_default=True, help="Mip of the input chunk.")
@click.option("--stop-mip", type=click.IntRange(min=1), default=3, show_default=True, help="Last mip to write.")
@input_option()
def downsample_upload(op_name, volume_path, start_mip, stop_mip, input_name) -> Stage:
    """Write the downsampled pyramid of a chunk into a precomputed volume (block-aligned)."""
    from chunkflow.postprocess import downsample_upload as run

    def apply(task: Task) -> None:
        run(task[input_name], volume_path, start_mip, stop_mip)

    return Stage(op_name, apply)
