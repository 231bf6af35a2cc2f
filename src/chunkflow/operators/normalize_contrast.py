"""``normalize-contrast`` (chunkflow 1.2.0's name and flags) and the two stages that make it agree
across the chunks of a volume: ``compute-luminance-levels`` and ``aggregate-luminance-levels``."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {
    "normalize-contrast": {"section": "transform"},
    "compute-luminance-levels": {"section": "transform"},
    "aggregate-luminance-levels": {"section": "transform"},
}

_levels_path = click.option(
    "--levels-path",
    "-p",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory of the per-section luminance histograms (levels).",
)


@click.command("normalize-contrast")
@name_option("normalize-contrast")
@input_option()
@output_option()
@click.option(
    "--lower-clip-fraction",
    "-l",
    type=click.FloatRange(0, 1),
    default=0.01,
    show_default=True,
    help="Fraction of the darkest (non-black) voxels of a section clipped to --minval.",
)
@click.option(
    "--upper-clip-fraction",
    "-u",
    type=click.FloatRange(0, 1),
    default=0.01,
    show_default=True,
    help="Fraction of the brightest voxels of a section clipped to --maxval.",
)
@click.option(
    "--minval", type=click.IntRange(0, 255), default=1, show_default=True, help="Lowest intensity of the output."
)
@click.option(
    "--maxval", type=click.IntRange(0, 255), default=255, show_default=True, help="Highest intensity of the output."
)
@click.option(
    "--per-section/--whole",
    default=True,
    show_default=True,
    help="One histogram per section, or one for the whole chunk (ignored with --levels-path).",
)
@click.option(
    "--levels-path",
    default=None,
    type=click.Path(file_okay=False),
    help="Read whole-section histograms <DIR>/<z> (from aggregate-luminance-levels, igneous's "
    "levels/<mip>/, or 1.2.0's) instead of the chunk's own, so the chunks of a volume agree.",
)
def normalize_contrast(
    op_name, input_name, output_name, lower_clip_fraction, upper_clip_fraction, minval, maxval, per_section, levels_path
) -> Stage:
    """Stretch each EM section's intensities between its clamping values (uint8 images; pure black is ignored).

    Over a volume cut into tasks, compute the histograms of whole sections first (stages 1 and 2),
    so every chunk of a section gets the same table:

    \b
    Example:
      chunkflow generate-tasks -b 0-16_0-64_0-64 -c 16 32 32 create-chunk --pattern random \\
          compute-luminance-levels -p levels
      chunkflow aggregate-luminance-levels -p levels
      chunkflow generate-tasks -b 0-16_0-64_0-64 -c 16 32 32 create-chunk --pattern random \\
          normalize-contrast --levels-path levels save-h5 -f normalized/
      chunkflow create-chunk -s 16 64 64 --pattern random normalize-contrast -l 0.02 -u 0.02 save-h5 -f one.h5
    """
    from chunkflow.errors import InvalidParameterError
    from chunkflow.preprocess import normalize_contrast as normalize
    from chunkflow.preprocess import read_levels

    if lower_clip_fraction + upper_clip_fraction > 1:
        raise InvalidParameterError(
            f"--lower-clip-fraction {lower_clip_fraction} + --upper-clip-fraction {upper_clip_fraction} exceed 1"
        )
    if minval > maxval:
        raise InvalidParameterError(f"--minval {minval} is above --maxval {maxval}")

    def apply(task: Task) -> None:
        image = task[input_name]
        levels = None
        if levels_path:
            z0 = image.voxel_offset[0]
            levels = read_levels(levels_path, range(z0, z0 + image.shape[0]))
        task[output_name] = normalize(
            image, lower_clip_fraction, upper_clip_fraction, minval, maxval, per_section, levels
        )

    return Stage(op_name, apply)


@click.command("compute-luminance-levels")
@name_option("compute-luminance-levels")
@input_option()
@_levels_path
def compute_luminance_levels(op_name, input_name, levels_path) -> Stage:
    """Stage 1 of volume-wide contrast normalization: this task's per-section histograms.

    Writes <levels-path>/fragments/<bbox>; the tasks must not overlap (crop margins first).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern random -o img compute-luminance-levels -i img -p levels
    """
    from chunkflow.preprocess import write_levels_fragment

    def apply(task: Task) -> None:
        write_levels_fragment(task[input_name], levels_path)

    return Stage(op_name, apply)


@click.command("aggregate-luminance-levels")
@name_option("aggregate-luminance-levels")
@_levels_path
def aggregate_luminance_levels(op_name, levels_path) -> Stage:
    """Stage 2 (run once, after every task of stage 1): sum the fragments into <levels-path>/<z>.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern random compute-luminance-levels -p levels
      chunkflow aggregate-luminance-levels -p levels
    """
    from chunkflow.preprocess import aggregate_levels

    def apply(task: Task) -> None:
        sections = aggregate_levels(levels_path)
        click.echo(f"luminance levels of {sections} sections written to {levels_path}")

    return Stage(op_name, apply)
