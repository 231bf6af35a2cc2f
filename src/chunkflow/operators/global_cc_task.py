"""``global-cc-task``: run one stage task of a global connected-components job from a queue message."""

from __future__ import annotations

import click

from chunkflow.operators._options import name_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task


@click.command("global-cc-task")
@name_option("global-cc-task")
def global_cc_task(op_name) -> Stage:
    """Run the global-connected-components stage task named in the task message."""
    from chunkflow.errors import QueueError
    from chunkflow.segmentation.global_cc import GlobalCCJob, run_task

    def apply(task: Task) -> None:
        try:
            job = GlobalCCJob.from_json(task.params["job"])
            stage = task.params["stage"]
        except (KeyError, TypeError, ValueError) as exc:
            raise QueueError(f"task message is not a global-connected-components task: {exc}") from None
        run_task(job, stage, "all" if task.bbox is None else str(task.bbox))

    return Stage(op_name, apply)
