"""``skeletonize`` and ``aggregate-skeleton-fragments``: precomputed skeletons (kimimaro)."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {
    "skeletonize": {"section": "sink", "extra": "mesh"},
    "aggregate-skeleton-fragments": {"section": "sink", "extra": "mesh"},
}


@click.command("skeletonize")
@name_option("skeletonize")
@input_option()
@click.option(
    "--volume-path",
    "--output-path",
    "-v",
    "volume_path",
    required=True,
    help="Precomputed volume (skeletons go to its skeletons/ dir), or a directory.",
)
@triple("--voxel-size", help="Voxel size in nm (default: the chunk's)")
@click.option("--dust-threshold", "-d", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--scale", type=float, default=4.0, show_default=True, help="TEASAR invalidation scale.")
@click.option("--const", type=float, default=500.0, show_default=True, help="TEASAR invalidation constant (nm).")
@click.option(
    "--aggregate/--no-aggregate",
    default=False,
    show_default=True,
    help="Also merge the fragments of this chunk's objects (one-chunk runs; else aggregate-skeleton-fragments).",
)
@click.option(
    "--is-segmentation",
    is_flag=True,
    default=False,
    help="Skeletonize the chunk even though it is an image or 8-bit: its values are object ids.",
)
def skeletonize(
    op_name, input_name, volume_path, voxel_size, dust_threshold, scale, const, aggregate, is_segmentation
) -> Stage:
    """Skeletonise every object of a segmentation chunk into per-chunk fragments.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 -e 40 4 4 --pattern sin connected-components -t 128 -o seg \\
          skeletonize -i seg -v file://$PWD/seg --aggregate
    """
    from chunkflow.postprocess import aggregate_fragments, skeletonize_chunk

    def apply(task: Task) -> None:
        chunk = task[input_name]
        if voxel_size:
            chunk = chunk.with_array(chunk.array, voxel_size=voxel_size)
        ids = skeletonize_chunk(chunk, volume_path, dust_threshold, scale, const, is_segmentation)
        if aggregate:
            aggregate_fragments(volume_path, ids=ids)

    return Stage(op_name, apply)


@click.command("aggregate-skeleton-fragments")
@name_option("aggregate-skeleton-fragments")
@click.option(
    "--volume-path",
    "--output-path",
    "-v",
    "volume_path",
    required=True,
    help="Volume whose skeletons/fragments to merge into skeletons/<id>.",
)
@click.option("--prefix", "-p", default="", help="Only ids starting with this (to split the work; unsharded).")
@click.option(
    "--shard/--no-shard",
    default=False,
    show_default=True,
    help="Write sharded skeletons (neuroglancer_uint64_sharded_v1 shard files) instead of one file per object.",
)
@click.option(
    "--shard-number",
    "shard_numbers",
    type=click.IntRange(min=0),
    multiple=True,
    help="With --shard: only write this shard (repeatable, to split the work; default: all).",
)
def aggregate_skeleton_fragments(op_name, volume_path, prefix, shard, shard_numbers) -> Stage:
    """Merge skeleton fragments of every object across chunks (after all skeletonize tasks).

    \b
    Example:
      chunkflow generate-tasks -b 0-16_0-64_0-128 -c 16 64 64 create-chunk -e 40 4 4 --pattern sin \\
          connected-components -t 128 -o seg skeletonize -i seg -v file://$PWD/seg
      chunkflow aggregate-skeleton-fragments -v file://$PWD/seg --shard
    """
    from chunkflow.postprocess import aggregate_fragments

    def apply(task: Task) -> None:
        count = aggregate_fragments(volume_path, prefix, shard=shard, shard_numbers=shard_numbers or None)
        click.echo(f"merged the skeletons of {count} objects")

    return Stage(op_name, apply)
