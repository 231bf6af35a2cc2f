"""``setup-env``: plan a ConvNet inference run as chunkflow 1.2.0 did (chunk sizes from RAM, output info,
tasks)."""

from __future__ import annotations

import logging

import click

from chunkflow.operators._options import name_option, triple
from chunkflow.pipeline import Stage

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"setup-env": {"section": "transform"}}

log = logging.getLogger(__name__)


@click.command("setup-env")
@name_option("setup-env")
@triple("--volume-start", signed=True, required=True, help="Start of the output volume, voxels at mip 0")
@triple("--volume-stop", signed=True, help="Stop of the output volume (or --volume-size)")
@triple("--volume-size", "-s", help="Size of the output volume (or --volume-stop)")
@click.option("--layer-path", "-l", required=True, help="Output precomputed volume URL.")
@click.option(
    "--max-ram-size",
    "-r",
    type=click.INT,
    default=15,
    show_default=True,
    help="RAM of a worker, GB: the output chunk fills about half of it.",
)
@triple("--output-patch-size", "-z", required=True, help="ConvNet output patch size")
@triple("--input-patch-size", "-i", help="ConvNet input patch size (default: the output patch size)")
@click.option(
    "--channel-num",
    type=click.INT,
    default=1,
    show_default=True,
    help="Output channels (long form only: 1.2.0 also gave -c to --crop-chunk-margin, which won).",
)
@click.option(
    "--dtype",
    "-d",
    type=click.Choice(["uint8", "float16", "float32"]),
    default="float32",
    show_default=True,
    help="Output data type.",
)
@triple("--output-patch-overlap", "-o", help="Patch overlap (default: half the output patch)")
@triple("--crop-chunk-margin", "-c", positive=False, help="Margin cropped off each output chunk (default: the overlap)")
@click.option("--mip", "-m", type=click.IntRange(0, 3), default=0, show_default=True, help="Mip of the output.")
@click.option(
    "--thumbnail-mip",
    "-b",
    type=click.IntRange(5, 16),
    default=6,
    show_default=True,
    help="Mip of the thumbnail volume.",
)
@click.option(
    "--max-mip",
    "-x",
    type=click.IntRange(5, 16),
    default=8,
    show_default=True,
    help="Chunk y/x sizes are made divisible by 2**max-mip (for later downsampling).",
)
@click.option("--queue-name", "-q", default=None, help="Send the tasks to this queue (else run the chain on them).")
@click.option(
    "--visibility-timeout",
    "-t",
    type=click.INT,
    default=3600,
    show_default=True,
    help="Accepted for 1.2.0 command lines; workers here extend their leases while a task runs.",
)
@click.option(
    "--thumbnail/--no-thumbnail",
    default=True,
    show_default=True,
    help="Also create <layer>/thumbnail (mip at least 5).",
)
@click.option(
    "--encoding",
    "-e",
    type=click.Choice(["raw", "jpeg", "compressed_segmentation", "fpzip", "kempressed"]),
    default="raw",
    show_default=True,
    help="Block encoding of the output volume.",
)
@triple("--voxel-size", "-v", default=(40, 4, 4), show_default=True, help="Voxel size at mip 0, nm")
@click.option(
    "--overwrite-info/--no-overwrite-info",
    default=False,
    show_default=True,
    help="Write the info files (otherwise they must exist).",
)
def setup_env(
    op_name,
    volume_start,
    volume_stop,
    volume_size,
    layer_path,
    max_ram_size,
    output_patch_size,
    input_patch_size,
    channel_num,
    dtype,
    output_patch_overlap,
    crop_chunk_margin,
    mip,
    thumbnail_mip,
    max_mip,
    queue_name,
    visibility_timeout,
    thumbnail,
    encoding,
    voxel_size,
    overwrite_info,
) -> Stage:
    """Plan an inference run: chunk sizes from RAM, the output volume's info, then the tasks.

    \b
    Example:
      chunkflow setup-env --volume-start 0 0 0 -s 64 1024 1024 -l file://$PWD/affs -z 16 128 128 -r 1 -x 5 \\
          --channel-num 3 --overwrite-info
    """
    from chunkflow.errors import InvalidParameterError
    from chunkflow.geometry import Vec3
    from chunkflow.lib.setup_env import create_output_infos, plan_inference

    if (volume_stop is None) == (volume_size is None):
        raise InvalidParameterError("setup-env: give --volume-stop or --volume-size (one of them)")
    start = Vec3.of(volume_start)
    size = Vec3.of(volume_size) if volume_size is not None else Vec3.of(volume_stop) - start
    out_patch = Vec3.of(output_patch_size)
    overlap = Vec3.of(output_patch_overlap) if output_patch_overlap is not None else out_patch // 2
    margin = Vec3.of(crop_chunk_margin) if crop_chunk_margin is not None else overlap
    thumb_mip = max(thumbnail_mip, 5) if thumbnail else thumbnail_mip
    plan = plan_inference(
        start,
        size,
        out_patch,
        Vec3.of(input_patch_size or output_patch_size),
        overlap,
        margin,
        max_ram_size,
        channel_num,
        mip,
        thumb_mip,
        max_mip,
    )
    for line in plan.lines():
        click.echo(line)
    create_output_infos(
        layer_path,
        plan,
        start,
        size,
        Vec3.of(voxel_size),
        channel_num,
        dtype,
        encoding,
        mip,
        thumbnail,
        thumb_mip,
        overwrite_info,
    )

    def produce():
        from chunkflow.queues.frontend import submit_or_yield
        from chunkflow.queues.taskgen import plan_boxes

        return submit_or_yield(plan_boxes(plan.roi, plan.output_chunk_size), queue_name, None, None)

    return Stage(op_name, produce=produce)
