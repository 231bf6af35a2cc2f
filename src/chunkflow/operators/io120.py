"""chunkflow 1.2.0's smaller file operators: ``load-json``, ``save-nrrd``, ``load-skeleton``,
``save-swc``, ``save-points``, ``load-synapses``, ``save-synapses``, ``download-mesh``,
``log-summary`` and ``napari`` (refused: no desktop viewer here)."""

from __future__ import annotations

import logging
import os

import click

from chunkflow.operators._options import input_option, name_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {
    "load-json": {"section": "source"},
    "save-nrrd": {"section": "sink", "extra": "plugins-nrrd"},
    "load-skeleton": {"section": "source"},
    "save-swc": {"section": "sink"},
    "save-points": {"section": "sink"},
    "load-synapses": {"section": "source"},
    "save-synapses": {"section": "sink"},
    "download-mesh": {"section": "source"},
    "log-summary": {"section": "transform"},
    "napari": {"section": "view"},
}

log = logging.getLogger(__name__)


@click.command("load-json")
@name_option("load-json")
@click.option(
    "--file-path",
    "-f",
    required=True,
    help="JSON file; a folder or a prefix not ending in .json reads <folder>/<bbox>.json or <prefix><bbox>.json.",
)
@click.option("--output-name", "-o", default="dict", show_default=True, help="Name of the loaded value in the task.")
@click.option("-n", "op_name_n", default=None, hidden=True, help="1.2.0's short form of --name.")
def load_json(op_name, file_path, output_name, op_name_n) -> Stage:
    """Read a JSON file into the task (a dict or list, for plugins).

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 -d uint32 -o a evaluate-segmentation -s a -g a -o scores.json
      chunkflow load-json -f scores.json -o scores create-chunk save-h5 -f chunk.h5
    """
    from chunkflow.lib.operations import read_json

    def apply(task: Task) -> None:
        task[output_name] = read_json(file_path, task.bbox)

    return Stage(op_name_n or op_name, apply)


@click.command("save-nrrd")
@name_option("save-nrrd")
@input_option()
@click.option(
    "--file-name", "-f", default=None, help="NRRD file (default: <bbox>.nrrd); one leading channel is dropped."
)
def save_nrrd(op_name, input_name, file_name) -> Stage:
    """Write a chunk to an NRRD file (needs pynrrd).

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 save-nrrd -f chunk.nrrd
    """
    from chunkflow.plugins import load_plugin, run_plugin

    execute = load_plugin("save_nrrd")

    def apply(task: Task) -> None:
        run_plugin(execute, task, [input_name], [], None if file_name is None else f"file_name={file_name!r}")

    return Stage(op_name, apply)


@click.command("load-skeleton")
@name_option("load-skeleton")
@click.option(
    "--path",
    "-p",
    required=True,
    type=click.Path(exists=True, resolve_path=True),
    help="An .swc file, or a folder of <id>.swc files.",
)
@click.option(
    "--offset",
    "-o",
    "offset",
    type=click.FLOAT,
    nargs=3,
    default=None,
    help="Physical offset added to the vertices, nm (Z Y X).",
)
@triple("--voxel-offset", "-t", signed=True, help="Offset in voxels (needs --voxel-size)")
@click.option("--voxel-size", "-s", type=click.FLOAT, nargs=3, default=None, help="Voxel size, nm (Z Y X).")
@click.option(
    "--output-name",
    default="skels",
    show_default=True,
    help="Name of the {id: skeleton} dict (1.2.0 gave this -o too, clashing with --offset; -o is the offset).",
)
def load_skeleton(op_name, path, offset, voxel_offset, voxel_size, output_name) -> Stage:
    """Read SWC skeletons into a {object id: cloud-volume Skeleton} dict.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern sin connected-components -t 128 -o seg \\
          plugin -f skeletonize -i seg -o skels \\
          -a 'voxel_size=(40,4,4)' save-swc -p ./swc/
      chunkflow load-skeleton -p swc save-swc -p ./copy/
    """
    from chunkflow.errors import InvalidParameterError

    if offset is None and voxel_offset is not None:
        if voxel_size is None:
            raise InvalidParameterError("load-skeleton --voxel-offset needs --voxel-size")
        offset = tuple(o * s for o, s in zip(voxel_offset, voxel_size))

    def apply(task: Task) -> None:
        from chunkflow.lib.skeletons import load_swc_skeletons

        task[output_name] = load_swc_skeletons(path, offset)  # type: ignore[assignment]

    return Stage(op_name, apply)


@click.command("save-swc")
@name_option("save-swc")
@click.option("--input-name", "-i", default="skels", show_default=True, help="Name of the {id: skeleton} dict.")
@click.option("--output-prefix", "-p", default="./", show_default=True, help="Files are <prefix><id>.swc.")
def save_swc(op_name, input_name, output_prefix) -> Stage:
    """Write each skeleton of an {id: skeleton} dict to <prefix><id>.swc.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern sin connected-components -t 128 -o seg \\
          plugin -f skeletonize -i seg -o skels \\
          -a 'voxel_size=(40,4,4)' save-swc -p ./swc/
    """

    def apply(task: Task) -> None:
        from chunkflow.lib.skeletons import save_swc_skeletons

        prefix = (
            output_prefix + "/" if os.path.isdir(output_prefix) and not output_prefix.endswith("/") else output_prefix
        )
        save_swc_skeletons(task.chunks[input_name], prefix)  # type: ignore[arg-type]

    return Stage(op_name, apply)


@click.command("save-points")
@name_option("save-points")
@click.option("--input-name", "-i", default="point_cloud", show_default=True, help="Name of the point cloud.")
@click.option("--file-path", "-f", required=True, help="HDF5 file (points, voxel_size).")
def save_points(op_name, input_name, file_path) -> Stage:
    """Write a point cloud (e.g. from the detect_points plugin) to HDF5.

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 -d float32 -o prob plugin -f detect_points -i prob -o point_cloud \\
          -a 'min_distance=3;threshold_rel=0.5' save-points -f points.h5
    """

    def apply(task: Task) -> None:
        from chunkflow.errors import IncompatibleChunkError

        points = task.chunks.get(input_name)
        if not hasattr(points, "to_h5") or not hasattr(points, "points"):
            raise IncompatibleChunkError(f"save-points: {input_name!r} is not a point cloud ({type(points).__name__})")
        points.to_h5(file_path)  # type: ignore[union-attr]

    return Stage(op_name, apply)


def _synapse_file(file_path: str, suffix: str | None, task: Task) -> str:
    from chunkflow.errors import InvalidParameterError

    if os.path.isfile(file_path):
        return file_path
    if task.bbox is None:
        raise InvalidParameterError(f"{file_path!r} is not a file and the task has no box to name one")
    if os.path.isdir(file_path):
        name = os.path.join(file_path, f"{task.bbox}{suffix or ''}")
        return name + ".h5" if suffix is None and not os.path.exists(name) else name
    return f"{file_path}{task.bbox}{suffix or ''}"


@click.command("load-synapses")
@name_option("load-synapses")
@click.option("-n", "op_name_n", default=None, hidden=True, help="1.2.0's short form of --name.")
@click.option("--file-path", "-f", required=True, help="HDF5 or JSON file, or a folder/prefix of <bbox><suffix> files.")
@click.option("--suffix", "-s", default=None, help="File name after the bbox (e.g. .h5).")
@click.option(
    "--c-order/--f-order", default=True, show_default=True, help="ZYX (C) or XYZ (Fortran) coordinates in the file."
)
@triple("--resolution", "-r", help="Voxel size of the points (default: the file's)")
@click.option(
    "--remove-outside/--keep-all", default=False, show_default=True, help="Drop synapses outside the task's box."
)
@click.option(
    "--set-bbox/--not-set-bbox", default=False, show_default=True, help="Set the task's box from the file name."
)
@click.option("--output-name", "-o", default="syns", show_default=True, help="Name of the synapses in the task.")
def load_synapses(
    op_name, op_name_n, file_path, suffix, c_order, resolution, remove_outside, set_bbox, output_name
) -> Stage:
    """Read synapses (1.2.0's HDF5 or JSON layout) into the task.

    \b
    Example:
      chunkflow create-bbox -s 0 0 0 -z 8 64 64 save-synapses -f ./
      chunkflow create-bbox -s 0 0 0 -z 8 64 64 load-synapses -f ./ skip-none -i syns -p ./no-synapses-
    """

    def apply(task: Task) -> None:
        from chunkflow.geometry import BoundingBox
        from chunkflow.synapses import Synapses

        name = _synapse_file(file_path, suffix, task)
        if set_bbox:
            task.bbox = BoundingBox.from_string(name)
        syns = Synapses.from_file(name, resolution=resolution, c_order=c_order)
        if syns is not None and remove_outside and task.bbox is not None:
            syns.remove_synapses_outside_bounding_box(task.bbox)
        task[output_name] = syns  # type: ignore[assignment]

    return Stage(op_name_n or op_name, apply)


@click.command("save-synapses")
@name_option("save-synapses")
@click.option("--input-name", "-i", default="syns", show_default=True, help="Name of the synapses in the task.")
@click.option(
    "--file-path", "-f", required=True, help="A .json or .h5 file; otherwise a folder or prefix: <bbox>.h5 is appended."
)
def save_synapses(op_name, input_name, file_path) -> Stage:
    """Write synapses as HDF5 (or JSON); where there are none, an empty marker file.

    \b
    Example:
      chunkflow create-bbox -s 0 0 0 -z 8 64 64 save-synapses -f ./
    """

    def apply(task: Task) -> None:
        from chunkflow.lib.operations import touch

        syns = task.chunks.get(input_name)
        path = file_path
        if path.endswith(".json"):
            if syns is None:
                touch(path)
            else:
                syns.to_json(path)
            return
        if not path.endswith(".h5"):
            if task.bbox is not None:
                path = os.path.join(path, str(task.bbox)) if os.path.isdir(path) else f"{path}{task.bbox}"
            path += ".h5"
        if syns is None:
            touch(path)
        else:
            syns.to_h5(path)

    return Stage(op_name, apply)


@click.command("download-mesh")
@name_option("download-mesh")
@click.option("--volume-path", "-v", required=True, help="Precomputed segmentation with meshes.")
@click.option(
    "--input",
    "-i",
    "ids",
    required=True,
    help="Object ids '34,25,38', a text file of them, or a segmentation chunk name (with --stop-rank).",
)
@click.option(
    "--start-rank",
    "-s",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="With a chunk name: first rank by voxel count (0: the largest).",
)
@click.option("--stop-rank", "-p", type=click.IntRange(min=0), default=None, help="With a chunk name: rank to stop at.")
@click.option("--out-pre", "-o", default="./", show_default=True, help="Files are <prefix><id>.<format>.")
@click.option("--out-format", "-f", type=click.Choice(["ply", "obj"]), default="ply", show_default=True)
def download_mesh(op_name, volume_path, ids, start_rank, stop_rank, out_pre, out_format) -> Stage:
    """Write the meshes of some objects of a precomputed volume as PLY or OBJ files.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 -e 40 4 4 --pattern sin connected-components -t 128 -o seg \\
          save-precomputed -i seg -v file://$PWD/seg mesh -i seg -o file://$PWD/seg --manifest \\
          download-mesh -v file://$PWD/seg -i seg -p 2 -o ./largest-
    """

    def apply(task: Task) -> None:
        from chunkflow.lib.skeletons import download_meshes, object_ids

        chosen = object_ids(ids, task.chunks.get(ids) if stop_rank is not None else None, start_rank, stop_rank)
        download_meshes(volume_path, chosen, out_pre, out_format)

    return Stage(op_name, apply)


@click.command("log-summary")
@name_option("log-summary")
@click.option(
    "--log-dir",
    "-l",
    default="./log",
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
    help='Folder of JSON task logs ({"timer": {operator: seconds}, ...}).',
)
@triple("--output-size", "-s", help="Output size of a task, for voxels per second")
def log_summary(op_name, log_dir, output_size) -> Stage:
    """Print per-operator timings (count, mean, max, total seconds) over the task logs of a run.

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 -d uint32 -o a evaluate-segmentation -s a -g a -o log/task1.json
      chunkflow log-summary -l log
    """

    def produce():
        from chunkflow.lib.operations import log_summary as summarise

        summary = summarise(log_dir, output_size)
        click.echo(f"{'operator':<32} {'tasks':>6} {'mean s':>10} {'max s':>10} {'total h':>9}")
        for name, row in summary.items():
            if name != "_total":
                click.echo(
                    f"{name:<32} {row['count']:>6} {row['mean']:>10.2f} {row['max']:>10.2f} {row['total'] / 3600:>9.3f}"
                )
        if "_total" in summary:
            click.echo(f"speed: {summary['_total']['voxels_per_second'] / 1e6:.3f} megavoxels per second of one worker")
        return [Task()]

    return Stage(op_name, produce=produce)


@click.command("napari")
@name_option("napari")
@triple("--voxel-size", "-v", help="Voxel size of the chunks")
@click.option("--inputs", "-i", default="chunk", show_default=True, help="Comma-separated chunk names.")
def napari(op_name, voxel_size, inputs) -> Stage:
    """Show chunks in napari (not bundled: use the neuroglancer operator or `chunkflow view`).

    \b
    Example:
      chunkflow create-chunk napari -i chunk
    """
    from chunkflow.errors import InvalidParameterError

    try:
        import napari as _napari  # noqa: F401
    except ImportError:
        raise InvalidParameterError(
            "napari is not installed (pip install 'napari[all]'); or use the neuroglancer operator, which is included"
        ) from None

    def apply(task: Task) -> None:
        import napari as viewer_lib

        viewer = viewer_lib.Viewer()
        for name in inputs.split(","):
            chunk = task[name]
            scale = tuple(voxel_size or chunk.voxel_size)
            add = viewer.add_labels if chunk.is_segmentation else viewer.add_image
            add(chunk.array, name=name, scale=scale, translate=tuple(o * s for o, s in zip(chunk.voxel_offset, scale)))
        viewer_lib.run()

    return Stage(op_name, apply)
