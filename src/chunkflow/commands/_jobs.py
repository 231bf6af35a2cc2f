"""Options shared by the staged-job commands (``global-connected-components``, ``agglomerate-volume``):
where the stages run (local processes, a queue, Dask), the work dir, and the plan (``--dry-run``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def job_options(work_dir_default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--workers --queue-name --work-dir --keep-work-dir --overwrite --dask --prepare --dry-run``."""
    options = [
        click.option("--workers", "-w", type=click.IntRange(min=1), default=None,
                     help="Local processes [default: 1]; with --dask: LocalCluster workers; with --queue-name: "
                          "start this many local workers on the queue (others may join from anywhere)."),
        click.option("--queue-name", "-q", default=None,
                     help="Send each stage's tasks to this queue (file:///path or sqs://NAME) and wait for workers "
                          "running `fetch-task -q Q staged-task --job WORK_DIR delete-task-in-queue`."),
        click.option("--work-dir", default=None,
                     help=f"Job manifest, done markers and per-block files: a path, file://, gs:// or s3:// "
                          f"(default: {work_dir_default}, beside the output on the same storage). Removed when "
                          "the job ends unless --keep-work-dir."),
        click.option("--keep-work-dir", is_flag=True, help="Keep the work dir (done markers, work files) after the job."),
        click.option("--overwrite", is_flag=True,
                     help="Replace an existing output that does not match the job (dtype, size, offset, channels, "
                          "layer type) instead of refusing. The input is never overwritten."),
        click.option("--dask", "dask_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
                     help="Run the stages on Dask: a LocalCluster of --workers processes (no address), or the "
                          "scheduler at ADDRESS (tcp://host:8786)."),
        click.option("--prepare", "prepare_only", is_flag=True,
                     help="Only write the job manifest and create the output (and the queue), then exit: workers "
                          "can start; run the same command without --prepare to send the stages."),
        click.option("--dry-run", is_flag=True,
                     help="Write nothing: print per stage the tasks, object reads and writes, bytes, scratch, memory "
                          "and time per task, estimated from a run on a corner of at most 2x2x2 blocks."),
    ]  # fmt: skip

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def dask_options(address: str | None, workers: int | None) -> Any:
    """``--dask``: None (not asked), "" (a LocalCluster of ``workers`` processes) or a scheduler address."""
    if address is None:
        return None
    from chunkflow.jobs.dask_executor import DaskOptions

    return DaskOptions(address=address or None, workers=workers or 1, dashboard_address=":0", connect_timeout_s=5.0)


def run_options(
    workers: int | None,
    queue_name: str | None,
    dask_address: str | None,
    prepare_only: bool,
    keep_work_dir: bool,
    overwrite: bool,
) -> dict[str, Any]:
    """The executor arguments of :func:`chunkflow.jobs.executors.run_job` from the shared options."""
    return {
        "workers": 1 if queue_name is not None or workers is None else workers,
        "queue_name": queue_name,
        "prepare_only": prepare_only,
        "dask": dask_options(dask_address, workers),
        "keep_work_dir": keep_work_dir,
        "overwrite": overwrite,
        "start_workers": (workers or 0) if queue_name is not None else 0,
    }


def echo_plan(job: Any) -> None:
    """``--dry-run``: the per-stage plan of ``job`` (nothing written to its places)."""
    from chunkflow.jobs.plan import format_plan, plan_job

    for line in format_plan(job, plan_job(job)):
        click.echo(line)


def require_margin(margin: Any) -> None:
    if margin is None:
        raise click.UsageError("Missing option '--margin' / '-m' (three integers Z Y X).")
