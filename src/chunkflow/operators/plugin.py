"""``plugin``: run a user's Python file on named chunks."""

from __future__ import annotations

import click

from chunkflow.operators._options import name_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task


@click.command("plugin")
@name_option("plugin")
@click.option("--file", "-f", "file", required=True, help="Python file defining execute(*chunks, args=...).")
@click.option("--input-names", "-i", default=None, help="Comma-separated input chunk names.")
@click.option("--output-names", "-o", default=None, help="Comma-separated names for what execute returns.")
@click.option("--args", "-a", default=None, help="Keywords like 'a=3;b=(1,2)' or a free string.")
def plugin(op_name, file, input_names, output_names, args) -> Stage:
    """Call execute() from a Python file on chunks; it returns chunks, arrays or None."""
    from chunkflow.plugins import load_plugin, run_plugin

    execute = load_plugin(file)
    inputs = input_names.split(",") if input_names else []
    outputs = output_names.split(",") if output_names else []

    def apply(task: Task) -> None:
        run_plugin(execute, task, inputs, outputs, args)

    return Stage(op_name, apply)
