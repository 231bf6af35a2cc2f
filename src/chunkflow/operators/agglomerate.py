"""``agglomerate`` and ``watershed``: affinities to segmentations with waterz; threshold sweeps."""

from __future__ import annotations

import click

from chunkflow.operators._many_floats import ManyFloats, parse_floats
from chunkflow.operators._options import FINITE_FLOAT, input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {
    "agglomerate": {"section": "transform", "extra": "segmentation"},
    "watershed": {"section": "transform", "extra": "segmentation"},
}

_low = click.option(
    "--aff-threshold-low",
    type=float,
    default=0.0001,
    show_default=True,
    help="Affinities below this are boundaries for the watershed.",
)
_high = click.option(
    "--aff-threshold-high",
    type=float,
    default=0.9999,
    show_default=True,
    help="Affinities above this are merged by the watershed.",
)


@click.command("agglomerate")
@name_option("agglomerate")
@click.option(
    "--threshold",
    "-t",
    type=FINITE_FLOAT,
    default=0.7,
    show_default=True,
    help="Agglomeration threshold: merge while the score (1 - boundary affinity statistic) is below it.",
)
@_low
@_high
@click.option(
    "--scoring-function",
    "-f",
    default="mean",
    show_default=True,
    help="mean, hist_quant_10/25/50/75/90 (add _initmax), quantile-10 .. quantile-95, or a waterz C++ "
    "scoring type; see chunkflow.segmentation.agglomerate.SCORING_FUNCTIONS for when to use which.",
)
@click.option("--fragments-output", default=None, help="Also keep the watershed fragments under this name.")
@click.option("--fragments-input", default=None, help="Start from these fragments instead of a watershed.")
@click.option(
    "--thresholds",
    cls=ManyFloats,
    callback=parse_floats,
    type=click.UNPROCESSED,
    default=None,
    help="Sweep: several thresholds (space- or comma-separated) from one watershed and one waterz run, "
    "each scored against --groundtruth-chunk-name; the output is the segmentation with the lowest "
    "adapted Rand error. Replaces --threshold.",
)
@click.option(
    "--groundtruth-chunk-name",
    default="groundtruth",
    show_default=True,
    help="With --thresholds: the ground-truth labels to score against (label 0 ignored).",
)
@click.option(
    "--sweep-output",
    type=click.Path(file_okay=False),
    default=None,
    help="With --thresholds: write DIR/sweep.json (scores per threshold) and DIR/sweep.png (ARE, VI split "
    "and merge vs threshold, best marked); DIR/sweep_<bbox>.* for tasks with a bounding box.",
)
@input_option()
@output_option()
def agglomerate(
    op_name,
    threshold,
    aff_threshold_low,
    aff_threshold_high,
    scoring_function,
    fragments_output,
    fragments_input,
    thresholds,
    groundtruth_chunk_name,
    sweep_output,
    input_name,
    output_name,
) -> Stage:
    """Watershed + agglomeration of an affinity map (waterz), at one threshold or a sweep of them.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 -o image inference -f identity -s 8 32 32 -v 2 8 8 -c 3 \\
          --output-crop-margin 0 0 0 -i image -o affs connected-components -i image -t 128 -o gt \\
          agglomerate -i affs -o seg --thresholds 0.2 0.4 0.6 0.8 --groundtruth-chunk-name gt --sweep-output sweep
    """
    from chunkflow.segmentation import agglomerate as run
    from chunkflow.segmentation import watershed
    from chunkflow.segmentation.agglomerate import scoring_function as parse_scoring

    parse_scoring(scoring_function)  # refuse a bad name before any task runs
    if sweep_output and not thresholds:
        raise click.UsageError("--sweep-output needs --thresholds")
    if any(not 0.0 <= t <= 1.0 for t in thresholds):
        raise click.BadParameter(f"thresholds {list(thresholds)} must lie in [0, 1]", param_hint="--thresholds")

    def apply(task: Task) -> None:
        affs = task[input_name]
        _check_finite(affs, input_name, task)
        fragments = task[fragments_input] if fragments_input else None
        if fragments_output:
            fragments = watershed(affs, aff_threshold_low, aff_threshold_high)
            task[fragments_output] = fragments
        if thresholds:
            task[output_name] = _sweep(task, affs, fragments)
        else:
            task[output_name] = run(affs, threshold, aff_threshold_low, aff_threshold_high, scoring_function, fragments)

    def _sweep(task: Task, affs, fragments):
        from chunkflow.segmentation.sweep import sweep_thresholds, write_sweep

        result, best = sweep_thresholds(
            affs,
            task[groundtruth_chunk_name],
            list(thresholds),
            aff_threshold_low,
            aff_threshold_high,
            scoring_function,
            fragments,
        )
        click.echo(format_sweep(result))
        if sweep_output:
            name = "sweep" if task.bbox is None else f"sweep_{task.bbox}"
            table, figure = write_sweep(result, sweep_output, name)
            click.echo(f"wrote {table} and {figure}")
        return best

    return Stage(op_name, apply)


def format_sweep(result) -> str:
    lines = [f"{'threshold':>10}{'ARE':>10}{'VI':>10}{'VI split':>10}{'VI merge':>10}"]
    for raw in result.rows:
        row = {k: v if abs(v) >= 5e-5 else 0.0 for k, v in raw.items()}  # no "-0.0000" for VI's rounding
        mark = "  <- best" if raw["threshold"] == result.best_threshold else ""
        lines.append(
            f"{row['threshold']:>10.3f}{row['adapted_rand_error']:>10.4f}{row['variation_of_information']:>10.4f}"
            f"{row['voi_split']:>10.4f}{row['voi_merge']:>10.4f}{mark}"
        )
    return "\n".join(lines)


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
      chunkflow create-chunk -s 16 64 64 -o image inference -f identity -s 8 32 32 -v 2 8 8 -c 3 \\
          --output-crop-margin 0 0 0 -i image -o affs watershed -i affs -o fragments save-h5 -i fragments -f frags.h5
    """
    from chunkflow.segmentation import watershed as run

    def apply(task: Task) -> None:
        _check_finite(task[input_name], input_name, task)
        task[output_name] = run(task[input_name], aff_threshold_low, aff_threshold_high)

    return Stage(op_name, apply)


def _check_finite(affs, name: str, task: Task) -> None:
    """NaN/Inf affinities agglomerate into thousands of bogus segments: refuse them, naming the chunk."""
    import numpy as np

    from chunkflow.errors import IncompatibleChunkError

    if np.issubdtype(affs.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(affs.array)))
        if bad:
            raise IncompatibleChunkError(
                f"affinity chunk {name!r} of task {task.name} (at {affs.bbox}) holds {bad} NaN/Inf values; "
                "fix the model or its input (inference --nonfinite replace counts and zeroes them)"
            )
