"""``agglomerate`` and ``watershed``: affinities to segmentations with waterz."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

_low = click.option("--aff-threshold-low", type=float, default=0.0001, show_default=True,
                    help="Affinities below this are boundaries for the watershed.")  # fmt: skip
_high = click.option("--aff-threshold-high", type=float, default=0.9999, show_default=True,
                     help="Affinities above this are merged by the watershed.")  # fmt: skip


@click.command("agglomerate")
@name_option("agglomerate")
@click.option("--threshold", "-t", type=float, default=0.7, show_default=True, help="Agglomeration threshold.")
@_low
@_high
@click.option("--scoring-function", "-f", default="mean", show_default=True,
              help="mean, quantile-10 .. quantile-95, or a waterz C++ scoring type.")  # fmt: skip
@click.option("--fragments-output", default=None, help="Also keep the watershed fragments under this name.")
@click.option("--fragments-input", default=None, help="Start from these fragments instead of a watershed.")
@input_option()
@output_option()
def agglomerate(op_name, threshold, aff_threshold_low, aff_threshold_high, scoring_function, fragments_output,
                fragments_input, input_name, output_name) -> Stage:  # fmt: skip
    """Watershed + mean-affinity agglomeration of an affinity map (waterz).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern sin -o image inference -f identity -s 8 32 32 -v 2 8 8 \\
          -c 3 --output-crop-margin 0 0 0 -i image -o affs agglomerate -t 0.7 -i affs -o seg save-h5 -i seg -f \\
          seg.h5
    """
    from chunkflow.segmentation import agglomerate as run
    from chunkflow.segmentation import watershed
    from chunkflow.segmentation.agglomerate import scoring_function as parse_scoring

    parse_scoring(scoring_function)  # refuse a bad name before any task runs

    def apply(task: Task) -> None:
        affs = task[input_name]
        fragments = task[fragments_input] if fragments_input else None
        if fragments_output:
            fragments = watershed(affs, aff_threshold_low, aff_threshold_high)
            task[fragments_output] = fragments
        task[output_name] = run(affs, threshold, aff_threshold_low, aff_threshold_high, scoring_function, fragments)

    return Stage(op_name, apply)


@click.command("watershed")
@name_option("watershed")
@_low
@_high
@input_option()
@output_option()
def watershed(op_name, aff_threshold_low, aff_threshold_high, input_name, output_name) -> Stage:
    """Watershed fragments of an affinity map (no agglomeration).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern sin -o image inference -f identity -s 8 32 32 -v 2 8 8 \\
          -c 3 --output-crop-margin 0 0 0 -i image -o affs watershed -i affs -o fragments save-h5 -i fragments \\
          -f fragments.h5
    """
    from chunkflow.segmentation import watershed as run

    def apply(task: Task) -> None:
        task[output_name] = run(task[input_name], aff_threshold_low, aff_threshold_high)

    return Stage(op_name, apply)
