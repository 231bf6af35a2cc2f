"""``copy-var`` / ``delete-var``: rename, duplicate or drop named chunks."""

from __future__ import annotations

import click

from chunkflow.operators._options import name_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"copy-var": {"section": "transform"}, "delete-var": {"section": "transform"}}


@click.command("copy-var")
@name_option("copy-var")
@click.option("--from-name", "-f", default="chunk", show_default=True)
@click.option("--to-name", "-t", default="chunk", show_default=True)
@click.option("--deep-copy/--shallow-copy", default=True, show_default=True)
def copy_var(op_name, from_name, to_name, deep_copy) -> Stage:
    """Copy a named chunk to another name.

    \b
    Example:
      chunkflow create-chunk -o a copy-var -f a -t b delete-var -v a save-h5 -i b -f b.h5
    """

    def apply(task: Task) -> None:
        chunk = task[from_name]
        task[to_name] = chunk.with_array(chunk.array.copy()) if deep_copy else chunk

    return Stage(op_name, apply)


@click.command("delete-var")
@name_option("delete-var")
@click.option("--var-names", "-v", required=True, help="Comma-separated chunk names.")
def delete_var(op_name, var_names) -> Stage:
    """Drop named chunks from the task (frees their memory).

    \b
    Example:
      chunkflow create-chunk -o a create-chunk -o b delete-var -v a,b
    """

    def apply(task: Task) -> None:
        for name in var_names.split(","):
            task.pop(name.strip())

    return Stage(op_name, apply)
