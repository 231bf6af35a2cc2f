"""``skeletonize``: precomputed skeletons of a segmentation chunk (kimimaro)."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task


@click.command("skeletonize")
@name_option("skeletonize")
@input_option()
@click.option("--volume-path", "-v", required=True, help="Precomputed volume (skeletons go to its skeletons/ dir).")
@click.option("--dust-threshold", "-d", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--scale", type=float, default=4.0, show_default=True, help="TEASAR invalidation scale.")
@click.option("--const", type=float, default=500.0, show_default=True, help="TEASAR invalidation constant (nm).")
def skeletonize(op_name, input_name, volume_path, dust_threshold, scale, const) -> Stage:
    """Skeletonise every object of a segmentation chunk."""
    from chunkflow.postprocess import skeletonize_chunk

    def apply(task: Task) -> None:
        skeletonize_chunk(task[input_name], volume_path, dust_threshold, scale, const)

    return Stage(op_name, apply)
