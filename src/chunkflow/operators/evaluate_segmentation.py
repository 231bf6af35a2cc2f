"""``evaluate-segmentation``: Rand index, adapted Rand error, VI against ground truth."""

from __future__ import annotations

import json

import click

from chunkflow.operators._options import name_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task


@click.command("evaluate-segmentation")
@name_option("evaluate-segmentation")
@click.option("--segmentation-chunk-name", "-s", default="chunk", show_default=True)
@click.option("--groundtruth-chunk-name", "-g", default="groundtruth", show_default=True)
@click.option("--output-file", "-o", type=click.Path(dir_okay=False), default=None, help="Write the scores as JSON.")
def evaluate_segmentation(op_name, segmentation_chunk_name, groundtruth_chunk_name, output_file) -> Stage:
    """Compare a segmentation with ground truth (ground-truth label 0 is ignored)."""
    from chunkflow.segmentation import evaluate_segmentation as run
    from chunkflow.volumes.base import atomic_path

    def apply(task: Task) -> None:
        scores = run(task[segmentation_chunk_name], task[groundtruth_chunk_name])
        click.echo(format_scores(scores.to_dict()))
        if output_file:
            with atomic_path(output_file) as tmp:
                tmp.write_text(json.dumps(scores.to_dict(), indent=2))

    return Stage(op_name, apply)


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
    lines = [f"{name:<28}{value:>10.4f}" for name, value in rows]
    splits = sum(scores["largest_object_splits"].values())
    merges = sum(scores["largest_object_merges"].values())
    lines.append(f"{'splits / merges (10 largest)':<28}{splits:>5d} /{merges:>3d}")
    return "\n".join(lines)
