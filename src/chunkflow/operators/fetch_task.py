"""Worker operators: ``fetch-task-from-sqs`` (alias ``fetch-task``), ``fetch-task-from-file``,
``delete-task-in-queue``."""

from __future__ import annotations

import os

import click

from chunkflow.operators._options import name_option
from chunkflow.pipeline import Stage
from chunkflow.queues.preemption import DEFAULT_GRACE_S, GRACE_ENVVAR, PREEMPTED_EXIT_CODE
from chunkflow.queues.worker import DEFAULT_IDLE_TIMEOUT_S, DEFAULT_VISIBILITY_TIMEOUT_S
from chunkflow.task import CreatePolicy, Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {
    "fetch-task-from-sqs": {"section": "source"},
    "fetch-task": {"section": "source"},
    "fetch-task-from-file": {"section": "source"},
    "delete-task-in-queue": {"section": "sink"},
}


def _fetch_command(command_name: str) -> click.Command:
    @click.command(command_name)
    @name_option(command_name)
    @click.option("--queue-name", "-q", required=True, help="sqs://NAME, NAME, or file:///path.")
    @click.option(
        "--visibility-timeout",
        "-v",
        type=click.FloatRange(min=1),
        default=DEFAULT_VISIBILITY_TIMEOUT_S,
        show_default=True,
        help="Seconds a fetched task stays hidden; extended every half of it while the "
        "task runs, so a killed worker's task comes back within this time.",
    )
    @click.option(
        "--num", "-n", type=int, default=-1, show_default=True, help="Tasks to run; -1 until the queue is empty."
    )
    @click.option(
        "--retry-times",
        "-r",
        type=click.IntRange(min=-1),
        default=30,
        show_default=True,
        help="Polls in a row finding the queue drained (nothing waiting, nothing in flight) before the "
        "worker stops, at most that many --retry-interval periods where a receive waits itself (SQS); "
        "-1 polls forever.",
    )
    @click.option(
        "--retry-interval",
        type=click.FloatRange(min=0),
        default=1.0,
        show_default=True,
        help="Seconds between polls of an empty queue.",
    )
    @click.option(
        "--idle-timeout",
        type=click.FloatRange(min=0),
        default=DEFAULT_IDLE_TIMEOUT_S,
        show_default=True,
        help="Seconds without a task after which the worker stops even though other workers still "
        "hold tasks in flight.",
    )
    @click.option(
        "--grace",
        type=click.FloatRange(min=0),
        default=DEFAULT_GRACE_S,
        show_default=True,
        envvar=GRACE_ENVVAR,
        show_envvar=True,
        help="Seconds a SIGTERM'd worker (spot notice, eviction) may spend finishing its running task; "
        "after that the task goes back to the queue at once and the worker exits "
        f"{PREEMPTED_EXIT_CODE}.",
    )
    def fetch(op_name, queue_name, visibility_timeout, num, retry_times, retry_interval, idle_timeout, grace) -> Stage:
        """Lease tasks from a queue and run the chain on each; a failed task is released, not deleted.

        The worker exits 0 when every task it ran succeeded, 1 when any failed or a malformed
        message was dead-lettered, 2 on a usage error, 143 when stopped by SIGTERM: it fetches no
        more, and its running task either finished within --grace or was given back to the queue
        (visible again at once, nothing left half-written).

        \b
        Example:
          chunkflow generate-tasks -s 0 0 0 -r 16 64 64 -c 16 32 32 -q file://$PWD/q
          chunkflow fetch-task -q file://$PWD/q -r 0 create-chunk save-h5 -f out/ delete-task-in-queue
        """
        from chunkflow.queues.worker import Worker

        worker = Worker(queue_name, visibility_timeout, num, retry_times, retry_interval, idle_timeout, grace)
        return Stage(op_name, produce=worker.tasks, on_error=worker.failed)

    return fetch


fetch_task_from_sqs = _fetch_command("fetch-task-from-sqs")
fetch_task = _fetch_command("fetch-task")


@click.command("delete-task-in-queue")
@name_option("delete-task-in-queue")
def delete_task_in_queue(op_name) -> Stage:
    """Acknowledge the task: delete its message (put at the end of a worker's chain).

    \b
    Example:
      chunkflow generate-tasks -b 0-16_0-64_0-128 -c 16 64 64 -q file://$PWD/q
      chunkflow fetch-task -q file://$PWD/q --retry-times 0 create-chunk save-h5 -f out/ \\
          delete-task-in-queue
    """

    def apply(task: Task) -> None:
        if task.lease is not None:
            task.lease.done()

    return Stage(op_name, apply, run_on_skipped=True)


@click.command("fetch-task-from-file")
@name_option("fetch-task-from-file")
@click.option(
    "--file-path",
    "-f",
    required=True,
    type=str,
    help="Task file (a local path, gs:// or s3://) written by generate-tasks -f.",
)
@click.option("--job-index", "-i", type=int, default=None, help="Line to run (default: $SLURM_ARRAY_TASK_ID).")
def fetch_task_from_file(op_name, file_path, job_index) -> Stage:
    """Run the task on line --job-index of a task file (one bbox per line), for Slurm array jobs.

    \b
    Example:
      chunkflow generate-tasks -s 0 0 0 -r 16 64 64 -c 16 32 32 -f tasks.txt
      chunkflow fetch-task-from-file -f tasks.txt -i 1 create-chunk save-h5 -f t1.h5
    """
    from chunkflow.errors import InvalidParameterError
    from chunkflow.queues.messages import decode

    def produce():
        if job_index is not None:
            index = job_index
        else:
            raw = os.environ.get("SLURM_ARRAY_TASK_ID", "-1")
            try:
                index = int(raw)
            except ValueError:
                raise InvalidParameterError(
                    f"SLURM_ARRAY_TASK_ID={raw!r} is not a line number; pass --job-index"
                ) from None
        from chunkflow import files
        from chunkflow.errors import ChunkflowError

        try:  # a local path or a bucket
            text = files.read_text(file_path, "task file", "write it with generate-tasks -f")
        except ChunkflowError:
            raise
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidParameterError(
                f"cannot read task file {file_path}: {exc}; write it with generate-tasks -f"
            ) from None
        lines = [line for line in text.splitlines() if line.strip()]
        if not 0 <= index < len(lines):
            raise InvalidParameterError(f"job index {index} is outside the {len(lines)} tasks in {file_path}")
        bbox, params = decode(lines[index])
        # the tasks of a file run side by side (a Slurm array): a missing output volume is refused
        yield Task(
            bbox=bbox, index=index, params=params, create_policy=CreatePolicy(refused_by=f"task file {file_path}")
        )

    return Stage(op_name, produce=produce)
