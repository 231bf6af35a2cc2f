"""``staged-task`` (alias ``global-cc-task``): run one task of a staged job named by a queue message."""

from __future__ import annotations

from typing import Any

import click

from chunkflow.operators._options import name_option
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {
    "global-cc-task": {"section": "transform", "extra": "segmentation"},
    "staged-task": {"section": "transform"},
}


def _command(command_name: str) -> click.Command:
    @click.command(command_name)
    @name_option(command_name)
    @click.option(
        "--job",
        "-j",
        "job_path",
        required=True,
        help="The job's manifest: its work dir or manifest.json (a path, file://, gs:// or s3:// URL), as the frontend "
        "(agglomerate-volume, global-connected-components) printed it. Read when a task arrives.",
    )
    def staged_task(op_name: str, job_path: str) -> Stage:
        """Run the staged-job task a queue message names (box, job id, stage) with the volumes of --job.

        A message of another job, an unknown stage, a box that is not one of the job's tasks or
        with any other field is refused (logged, left for the dead-letter queue); volumes and
        parameters come only from the manifest. Finished tasks leave done markers: a repeat is a no-op.

        \b
        Example:
          chunkflow create-chunk -s 16 64 64 -o image save-precomputed -i image -v file://$PWD/image
          chunkflow global-connected-components -v file://$PWD/image -o file://$PWD/cc -b 8 32 32 -t 120 \\
              -q file://$PWD/q --prepare
          chunkflow fetch-task -q file://$PWD/q -r 0 staged-task --job $PWD/cc.cc-work delete-task-in-queue
        """
        from chunkflow.jobs.staged import load_job, run_message

        cache: dict[str, Any] = {}

        def apply(task: Task) -> None:
            # the manifest is read again only when a message names another job (a new job in the work dir)
            job = cache.get("job")
            if job is None or task.params.get("job") != job.job_id:
                job = cache["job"] = load_job(job_path)
            run_message(job, task.bbox, task.params)

        return Stage(op_name, apply)

    return staged_task


staged_task = _command("staged-task")
global_cc_task = _command("global-cc-task")
