"""``mask-out-objects`` and ``relabel``: drop small or unselected objects; consecutive ids."""

from __future__ import annotations

import click

from chunkflow.operators._options import input_option, name_option, output_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {
    "mask-out-objects": {"section": "transform", "extra": "segmentation"},
    "relabel": {"section": "transform", "extra": "segmentation"},
}


def _ids(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integer ids") from None


@click.command("mask-out-objects")
@name_option("mask-out-objects")
@click.option("--dust-size-threshold", "-d", type=click.IntRange(min=0), default=None, help="Remove smaller objects.")
@click.option("--selected-obj-ids", "-s", callback=_ids, default=None, help="Keep only these ids, e.g. 5,7,9.")
@input_option()
@output_option()
def mask_out_objects(op_name, dust_size_threshold, selected_obj_ids, input_name, output_name) -> Stage:
    """Zero small objects and/or every object not selected.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern sin connected-components -t 128 -o seg mask-out-objects \\
          -i seg -o seg -d 100 save-h5 -i seg -f big-objects.h5
    """
    from chunkflow.segmentation import mask_out_objects as run

    def apply(task: Task) -> None:
        task[output_name] = run(task[input_name], dust_size_threshold, selected_obj_ids)

    return Stage(op_name, apply)


@click.command("relabel")
@name_option("relabel")
@input_option()
@output_option()
def relabel(op_name, input_name, output_name) -> Stage:
    """Renumber labels consecutively from 1.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 --pattern sin connected-components -t 128 -o seg mask-out-objects \\
          -i seg -o seg -d 100 relabel -i seg -o seg save-h5 -i seg -f relabelled.h5
    """
    from chunkflow.segmentation import relabel as run

    def apply(task: Task) -> None:
        task[output_name] = run(task[input_name])

    return Stage(op_name, apply)
