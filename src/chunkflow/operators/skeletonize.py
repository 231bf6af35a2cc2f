"""``skeletonize``: precomputed skeletons of a segmentation chunk (kimimaro)."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task


@click.command("skeletonize")
@name_option("skeletonize")
@input_option()
@click.option("--volume-path", "--output-path", "-v", "volume_path", required=True,
              help="Precomputed volume (skeletons go to its skeletons/ dir), or a directory.")  # fmt: skip
@triple("--voxel-size", help="Voxel size in nm (default: the chunk's)")
@click.option("--dust-threshold", "-d", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--scale", type=float, default=4.0, show_default=True, help="TEASAR invalidation scale.")
@click.option("--const", type=float, default=500.0, show_default=True, help="TEASAR invalidation constant (nm).")
def skeletonize(op_name, input_name, volume_path, voxel_size, dust_threshold, scale, const) -> Stage:
    """Skeletonise every object of a segmentation chunk."""
    from chunkflow.postprocess import skeletonize_chunk

    def apply(task: Task) -> None:
        chunk = task[input_name]
        if voxel_size:
            chunk = chunk.with_array(chunk.array, voxel_size=voxel_size)
        skeletonize_chunk(chunk, volume_path, dust_threshold, scale, const)

    return Stage(op_name, apply)
