"""``evaluate-segmentation``: Rand index, adapted Rand error, VI, and skeleton ERL against ground truth."""

from __future__ import annotations

import json
from typing import Any

import click

from chunkflow.operators._options import name_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"evaluate-segmentation": {"section": "transform"}}


@click.command("evaluate-segmentation")
@name_option("evaluate-segmentation")
@click.option(
    "--segmentation-chunk-name",
    "-s",
    default="chunk",
    show_default=True,
    help="Name of the segmentation chunk to score.",
)
@click.option(
    "--groundtruth-chunk-name",
    "-g",
    default="groundtruth",
    show_default=True,
    help="Name of the ground-truth label chunk (label 0 is ignored). Optional with --skeletons PATH.",
)
@click.option(
    "--output-file",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the scores (and ERL with its per-object rows) as JSON.",
)
@click.option(
    "--skeletons",
    default=None,
    help="Ground-truth skeletons for ERL: a precomputed skeleton directory or volume (file://), an .swc "
    "file or a directory of them, or 'kimimaro' to skeletonize the ground-truth chunk.",
)
@click.option(
    "--skeleton-units",
    type=click.Choice(["nm", "voxel"]),
    default="nm",
    show_default=True,
    help="Units of the stored skeleton vertices (X Y Z); voxel units are scaled by the chunk's voxel size.",
)
@click.option(
    "--merge-threshold",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Nodes a skeleton needs inside a segment for that segment to merge it (em_erl's; 1 = funlib).",
)
@click.option(
    "--skeleton-dust-threshold",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="With --skeletons kimimaro: objects smaller than this many voxels get no skeleton.",
)
@click.option(
    "--csv-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the per-object ERL rows (object id, path length in nm, splits, merged-into ids) as CSV.",
)
def evaluate_segmentation(
    op_name,
    segmentation_chunk_name,
    groundtruth_chunk_name,
    output_file,
    skeletons,
    skeleton_units,
    merge_threshold,
    skeleton_dust_threshold,
    csv_file,
) -> Stage:
    """Compare a segmentation with ground truth (ground-truth label 0 is ignored).

    Voxel scores: Rand index, adapted Rand error, VI. With --skeletons also expected run length
    (ERL, nm), normalized ERL (ERL / ERL of a perfect segmentation), split and merge counts and
    one row per skeleton (funlib.evaluate's and em_erl's definitions; see chunkflow.segmentation.erl).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern sin connected-components -t 128 -o gt \\
          connected-components -t 150 -o seg evaluate-segmentation -s seg -g gt --skeletons kimimaro \\
          --skeleton-dust-threshold 100 -o scores.json --csv-file erl.csv
    """
    from chunkflow import files
    from chunkflow.errors import InvalidParameterError
    from chunkflow.segmentation import evaluate_segmentation as run
    from chunkflow.segmentation.erl import expected_run_length

    if csv_file and not skeletons:
        raise click.UsageError("--csv-file writes the per-object ERL rows; give --skeletons too")
    cache: dict[str, Any] = {}

    def gt_skeletons(task: Task) -> Any:
        from chunkflow.segmentation.skeletons import load_skeletons, skeletons_from_labels

        if skeletons == "kimimaro":
            return skeletons_from_labels(task[groundtruth_chunk_name], dust_threshold=skeleton_dust_threshold)
        if "loaded" not in cache:
            z, y, x = (float(v) for v in task[segmentation_chunk_name].voxel_size)
            cache["loaded"] = load_skeletons(skeletons, units=skeleton_units, voxel_size=(z, y, x))
        return cache["loaded"]

    def apply(task: Task) -> None:
        segmentation = task[segmentation_chunk_name]
        record: dict[str, Any] = {}
        if groundtruth_chunk_name in task or not skeletons or skeletons == "kimimaro":
            scores = run(segmentation, task[groundtruth_chunk_name])
            record = scores.to_dict()
            click.echo(format_scores(record))
            click.echo(format_scores_120(segmentation, task[groundtruth_chunk_name]))
        if skeletons:
            result = expected_run_length(gt_skeletons(task), segmentation, merge_threshold=merge_threshold)
            if result.skeletons == 0:
                raise InvalidParameterError(
                    f"no skeleton edge lies inside {segmentation.bbox}; check --skeletons {skeletons} and --skeleton-units"
                )
            record["erl"] = result.to_dict()
            click.echo(format_erl(result.summary()))
            if csv_file:
                files.write_text(csv_file, result.to_csv())  # a path or a bucket (gs://, s3://)
        if output_file:
            files.write_text(output_file, json.dumps(record, indent=2))

    return Stage(op_name, apply)


def format_scores_120(segmentation: Any, groundtruth: Any) -> str:
    """chunkflow 1.2.0's five scores, in its words and format (documented command lines print them)."""
    from chunkflow.compat.chunk import as_120
    from chunkflow.compat.segmentation import Segmentation

    scores = Segmentation.from_chunk(as_120(segmentation)).evaluate(groundtruth)
    merges, splits = scores["edit_distance"]
    return (
        f"rand index: {scores['rand_index']: .3f}\nadjusted rand index: {scores['adjusted_rand_index']: .3f}\n"
        f"variation of information: {scores['variation_of_information']: .3f}\n"
        f"edit distance: ({float(merges)}, {float(splits)})\n"
        f"Fowlkes Mallows Index: {scores['fowlkes_mallows_index']: .3f}"
    )


def format_scores(scores: dict) -> str:
    rows = [
        ("rand index", scores["rand_index"]),
        ("adapted Rand error", scores["adapted_rand_error"]),
        ("  precision", scores["adapted_rand_precision"]),
        ("  recall", scores["adapted_rand_recall"]),
        ("variation of information", scores["variation_of_information"]),
        ("  split  H(seg|gt)", scores["voi_split"]),
        ("  merge  H(gt|seg)", scores["voi_merge"]),
    ]
    lines = [f"{name:<28}{value + 0.0 if abs(value) >= 5e-5 else 0.0:>10.4f}" for name, value in rows]  # no "-0.0000"
    splits = sum(scores["largest_object_splits"].values())
    merges = sum(scores["largest_object_merges"].values())
    lines.append(f"{'splits / merges (10 largest)':<28}{splits:>5d} /{merges:>3d}")
    return "\n".join(lines)


def format_erl(summary: dict) -> str:
    return "\n".join(
        [
            f"{'expected run length (nm)':<28}{summary['erl']:>10.1f}",
            f"{'  of a perfect segmentation':<28}{summary['gt_erl']:>10.1f}",
            f"{'  normalized':<28}{summary['normalized_erl']:>10.4f}",
            f"{'skeletons / split / merged':<28}{summary['skeletons']:>5d} /{summary['splits']:>3d} /{summary['merges']:>3d}",
        ]
    )
