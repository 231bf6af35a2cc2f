"""``neuroglancer``: show named chunks of the current task in a local neuroglancer viewer."""

from __future__ import annotations

import sys

import click

from chunkflow.operators._options import name_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"neuroglancer": {"section": "view", "extra": "viewer"}}


@click.command("neuroglancer")
@name_option("neuroglancer")
@click.option("--inputs", "-i", default="chunk", show_default=True, help="Comma-separated chunk names to show.")
@triple("--voxel-size", "-v", help="Voxel size in nm (default: each chunk's)")
@click.option(
    "--port", "-p", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port (0: any free port)."
)
@click.option("--bind-address", default="127.0.0.1", show_default=True)
def neuroglancer(op_name, inputs, voxel_size, port, bind_address) -> Stage:
    """Show chunks as image/segmentation layers; waits for Enter before the chain goes on.

    \b
    Example:
      chunkflow create-chunk -s 16 128 128 --pattern sin -o img connected-components -i img -t 128 -o seg \\
          neuroglancer -i img,seg
    """
    from chunkflow.viewer import show_chunks

    names = [n for n in inputs.split(",") if n]

    def apply(task: Task) -> None:
        chunks = {n: task[n] for n in names}
        if voxel_size:
            chunks = {n: c.with_array(c.array, voxel_size=voxel_size) for n, c in chunks.items()}
        session = show_chunks(chunks, port=port, bind_address=bind_address)
        click.echo(f"neuroglancer viewer for task {task.name}: {session.url}")
        click.echo("press Enter to continue the chain")
        try:
            sys.stdin.readline()
        finally:
            session.stop()

    return Stage(op_name, apply)
