"""``plugin``: run a user's Python file (or a shipped plugin, by name) on named chunks."""

from __future__ import annotations

import click

from chunkflow.operators._options import name_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"plugin": {"section": "transform"}}


@click.command("plugin")
@name_option("plugin")
@click.option(
    "--file",
    "-f",
    "file",
    required=True,
    help="Plugin: a shipped plugin's name (inverse, median_filter, ...), NAME.py in CHUNKFLOW_PLUGIN_DIR, "
    "or the path of a .py file defining execute(*inputs, **args).",
)
@click.option(
    "--input-names",
    "-i",
    default=None,
    help="Comma-separated input chunk names; 'bbox' passes the task's box, 'None' passes None.",
)
@click.option("--output-names", "-o", default=None, help="Comma-separated names for what execute returns.")
@click.option("--args", "-a", default=None, help="Keywords like 'a=3;b=(1,2)', or a free string passed as args=.")
def plugin(op_name, file, input_names, output_names, args) -> Stage:
    """Call execute() of a plugin on chunks; returned arrays are placed like the first input chunk.

    \b
    Example:
      chunkflow create-chunk -s 8 64 64 -o img plugin -f inverse -i img -o inv \\
          plugin -f median_filter -i inv -o smooth -a 'size=(3,3,3)' plugin -f print_max_id -i smooth \\
          save-h5 -i smooth -f smooth.h5
    """
    from chunkflow.plugins import load_plugin, run_plugin

    execute = load_plugin(file)
    inputs = input_names.split(",") if input_names else []
    outputs = output_names.split(",") if output_names else []

    def apply(task: Task) -> None:
        run_plugin(execute, task, inputs, outputs, args)

    return Stage(op_name, apply)
