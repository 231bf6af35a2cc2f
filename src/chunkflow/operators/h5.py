"""``load-h5`` / ``save-h5``: HDF5 files in chunkflow 1.2.0's layout."""

from __future__ import annotations

import click

from chunkflow.operators._io import cutout_box, load_into, task_path
from chunkflow.operators._options import input_option, name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"load-h5": {"section": "source"}, "save-h5": {"section": "sink"}}


def _h5_path(file_name: str, task: Task, bbox) -> str:
    """1.2.0's naming: a name not ending in .h5 (a folder/ or a prefix) gets ``<bbox>.h5`` appended."""
    if file_name.endswith((".h5", ".hdf5", ".hdf")) or (
        bbox is None and task.bbox is None and not file_name.endswith("/")
    ):
        return file_name
    if bbox is None and task.bbox is None:
        return task_path(file_name, task, bbox, ".h5")  # refuses: a folder needs a box to name the file
    return f"{file_name}{bbox or task.bbox}.h5"


@click.command("load-h5")
@name_option("load-h5")
@click.option(
    "--file-name",
    "-f",
    required=True,
    help="HDF5 file; a name not ending in .h5 (dir/ or a prefix) reads <name><bbox>.h5.",
)
@click.option("--dataset-path", "-d", default="main", show_default=True, help="Dataset inside the file.")
@triple("--voxel-offset", "-v", signed=True, help="Override the stored voxel offset")
@triple("--voxel-size", "-x", help="Override the stored voxel size")
@triple("--cutout-start", "-t", signed=True, help="Global start of the box to read")
@triple("--cutout-stop", "-p", signed=True, help="Global stop of the box to read")
@triple("--cutout-size", "-s", help="Size of the box to read")
@click.option("--layer-type", "-l", type=click.Choice(["image", "segmentation", "probability_map", "affinity_map"]))
@click.option(
    "--dtype",
    "-e",
    type=click.Choice(["float32", "float64", "uint16", "uint32", "uint64", "uint8"]),
    default=None,
    help="Convert the chunk to this data type after reading.",
)
@click.option(
    "--channels",
    "-c",
    default=None,
    help="Channels to keep of a 4D dataset: an index '0', a list '[0,2]' or a range '0:2'.",
)
@click.option(
    "--set-bbox/--no-set-bbox", default=False, show_default=True, help="Set the task's box to the loaded chunk's."
)
@click.option(
    "--remove-empty/--do-not-remove",
    default=False,
    show_default=True,
    help="Delete the file when the chunk read is all zero.",
)
@output_option()
def load_h5(
    op_name,
    file_name,
    dataset_path,
    voxel_offset,
    voxel_size,
    cutout_start,
    cutout_stop,
    cutout_size,
    layer_type,
    dtype,
    channels,
    set_bbox,
    remove_empty,
    output_name,
) -> Stage:
    """Read a chunk from an HDF5 file (the task's box, a cutout, or all of it).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 save-h5 -f a.h5
      chunkflow load-h5 -f a.h5 --cutout-start 0 0 0 --cutout-size 8 32 32 -e float32 save-h5 -f part.h5
    """

    def apply(task: Task) -> None:
        bbox = cutout_box(cutout_start, cutout_stop, cutout_size, task)
        url = _h5_path(file_name, task, bbox)
        load_into(
            task,
            output_name,
            url,
            bbox,
            dataset_path=dataset_path,
            voxel_offset=voxel_offset,
            voxel_size=voxel_size,
            layer_type=layer_type,
        )
        chunk = task[output_name]
        if channels is not None:
            from chunkflow.compat.chunk import _channel_index

            if chunk.ndim != 4:
                from chunkflow.errors import IncompatibleChunkError

                raise IncompatibleChunkError(f"load-h5 --channels {channels}: {url} holds a 3D dataset")
            chunk = chunk.with_array(chunk.array[_channel_index(channels)])
        if dtype is not None:
            chunk = chunk.with_array(chunk.array.astype(dtype))
        task[output_name] = chunk
        if remove_empty and not chunk.array.any():
            from chunkflow import files

            files.delete(url.removeprefix("file://"))
        if set_bbox:
            task.bbox = chunk.bbox

    return Stage(op_name, apply)


@click.command("save-h5")
@name_option("save-h5")
@input_option()
@click.option(
    "--file-name",
    "-f",
    required=True,
    help="Output file; a name not ending in .h5 (dir/ or a prefix) writes <name><bbox>.h5.",
)
@click.option(
    "--chunk-size",
    "-s",
    type=click.INT,
    nargs=3,
    default=None,
    help="HDF5 storage chunk shape (Z Y X; default: h5py's choice).",
)
@click.option(
    "--compression",
    "-c",
    type=click.Choice(["none", "gzip", "lzf", "szip"]),
    default="none",
    show_default=True,
    help="Dataset compression (1.2.0 wrote gzip; pass -c gzip for the same files).",
)
@click.option("--with-offset/--without-offset", default=True, show_default=True, help="Write the voxel_offset dataset.")
@click.option("--voxel-size", "-v", type=click.INT, nargs=3, default=None, help="Voxel size to record (Z Y X, nm).")
@click.option("--dtype", "-d", default=None, help="Convert to this data type before writing.")
@click.option(
    "--touch/--no-touch",
    default=True,
    show_default=True,
    help="Where the input is None (a plugin found nothing), create an empty file instead.",
)
def save_h5(op_name, input_name, file_name, chunk_size, compression, with_offset, voxel_size, dtype, touch) -> Stage:
    """Write a chunk to an HDF5 file (dataset main + voxel_offset + voxel_size).

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 -t 8 0 64 save-h5 -f out/
      chunkflow create-chunk -s 8 64 64 save-h5 -f small.h5 -c gzip -s 8 32 32 -d float32
    """
    import os

    plain = chunk_size is None and compression == "none" and with_offset and voxel_size is None

    def apply(task: Task) -> None:
        chunk = task.chunks.get(input_name)
        if chunk is None and input_name in task.chunks:
            if touch:
                from chunkflow.lib.operations import touch as touch_file

                touch_file(_h5_path(file_name, task, task.bbox))
            return
        chunk = task[input_name]
        if dtype is not None:
            chunk = chunk.with_array(chunk.array.astype(dtype))
        path = _h5_path(file_name, task, chunk.bbox)
        if os.path.isdir(path):  # h5py would write it all aside, then fail to rename it over the directory
            from chunkflow.errors import InvalidParameterError

            raise InvalidParameterError(
                f"save-h5 -f {path}: a directory, not a file; give a file name, or end "
                "the name with / to write <bbox>.h5 files into it"
            )
        if plain:
            from chunkflow.volumes import save_chunk

            save_chunk(path, chunk)
        else:
            from chunkflow.compat.chunk import as_120

            as_120(chunk).to_h5(
                path,
                with_offset=with_offset,
                chunk_size=chunk_size,
                compression=None if compression == "none" else compression,
                voxel_size=voxel_size,
            )

    return Stage(op_name, apply)
