"""``mesh`` and ``mesh-manifest``: meshes of segmentation chunks (zmesh)."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task


def _ids(ctx, param, value):  # type: ignore[no-untyped-def]
    try:
        return {int(v) for v in value.split(",") if v.strip()} if value else set()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of ids") from None


@click.command("mesh")
@name_option("mesh")
@input_option()
@triple("--voxel-size", "-v", help="Voxel size in nm (default: the chunk's)")
@click.option("--output-path", "-o", default="file:///tmp/mesh/", show_default=True,
              help="Precomputed segmentation volume (meshes go to its mesh/ dir), or a directory for ply/obj.")  # fmt: skip
@click.option("--output-format", "-t", type=click.Choice(["precomputed", "ply", "obj"]), default="precomputed", show_default=True)
@click.option("--simplification-factor", "-f", type=click.IntRange(min=0), default=100, show_default=True)
@click.option("--max-simplification-error", "-e", type=click.IntRange(min=0), default=40, show_default=True)
@click.option("--skip-ids", "-s", callback=_ids, default=None, help="Comma-separated ids not to mesh.")
@click.option("--dust-size-threshold", "-d", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--mip", "-m", type=click.IntRange(min=0), default=None,
              help="Take the voxel size from the output volume at this mip (default: the chunk's).")  # fmt: skip
@click.option("--manifest/--no-manifest", default=False, show_default=True,
              help="Also write manifests for the objects of this chunk (one-chunk runs; else use mesh-manifest).")  # fmt: skip
@click.option("--shard/--no-shard", default=False, help="Sharded meshes (chunkflow 1.2.0): not supported.")
def mesh(op_name, input_name, voxel_size, output_path, output_format, simplification_factor, max_simplification_error,
         skip_ids, dust_size_threshold, mip, manifest, shard) -> Stage:  # fmt: skip
    """Mesh every object of a segmentation chunk.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 -e 40 4 4 --pattern sin connected-components -t 128 -o seg \\
          save-precomputed -i seg -v file://$PWD/seg mesh -i seg -o file://$PWD/seg --manifest
    """
    from chunkflow.errors import InvalidParameterError
    from chunkflow.postprocess import mesh_chunk, write_manifests

    if shard:
        raise InvalidParameterError("--shard: sharded meshes are not supported; write unsharded fragments and "
                                    "shard them afterwards (igneous), or drop --shard")  # fmt: skip
    if manifest and output_format != "precomputed":
        raise InvalidParameterError(f"--manifest applies to precomputed meshes, not {output_format}")

    size = voxel_size or None

    def apply(task: Task) -> None:
        nonlocal size
        if size is None and mip is not None:  # read the volume's voxel size once, at the first task
            from chunkflow.volumes.precomputed import PrecomputedVolume

            size = tuple(PrecomputedVolume.open(output_path, mip=mip).voxel_size)
        ids = mesh_chunk(task[input_name], output_path, output_format, size, simplification_factor,
                         max_simplification_error, skip_ids, dust_size_threshold)  # fmt: skip
        if manifest:
            write_manifests(output_path, ids=ids)

    return Stage(op_name, apply)


@click.command("mesh-manifest")
@name_option("mesh-manifest")
@click.option("--volume-path", "-v", required=True, help="Precomputed segmentation volume with a mesh/ dir.")
@click.option("--prefix", "-p", default="", help="Only ids starting with this (to split the work).")
@click.option("--digits", "-d", type=click.IntRange(min=1), default=None,
              help="Zero-pad an integer --prefix to this many digits (chunkflow 1.2.0's form).")  # fmt: skip
def mesh_manifest(op_name, volume_path, prefix, digits) -> Stage:
    """Gather mesh fragments of every object (across chunks) into neuroglancer manifests.

    \b
    Example:
      chunkflow create-info -v file://$PWD/seg -z 16 64 128 -s 40 4 4 -b 16 64 64 -d uint32 -t segmentation
      chunkflow generate-tasks -b 0-16_0-64_0-128 -c 16 64 64 create-chunk -e 40 4 4 --pattern sin \\
          connected-components -t 128 -o seg relabel -i seg -o seg mesh -i seg -o file://$PWD/seg
      chunkflow mesh-manifest -v file://$PWD/seg
    """
    from chunkflow.postprocess import write_manifests

    if digits and prefix:
        prefix = prefix.zfill(digits)

    def apply(task: Task) -> None:
        click.echo(f"wrote {write_manifests(volume_path, prefix)} mesh manifests")

    return Stage(op_name, apply)
