"""Options shared by the staged-job commands (``global-connected-components``, ``agglomerate-volume``):
where the stages run (local processes, a queue, Dask) and the work dir."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def job_options(work_dir_default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--workers --queue-name --work-dir --dask --prepare``, in that order in ``--help``."""
    options = [
        click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Local processes (with --dask: LocalCluster workers; ignored with --queue-name)."),
        click.option("--queue-name", "-q", default=None,
                     help="Send each stage's tasks to this queue (file:///path or sqs://NAME) and wait for workers "
                          "running `fetch-task -q Q staged-task --job WORK_DIR delete-task-in-queue`."),
        click.option("--work-dir", default=None,
                     help=f"Job manifest, done markers and per-block files (default: {work_dir_default} beside a "
                          "local output; must be shared with the workers)."),
        click.option("--dask", "dask_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
                     help="Run the stages on Dask: a LocalCluster of --workers processes (no address), or the "
                          "scheduler at ADDRESS (tcp://host:8786)."),
        click.option("--prepare", "prepare_only", is_flag=True,
                     help="Only write the job manifest and create the output (and the queue), then exit: workers "
                          "can start; run the same command without --prepare to send the stages."),
    ]  # fmt: skip

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def dask_options(address: str | None, workers: int) -> Any:
    """``--dask``: None (not asked), "" (a LocalCluster of ``workers`` processes) or a scheduler address."""
    if address is None:
        return None
    from chunkflow.jobs.dask_executor import DaskOptions

    return DaskOptions(address=address or None, workers=workers, dashboard_address=":0")
