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
@click.option("--max-simplification-error", "-e", type=click.IntRange(min=0), default=8, show_default=True)
@click.option("--skip-ids", "-s", callback=_ids, default=None, help="Comma-separated ids not to mesh.")
@click.option("--dust-size-threshold", "-d", type=click.IntRange(min=0), default=0, show_default=True)
def mesh(op_name, input_name, voxel_size, output_path, output_format, simplification_factor, max_simplification_error,
         skip_ids, dust_size_threshold) -> Stage:  # fmt: skip
    """Mesh every object of a segmentation chunk."""
    from chunkflow.postprocess import mesh_chunk

    def apply(task: Task) -> None:
        mesh_chunk(task[input_name], output_path, output_format, voxel_size, simplification_factor,
                   max_simplification_error, skip_ids, dust_size_threshold)  # fmt: skip

    return Stage(op_name, apply)


@click.command("mesh-manifest")
@name_option("mesh-manifest")
@click.option("--volume-path", "-v", required=True, help="Precomputed segmentation volume with a mesh/ dir.")
@click.option("--prefix", "-p", default="", help="Only ids starting with this (to split the work).")
def mesh_manifest(op_name, volume_path, prefix) -> Stage:
    """Gather mesh fragments of every object (across chunks) into neuroglancer manifests."""
    from chunkflow.postprocess import write_manifests

    def apply(task: Task) -> None:
        click.echo(f"wrote {write_manifests(volume_path, prefix)} mesh manifests")

    return Stage(op_name, apply)
