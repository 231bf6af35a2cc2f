"""``mesh`` and ``mesh-manifest``: meshes of segmentation chunks (zmesh), legacy or multi-resolution."""

from __future__ import annotations

import click

from chunkflow import files
from chunkflow.operators._options import input_option, name_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"mesh": {"section": "sink", "extra": "mesh"}, "mesh-manifest": {"section": "sink", "extra": "mesh"}}


def _ids(ctx, param, value):
    try:
        return {int(v) for v in value.split(",") if v.strip()} if value else set()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of ids") from None


@click.command("mesh")
@name_option("mesh")
@input_option()
@triple("--voxel-size", "-v", help="Voxel size in nm (default: the chunk's)")
@click.option(
    "--output-path",
    "-o",
    default="file:///tmp/mesh/",
    show_default=True,
    help="Precomputed segmentation volume (meshes go to its mesh/ dir), or a directory for ply/obj.",
)
@click.option(
    "--output-format",
    "-t",
    type=click.Choice(["precomputed", "ply", "obj"]),
    default="precomputed",
    show_default=True,
    help="precomputed (neuroglancer, cloud-volume), or one ply/obj file per object.",
)
@click.option(
    "--simplification-factor",
    "-f",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Target reduction of the number of triangles (0: no simplification).",
)
@click.option(
    "--max-simplification-error",
    "-e",
    type=click.IntRange(min=0),
    default=40,
    show_default=True,
    help="Largest distance (nm) simplification may move the surface.",
)
@click.option("--skip-ids", "-s", callback=_ids, default=None, help="Comma-separated ids not to mesh.")
@click.option(
    "--dust-size-threshold",
    "-d",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Do not mesh objects with fewer voxels than this (objects wholly inside the task; those crossing its faces are kept).",
)
@click.option(
    "--mip",
    "-m",
    type=click.IntRange(min=0),
    default=None,
    help="Take the voxel size from the output volume at this mip (default: the chunk's).",
)
@click.option(
    "--manifest/--no-manifest",
    default=False,
    show_default=True,
    help="Also write manifests for the objects of this chunk (one-chunk runs; else use mesh-manifest).",
)
@click.option(
    "--multires/--no-multires",
    default=False,
    show_default=True,
    help="Multi-resolution meshes (neuroglancer_multilod_draco): per-task fragments, merged by mesh-manifest.",
)
@click.option(
    "--shard/--no-shard",
    default=False,
    show_default=True,
    help="Sharded multi-resolution meshes (implies --multires): mesh-manifest writes shard files.",
)
@click.option(
    "--is-segmentation",
    is_flag=True,
    default=False,
    help="Mesh the chunk even though it is an image or 8-bit: its values are object ids.",
)
@click.option(
    "--seam-free/--no-seam-free",
    default=None,
    help="Mesh each task plus one voxel and leave shared faces open for mesh-manifest to weld (default: "
    "when the chunk was loaded with a margin past the task, e.g. -e 1 1 1); --no-seam-free: "
    "chunkflow 1.2.0's per-chunk meshes, simplified in the task.",
)
def mesh(
    op_name,
    input_name,
    voxel_size,
    output_path,
    output_format,
    simplification_factor,
    max_simplification_error,
    skip_ids,
    dust_size_threshold,
    mip,
    manifest,
    multires,
    shard,
    is_segmentation,
    seam_free,
) -> Stage:
    """Mesh every object of a segmentation chunk.

    The output may be a local path, file://, gs:// or s3://. Into a precomputed volume, meshes go to the
    directory its info names (else mesh_err_<e>, as chunkflow 1.2.0 did), gzip-compressed. A chunk that is
    just its task is meshed the 1.2.0 way (each object simplified in the task). Loaded with
    --expand-margin-size 1 1 1 (or with --seam-free), a task meshes its box plus one voxel on its high
    faces and leaves the faces it shares with neighbouring tasks open; mesh-manifest then welds each
    object's fragments into one seam-free mesh.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 -e 40 4 4 --pattern sin connected-components -t 128 -o seg \\
          save-precomputed -i seg -v file://$PWD/seg mesh -i seg -o file://$PWD/seg --manifest
    """
    from chunkflow.errors import InvalidParameterError

    multires = multires or shard
    if manifest and output_format != "precomputed":
        raise InvalidParameterError(f"--manifest applies to precomputed meshes, not {output_format}")
    if multires and output_format != "precomputed":
        raise InvalidParameterError(f"--multires/--shard write precomputed meshes, not {output_format}")
    files.join(output_path, "x")  # a malformed URL is refused here, before any work
    state: dict = {"size": voxel_size or None, "dirs": {}}

    def volume_box(task: Task):
        """The output volume's box and voxel size, read once at the first task."""
        if "volume" not in state:
            from chunkflow.volumes.precomputed import PrecomputedVolume

            is_volume = output_format == "precomputed" and files.exists(files.join(output_path, "info"))
            state["volume"] = None
            if is_volume or mip is not None:
                volume = PrecomputedVolume.open(output_path, mip=mip or 0)
                if is_volume and volume.layer_type != "segmentation":  # meshes of an image would be served as its
                    raise InvalidParameterError(  # objects' and change its info: never write into one
                        f"{output_path} is a precomputed {volume.layer_type} volume; meshes go into the segmentation "
                        "volume they were made from (or a plain directory): give its path to -o"
                    )
                state["volume"] = volume.bbox if is_volume else None
                if state["size"] is None and mip is not None:
                    state["size"] = tuple(volume.voxel_size)
        return state["volume"]

    def directory(kind: bool) -> str:
        """The mesh directory, resolved (and the volume's info extended where needed) once per run."""
        from chunkflow.postprocess.mesh import mesh_dir
        from chunkflow.postprocess.multires import multires_dir

        if kind not in state["dirs"]:
            if multires:
                state["dirs"][kind] = multires_dir(output_path, shard, mip or 0)
            elif output_format == "precomputed":
                state["dirs"][kind] = mesh_dir(output_path, max_simplification_error, kind)
            else:
                state["dirs"][kind] = output_path
        return state["dirs"][kind]

    def apply(task: Task) -> None:
        from chunkflow.postprocess import mesh_chunk, write_manifests
        from chunkflow.postprocess.multires import mesh_task_fragments

        # without a task box (a one-chunk chain) the chunk is meshed whole
        volume_bbox = volume_box(task)
        volume_bbox = volume_bbox if task.bbox is not None else None
        chunk = task[input_name]
        if multires:
            mesh_task_fragments(
                chunk,
                output_path,
                task.bbox,
                volume_bbox,
                shard,
                mip or 0,
                skip_ids,
                dust_size_threshold,
                is_segmentation,
                simplification_factor,
                max_simplification_error,
                directory=directory(True),
            )
            return
        seamless = seam_free
        if seamless is None:  # a chunk loaded with a margin past its task: mesh seam-free; just the task: as 1.2.0
            seamless = task.bbox is not None and chunk.bbox != task.bbox and chunk.bbox.contains(task.bbox)
        ids = mesh_chunk(
            chunk,
            output_path,
            output_format,
            state["size"],
            simplification_factor,
            max_simplification_error,
            skip_ids,
            dust_size_threshold,
            task_bbox=task.bbox,
            volume_bbox=volume_bbox,
            is_segmentation=is_segmentation,
            seam_free=seamless,
            directory=directory(seamless),
        )
        if manifest:
            write_manifests(
                output_path,
                ids=ids,
                simplification_factor=simplification_factor,
                max_simplification_error=max_simplification_error,
                voxel_size=state["size"],
                mip=mip or 0,
            )

    return Stage(op_name, apply)


@click.command("mesh-manifest")
@name_option("mesh-manifest")
@click.option("--volume-path", "-v", required=True, help="Precomputed segmentation volume with a mesh/ dir.")
@click.option("--prefix", "-p", default="", help="Only ids starting with this (to split the work; unsharded).")
@click.option(
    "--digits",
    "-d",
    type=click.IntRange(min=1),
    default=None,
    help="Zero-pad an integer --prefix to this many digits (chunkflow 1.2.0's form).",
)
@click.option(
    "--merge/--no-merge",
    default=None,
    help="Weld each object's fragments into one simplified mesh (legacy meshes; default: for seam-free "
    "fragments), else list the fragments, as chunkflow 1.2.0 did.",
)
@click.option(
    "--simplification-factor",
    "-f",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Target reduction of the number of triangles of a merged mesh (finest level).",
)
@click.option(
    "--max-simplification-error",
    "-e",
    type=click.IntRange(min=0),
    default=40,
    show_default=True,
    help="Largest distance (nm) simplification may move the surface (the finest level; coarser levels halve the triangles).",
)
@click.option(
    "--mip",
    "-m",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Mip whose voxel size the legacy meshes were made at.",
)
@click.option(
    "--shard-number",
    "shard_numbers",
    type=click.IntRange(min=0),
    multiple=True,
    help="Only write this shard (repeatable; sharded multi-resolution meshes; default: all).",
)
@click.option(
    "--num-lods",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Levels of detail of multi-resolution meshes (fewer for small objects).",
)
@click.option(
    "--min-chunk-size",
    type=click.IntRange(min=1),
    default=128,
    show_default=True,
    help="Smallest octree cell (voxels) of multi-resolution meshes; sets how many levels an object gets.",
)
@click.option(
    "--draco-level",
    type=click.IntRange(0, 10),
    default=7,
    show_default=True,
    help="Draco compression level of multi-resolution fragments.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes building multi-resolution meshes (objects are independent).",
)
def mesh_manifest(
    op_name,
    volume_path,
    prefix,
    digits,
    merge,
    simplification_factor,
    max_simplification_error,
    mip,
    shard_numbers,
    num_lods,
    min_chunk_size,
    draco_level,
    workers,
) -> Stage:
    """Join the mesh fragments of every object across tasks: manifests, or multi-resolution meshes.

    \b
    Example:
      chunkflow create-chunk -s 16 64 128 -e 40 4 4 --pattern sin connected-components -t 128 -o seg \\
          save-precomputed -i seg -v file://$PWD/seg -b 16 64 64
      chunkflow generate-tasks -v file://$PWD/seg -c 16 64 64 \\
          load-precomputed -v file://$PWD/seg -e 1 1 1 --fill-missing -o seg mesh -i seg -o file://$PWD/seg
      chunkflow mesh-manifest -v file://$PWD/seg
    """
    if digits and prefix:
        prefix = prefix.zfill(digits)

    def is_multires() -> bool:
        """Whether the volume holds multi-resolution meshes; options that mean nothing for its meshes are usage errors."""
        from chunkflow.postprocess._layout import mesh_layout

        layout = mesh_layout(str(volume_path))
        if shard_numbers and not layout.sharded:
            raise click.UsageError(
                f"--shard-number selects shards of sharded meshes; {layout.directory} holds {layout.kind} meshes: "
                "drop --shard-number (or mesh again with --shard)"
            )
        if prefix and layout.sharded:
            raise click.UsageError(
                f"--prefix splits unsharded meshes; {layout.directory} holds sharded meshes: split the "
                "work with --shard-number instead"
            )
        layout.require_fragments(str(volume_path))
        return layout.multires

    def apply(task: Task) -> None:
        from chunkflow.postprocess import write_manifests
        from chunkflow.postprocess.multires import write_multires

        if is_multires():
            count = write_multires(
                volume_path,
                shard_numbers or None,
                prefix,
                num_lods,
                min_chunk_size,
                simplification_factor,
                max_simplification_error,
                draco_level,
                workers,
            )
            click.echo(f"wrote the multi-resolution meshes of {count} objects")
            return
        count = write_manifests(
            volume_path,
            prefix,
            merge=merge,
            simplification_factor=simplification_factor,
            max_simplification_error=max_simplification_error,
            mip=mip,
        )
        click.echo(f"wrote {count} mesh manifests")

    return Stage(op_name, apply)
