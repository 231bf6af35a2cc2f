"""chunkflow 1.2.0's small chunk operators: ``channel-voting``, ``gaussian-filter``, ``multiply``,
``quantize`` and ``normalize-section-shang``."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {
    "channel-voting": {"section": "transform"},
    "gaussian-filter": {"section": "transform", "extra": "segmentation"},
    "multiply": {"section": "transform"},
    "quantize": {"section": "transform"},
    "normalize-section-shang": {"section": "transform"},
}


@click.command("channel-voting")
@name_option("channel-voting")
@input_option()
@output_option()
def channel_voting(op_name, input_name, output_name) -> Stage:
    """Per voxel, 1 + the index of the largest channel of a 4D chunk (uint8 segmentation).

    \b
    Example:
      chunkflow create-chunk -s 8 32 32 -o image inference -f identity -s 8 32 32 -v 0 0 0 -c 3 \\
          --output-crop-margin 0 0 0 -i image -o affs channel-voting -i affs -o votes save-h5 -i votes -f votes.h5
    """

    def apply(task: Task) -> None:
        from chunkflow.compat.chunk import as_120, as_core

        task[output_name] = as_core(as_120(task[input_name]).channel_voting())

    return Stage(op_name, apply)


@click.command("gaussian-filter")
@name_option("gaussian-filter")
@input_option()
@click.option(
    "--sigma",
    "-s",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Standard deviation of the Gaussian kernel, voxels (each section is blurred in 2D).",
)
def gaussian_filter(op_name, input_name, sigma) -> Stage:
    """Blur each section of a chunk with a 2D Gaussian, in place.

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 gaussian-filter -s 2 save-h5 -f blurred.h5
    """

    def apply(task: Task) -> None:
        from chunkflow.compat.chunk import as_120

        as_120(task[input_name]).gaussian_filter_2d(sigma)  # in place: the same array

    return Stage(op_name, apply)


@click.command("multiply")
@name_option("multiply")
@click.option("--input-names", "-i", default="chunk", show_default=True, help="Comma-separated chunks to multiply.")
@click.option("--output-names", "-o", default=None, help="Comma-separated result names (default: the inputs).")
@click.option("--multiplier-name", "-m", required=True, help="Chunk to multiply by (a mask, for example).")
def multiply(op_name, input_names, output_names, multiplier_name) -> Stage:
    """Multiply chunks by another chunk of the same box (a mask).

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 -o img create-chunk -s 8 64 64 -p zero -o mask \\
          multiply -i img -m mask -o masked save-h5 -i masked -f masked.h5
    """
    from chunkflow.errors import InvalidParameterError

    inputs = input_names.split(",")
    outputs = inputs if output_names is None else output_names.split(",")
    if len(inputs) != len(outputs):
        raise InvalidParameterError(f"multiply: {len(inputs)} input(s) but {len(outputs)} output name(s)")

    def apply(task: Task) -> None:
        from chunkflow.lib.operations import multiply as times

        for source, target in zip(inputs, outputs):
            task[target] = times(task[source], task[multiplier_name])

    return Stage(op_name, apply)


@click.command("quantize")
@name_option("quantize")
@input_option()
@output_option()
@click.option(
    "--mode",
    type=click.Choice(["xy", "z"]),
    default="xy",
    show_default=True,
    help="Affinity maps: the mean of the x and y channels, or the z channel.",
)
def quantize(op_name, input_name, output_name, mode) -> Stage:
    """Turn an affinity or probability map into a uint8 image (values times 255).

    \b
    Example:
      chunkflow create-chunk -s 8 32 32 -o image inference -f identity -s 8 32 32 -v 0 0 0 -c 3 \\
          --output-crop-margin 0 0 0 -i image -o affs quantize -i affs -o xy --mode xy save-h5 -i xy -f xy.h5
    """
    from chunkflow.lib.operations import quantize as to_uint8

    def apply(task: Task) -> None:
        task[output_name] = to_uint8(task[input_name], mode)

    return Stage(op_name, apply)


@click.command("normalize-section-shang")
@name_option("normalize-section-mu")
@input_option()
@output_option()
@click.option("--nominalmin", type=click.FLOAT, default=None, help="Target minimum (default 0).")
@click.option("--nominalmax", type=click.FLOAT, default=None, help="Target maximum (default: the dtype's maximum).")
@click.option("--clipvalues", type=bool, default=False, show_default=True, help="Clip to the target range.")
def normalize_section_shang(op_name, input_name, output_name, nominalmin, nominalmax, clipvalues) -> Stage:
    """Normalise each section's range onto [nominalmin, nominalmax], Shang's method (float32 out).

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 normalize-section-shang --nominalmin 0 --nominalmax 1 save-h5 -f normalized.h5
    """
    from chunkflow.chunk.adjust_grey import normalize_sections

    def apply(task: Task) -> None:
        chunk = task[input_name]
        task[output_name] = chunk.with_array(normalize_sections(chunk.array, nominalmin, nominalmax, clipvalues))

    return Stage(op_name, apply)
