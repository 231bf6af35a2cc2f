"""``load-zarr`` / ``save-zarr``: Zarr v2/v3 arrays and OME-Zarr groups."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"load-zarr": {"section": "source"}, "save-zarr": {"section": "sink"}}


def _url(store: str) -> str:
    return (
        store if store.startswith(("zarr://", "zarr3://")) or store.rstrip("/").endswith(".zarr") else f"zarr://{store}"
    )


@click.command("load-zarr")
@name_option("load-zarr")
@click.option("--store", "-f", required=True, help="Zarr array or OME-Zarr group (path or zarr://PATH).")
@click.option("--mip", "-m", type=click.IntRange(min=0), default=0, show_default=True, help="OME-Zarr scale.")
@triple("--chunk-start", "-s", signed=True, help="Global start of the box (default: the task's box)")
@triple("--chunk-size", "-z", help="Size of the box")
@click.option("--fill-missing/--no-fill-missing", default=False)
@output_option()
def load_zarr(op_name, store, mip, chunk_start, chunk_size, fill_missing, output_name) -> Stage:
    """Read a box of a Zarr array.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 save-zarr -s a.zarr -c 16 32 32
      chunkflow load-zarr -f a.zarr -s 0 0 0 -z 16 32 32 save-h5 -f block.h5
    """
    from chunkflow.operators._io import cutout_box, load_into

    def apply(task: Task) -> None:
        bbox = cutout_box(chunk_start, None, chunk_size, task)
        load_into(task, output_name, _url(store), bbox, mip=mip, fill_missing=fill_missing)

    return Stage(op_name, apply)


@click.command("save-zarr")
@name_option("save-zarr")
@click.option("--store", "-s", required=True, help="Zarr path; created from the chunk if missing.")
@triple("--chunk-size", "-c", default=(64, 64, 64), help="Storage block size when created here")
@click.option("--zarr-format", type=click.Choice(["2", "3"]), default="3", show_default=True)
@click.option("--ome/--no-ome", default=False, help="Create an OME-Zarr multiscale group.")
@input_option()
def save_zarr(op_name, store, chunk_size, zarr_format, ome, input_name) -> Stage:
    """Write a chunk into a Zarr array at its global offset (block-aligned).

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 save-zarr -s ome.zarr --ome
    """
    from chunkflow.volumes import save_chunk

    def apply(task: Task) -> None:
        save_chunk(
            _url(store),
            task[input_name],
            policy=task.create_policy,
            block_size=chunk_size,
            zarr_format=int(zarr_format),
            ome=ome,
        )

    return Stage(op_name, apply)
