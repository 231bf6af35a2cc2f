"""``downsample`` and ``downsample-upload``: image mean / segmentation mode pooling (tinybrain)."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"downsample": {"section": "transform"}, "downsample-upload": {"section": "sink"}}


@click.command("downsample")
@name_option("downsample")
@triple("--factor", "-f", default=(1, 2, 2), show_default=True, help="Downsampling factor")
@input_option()
@output_option()
def downsample(op_name, factor, input_name, output_name) -> Stage:
    """Downsample a chunk (mean for images and maps, mode for segmentations).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 downsample -f 1 2 2 -o small save-h5 -i small -f small.h5
    """
    from chunkflow.postprocess import downsample as run

    def apply(task: Task) -> None:
        (task[output_name],) = run(task[input_name], factor, 1)

    return Stage(op_name, apply)


@click.command("downsample-upload")
@name_option("downsample-upload")
@click.option(
    "--volume-path",
    "-v",
    required=True,
    help="Precomputed volume (sharded or unsharded scales) or OME-Zarr group to write the mips into.",
)
@triple(
    "--factor",
    "-f",
    default=(1, 2, 2),
    show_default=True,
    help="Factor between mips, used where the volume's info lacks them",
)
@click.option(
    "--chunk-mip", "-c", type=click.IntRange(min=0), default=0, show_default=True, help="Mip of the input chunk."
)
@click.option(
    "--start-mip", "-s", type=click.IntRange(min=1), default=None, help="First mip to write (default: chunk mip + 1)."
)
@click.option(
    "--stop-mip",
    "-p",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Stop mip, exclusive as in chunkflow 1.2.0 (5 writes mips up to 4).",
)
@click.option(
    "--fill-missing/--no-fill-missing",
    default=True,
    help="Accepted for chunkflow 1.2.0 command lines; the pyramid is computed from the chunk, so nothing is read.",
)
@input_option()
def downsample_upload(op_name, volume_path, factor, chunk_mip, start_mip, stop_mip, fill_missing, input_name) -> Stage:
    """Write the downsampled pyramid of a chunk, in one pass, into a precomputed volume (whole blocks, or
    whole shards of sharded scales) or an OME-Zarr group (levels plus their multiscales metadata).

    \b
    Example:
      chunkflow create-info -v file://$PWD/img -z 16 128 128 -s 40 4 4 -b 16 32 32 -d uint8 -t image
      chunkflow create-chunk -s 16 128 128 save-precomputed -v file://$PWD/img downsample-upload -v \\
          file://$PWD/img --stop-mip 3
      chunkflow create-chunk -s 16 128 128 save-zarr -s $PWD/img.zarr --ome downsample-upload -v $PWD/img.zarr -p 3
    """
    from chunkflow.errors import InvalidParameterError
    from chunkflow.postprocess import downsample_upload as run

    first = chunk_mip + 1 if start_mip is None else start_mip
    if not chunk_mip < first < stop_mip:
        raise InvalidParameterError(
            f"mips to write {first}..{stop_mip - 1} are empty or not above the chunk's mip {chunk_mip}; "
            "check --chunk-mip, --start-mip and --stop-mip (exclusive)"
        )

    def apply(task: Task) -> None:
        run(task[input_name], volume_path, chunk_mip, stop_mip - 1, factor=factor, first_mip=first)

    return Stage(op_name, apply)
