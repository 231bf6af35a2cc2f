"""``create-info``, ``load-precomputed``, ``save-precomputed``: neuroglancer precomputed volumes."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {
    "create-info": {"section": "sink"},
    "load-precomputed": {"section": "source"},
    "save-precomputed": {"section": "sink"},
}


@click.command("create-info")
@name_option("create-info")
@click.option("--volume-path", "-v", required=True, help="Precomputed URL (file://, gs://, s3://).")
@triple("--voxel-size", "-s", help="Voxel size in nm (default: the input chunk's, else 1 1 1)")
@triple("--block-size", "-b", default=(64, 64, 64), help="Storage block size")
@click.option(
    "--channel-num",
    "-c",
    type=click.IntRange(min=1),
    default=None,
    help="Channels (default: the input chunk's, else 1).",
)
@click.option(
    "--layer-type",
    "-t",
    type=click.Choice(["image", "segmentation", "affinity_map", "probability_map"]),
    default=None,
    help="Layer type (default: the input chunk's, else image).",
)
@click.option(
    "--data-type",
    "-d",
    default=None,
    help="Data type (default: the input chunk's, else uint8).",
    type=click.Choice(["uint8", "uint16", "uint32", "uint64", "float32", "float64"]),
)
@click.option(
    "--encoding",
    "-e",
    default="raw",
    show_default=True,
    type=click.Choice(["raw", "compressed_segmentation", "jpeg", "png", "compresso", "crackle"]),
)
@triple("--voxel-offset", "-o", signed=True, help="Global offset of the volume (default: the input chunk's, else 0)")
@triple("--volume-size", "-z", help="Volume size (default: the input chunk's)")
@click.option("--max-mip", "-m", type=click.IntRange(min=0), default=0, show_default=True)
@triple("--factor", "-f", default=(1, 2, 2), help="Downsampling factor between mips")
@click.option(
    "--sharded/--no-sharded",
    default=False,
    show_default=True,
    help="Shard every scale (neuroglancer_uint64_sharded_v1; shard spec chosen as igneous does, each "
    "scale's shards nested in the scale below); tasks then write one whole shard each.",
)
@click.option(
    "--shard-bytes",
    type=click.IntRange(min=1),
    default=int(3.5e9),
    show_default=True,
    help="Uncompressed bytes of one shard (igneous's memory target); smaller gives more, smaller tasks.",
)
@input_option()
def create_info(
    op_name,
    volume_path,
    voxel_size,
    block_size,
    channel_num,
    layer_type,
    data_type,
    encoding,
    voxel_offset,
    volume_size,
    max_mip,
    factor,
    sharded,
    shard_bytes,
    input_name,
) -> Stage:
    """Create the info file of a precomputed volume: from flags, and where the task holds the input
    chunk, its shape, offset, voxel size, channels, dtype and layer type fill what the flags leave out.

    \b
    Example:
      chunkflow create-info -v file://$PWD/img -z 16 128 128 -s 40 4 4 -b 16 64 64 -d uint8 -t image
      chunkflow create-info -v file://$PWD/sharded -z 64 512 512 -b 64 64 64 --max-mip 2 --sharded --shard-bytes 4194304
    """
    from chunkflow.errors import InvalidParameterError
    from chunkflow.volumes.precomputed import PrecomputedVolume
    from chunkflow.volumes.sharded import create_sharded

    given = {"volume_size": volume_size, "voxel_offset": voxel_offset, "voxel_size": voxel_size,
             "num_channels": channel_num, "dtype": data_type, "layer_type": layer_type}  # fmt: skip
    given = {k: v for k, v in given.items() if v is not None}

    def apply(task: Task) -> None:
        chunk = task.chunks.get(input_name)
        if chunk is None and "volume_size" not in given:
            raise InvalidParameterError(
                f"create-info {volume_path}: give --volume-size, or run it after an operator "
                f"that makes the chunk {input_name!r}"
            )
        options = dict(block_size=block_size, encoding=encoding, max_mip=max_mip, factor=factor, **given)
        if sharded:
            create_sharded(volume_path, like=chunk, shard_bytes=shard_bytes, **options)
        else:
            PrecomputedVolume.create(volume_path, like=chunk, **options)

    return Stage(op_name, apply)


@click.command("load-precomputed")
@name_option("load-precomputed")
@click.option("--volume-path", "-v", required=True, help="Precomputed URL.")
@click.option("--mip", "-m", type=click.IntRange(min=0), default=0, show_default=True)
@triple("--chunk-start", "-s", signed=True, help="Global start of the box (default: the task's box)")
@triple("--chunk-size", "-z", help="Size of the box")
@triple("--expand-margin-size", "-e", positive=False, default=(0, 0, 0), help="Grow the box by this margin")
@click.option("--fill-missing/--no-fill-missing", default=False, help="Zeros where the box leaves the volume.")
@output_option()
def load_precomputed(
    op_name, volume_path, mip, chunk_start, chunk_size, expand_margin_size, fill_missing, output_name
) -> Stage:
    """Cut out a box of a precomputed volume.

    \b
    Example:
      chunkflow create-chunk -s 16 128 128 -e 40 4 4 save-precomputed -v file://$PWD/img -b 16 64 64
      chunkflow load-precomputed -v file://$PWD/img -s 0 32 32 -z 16 64 64 save-h5 -f cutout.h5
    """
    from chunkflow.operators._io import cutout_box, load_into

    def apply(task: Task) -> None:
        bbox = cutout_box(chunk_start, None, chunk_size, task)
        if bbox is not None:
            bbox = bbox.grow(expand_margin_size)
        load_into(task, output_name, volume_path, bbox, mip=mip, fill_missing=fill_missing)

    return Stage(op_name, apply)


@click.command("save-precomputed")
@name_option("save-precomputed")
@click.option("--volume-path", "-v", required=True, help="Precomputed URL; created from the chunk if missing.")
@click.option("--mip", "-m", type=click.IntRange(min=0), default=0, show_default=True)
@triple("--block-size", "-b", default=(64, 64, 64), help="Block size when the volume is created here")
@click.option(
    "--fill-missing/--no-fill",
    default=False,
    show_default=True,
    help="Accepted for 1.2.0 command lines; no effect: writes are block-aligned, so no missing block is read.",
)
@input_option()
def save_precomputed(op_name, volume_path, mip, block_size, fill_missing, input_name) -> Stage:
    """Write a chunk into a precomputed volume at its global offset (block-aligned).

    \b
    Example:
      chunkflow create-info -v file://$PWD/img -z 16 128 128 -s 40 4 4 -b 16 64 64 -d uint8 -t image
      chunkflow create-chunk -s 16 128 128 save-precomputed -v file://$PWD/img
    """
    from chunkflow.volumes import save_chunk

    def apply(task: Task) -> None:
        save_chunk(volume_path, task[input_name], policy=task.create_policy, mip=mip, block_size=block_size)

    return Stage(op_name, apply)
