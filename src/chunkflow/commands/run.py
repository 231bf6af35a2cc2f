"""``chunkflow run [--dask [ADDRESS]] [--cluster ...] -- CHAIN``: one Dask task per box of the chain's source."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import click

from chunkflow.cli import parse_chain
from chunkflow.errors import ChunkflowError, InvalidParameterError

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"run": {"section": "queue"}}

__all__ = ["run", "ChainOnBox"]

CLUSTERS = ("local", "slurm", "pbs", "lsf", "sge")


def _stages(pieces: list[tuple[str, list[str], Any]]) -> list[Any]:
    stages = []
    for _name, _args, sub_ctx in pieces:
        with sub_ctx:
            stages.append(sub_ctx.command.invoke(sub_ctx))
    return stages


_local = threading.local()


@dataclass(frozen=True)
class ChainOnBox:
    """The transforms of a chain, run on one box in a Dask worker (parsed once per worker thread)."""

    args: tuple[str, ...]  # group options + the chain after its source

    def __call__(self, box: str) -> dict[str, Any]:
        from chunkflow.geometry import BoundingBox
        from chunkflow.pipeline import Stage, run_pipeline
        from chunkflow.task import Task

        cache = getattr(_local, "chains", None)
        if cache is None:
            cache = _local.chains = {}
        stages = cache.get(self.args)
        if stages is None and not any(not a.startswith("-") for a in self.args):
            stages = cache[self.args] = []  # nothing after the source (benchmarks of the scheduling itself)
        if stages is None:
            _ctx, pieces = parse_chain(list(self.args))
            stages = cache[self.args] = _stages(pieces)
        task = Task(bbox=BoundingBox.from_string(box))
        for done in run_pipeline([Stage("box", produce=lambda: [task]), *stages]):
            return {"box": box, "skipped": done.skip}
        return {"box": box, "skipped": True}


def _memory_limit(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``auto`` or a byte size Dask understands (4GiB, 500MB, 0 for none); anything else is a usage error
    here rather than a ValueError from inside Dask once the cluster starts."""
    if value == "auto":
        return value
    try:
        from dask.utils import parse_bytes

        size = parse_bytes(value) if value.strip() else -1
    except ImportError:  # no dask: run refuses that itself, with the install line
        return value
    except ValueError:
        size = -1
    if size < 0:
        raise click.BadParameter(f"{value!r} is not a memory size; give e.g. 4GiB, 500MB, or auto", ctx, param)
    return value


@click.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option(
    "--dask",
    "address",
    is_flag=False,
    flag_value="",
    default="",
    metavar="[ADDRESS]",
    help="Dask scheduler: no value (the default) starts a LocalCluster here; tcp://HOST:8786 uses a running one.",
)
@click.option(
    "--cluster",
    type=click.Choice(CLUSTERS),
    default="local",
    show_default=True,
    help="Start workers through dask-jobqueue on this batch system instead of locally.",
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes: local (default: CPU count) or per job with --cluster (default 1).",
)
@click.option(
    "--threads-per-worker",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Threads per worker process (boxes run at once per process). Local workers' native thread pools "
    "(BLAS, OpenMP, torch) get cores / (workers x threads) each, unless OMP_NUM_THREADS and its kin are set.",
)
@click.option(
    "--memory-limit",
    default="auto",
    show_default=True,
    callback=_memory_limit,
    help="Memory per local worker process, e.g. 4GiB; auto = machine memory / workers.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Extra tries for a failing box before it is reported as failed.",
)
@click.option(
    "--gpus-per-worker",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="GPUs each worker advertises (resource GPU); inference boxes then take one GPU each.",
)
@click.option(
    "--dashboard-address",
    default=":8787",
    show_default=True,
    help="Where the local/jobqueue scheduler serves its dashboard (:0 = any free port).",
)
@click.option("--cores", type=click.IntRange(min=1), default=None, help="--cluster: cores per job.")
@click.option("--memory", default=None, help="--cluster: memory per job, e.g. 32GiB.")
@click.option("--walltime", default=None, help="--cluster: time limit per job, e.g. 04:00:00.")
@click.option("--queue", default=None, help="--cluster: batch queue / partition.")
@click.option("--account", default=None, help="--cluster: account (project on SGE) charged.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="--cluster: jobs to submit.")
@click.option(
    "--job-extra", multiple=True, help="--cluster: extra scheduler directive, e.g. '--gres=gpu:1' (repeatable)."
)
@click.argument("chain", nargs=-1, type=click.UNPROCESSED, required=True)
def run(
    address: str,
    cluster: str,
    workers: int | None,
    threads_per_worker: int,
    memory_limit: str,
    retries: int,
    gpus_per_worker: int,
    dashboard_address: str,
    cores: int | None,
    memory: str | None,
    walltime: str | None,
    queue: str | None,
    account: str | None,
    jobs: int,
    job_extra: tuple[str, ...],
    chain: tuple[str, ...],
) -> None:
    """Run a chain on Dask: one task per box of its source (generate-tasks), retried, reported by box.

    The chain is the same as for a single process; its first operator cuts the boxes here, and the
    rest runs on each box in a Dask worker. Done markers (skip-task-by-file right after the source)
    are checked here first, so a rerun submits only what is left. Failed boxes are listed at the end
    and the exit status is 1.

    \b
    Example:
      chunkflow create-chunk -s 64 128 128 --pattern sin save-h5 -f run-in.h5
      chunkflow run --dask --workers 2 --dashboard-address :0 -- generate-tasks -b 0-64_0-128_0-128 -c 32 64 64 \\
          skip-task-by-file -p run-done/ load-h5 -f run-in.h5 save-h5 -f run-out/ mark-complete -p run-done/
    """
    from chunkflow import _extras

    _extras.require_extra("run", "dask")
    if cluster != "local" and not address:
        _extras.require_extra(f"run --cluster {cluster}", "dask-jobqueue")
    from chunkflow.jobs.dask_executor import DaskOptions, run_boxes

    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        # distributed's INFO lines (here and in the worker processes, which inherit the environment)
        # would drown ours; dask reads this when distributed is first imported
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")

    args = [a for a in chain if a != "--"] if chain and chain[0] == "--" else list(chain)
    group_ctx, pieces = parse_chain(args)
    group_args = args[: len(args) - sum(len(consumed) for _n, consumed, _c in pieces)]
    if not pieces:
        raise InvalidParameterError("chunkflow run needs a chain after --, starting with generate-tasks")
    first_name, _consumed, first_ctx = pieces[0]
    if first_name in ("fetch-task", "fetch-task-from-sqs") or first_ctx.params.get("queue_name"):
        # checked before the source runs: generate-tasks -q would already have queued its tasks
        raise InvalidParameterError(
            f"chunkflow run takes its boxes from the chain's source, not a queue ({first_name} with a queue); "
            "drop --queue-name, or drain a queue with `chunkflow worker -p N -- fetch-task ...`"
        )
    source = _stages(pieces[:1])[0]
    if not source.is_source:
        raise InvalidParameterError(
            f"chunkflow run cuts boxes with the chain's first operator, but {pieces[0][0]!r} produces no tasks; "
            "start the chain with generate-tasks"
        )
    boxes = [task.bbox for task in source.produce()]
    if any(b is None for b in boxes):
        raise InvalidParameterError(
            f"{pieces[0][0]!r} produced tasks without a box; start the chain with generate-tasks"
        )
    if not boxes:
        raise InvalidParameterError(
            f"{pieces[0][0]!r} produced no boxes (with --queue-name they go to the queue instead)"
        )
    rest = pieces[1:]
    # leading skip-task-by-file markers are checked here: done boxes are never submitted
    markers = []
    for name, _consumed, _ctx in rest:
        if name != "skip-task-by-file":
            break
        markers.append(_stages([(name, _consumed, _ctx)])[0])

    def is_done(box: Any) -> bool:
        from chunkflow.task import Task

        task = Task(bbox=box)
        for stage in markers:
            stage.apply(task)
        return task.skip

    run_box = ChainOnBox(tuple(group_args) + tuple(a for _n, consumed, _c in rest for a in consumed))
    options = DaskOptions(
        address=address or None,
        cluster=cluster,
        workers=workers,
        threads_per_worker=threads_per_worker,
        memory_limit=memory_limit,
        retries=retries,
        gpus_per_worker=gpus_per_worker,
        dashboard_address=dashboard_address or None,
        cores=cores,
        memory=memory,
        walltime=walltime,
        queue=queue,
        account=account,
        jobs=jobs,
        job_extra=list(job_extra),
    )

    def announce(client: Any) -> None:
        link = client.dashboard_link if options.dashboard_address else None
        click.echo(
            f"chunkflow run: {len(boxes)} boxes on {client.scheduler.address}"
            + (f"; dashboard {link}" if link else ""),
            err=True,
        )

    report = run_boxes(
        boxes,
        run_box,
        options,
        is_done=is_done if markers else None,
        needs_gpu=any(name == "inference" for name, _a, _c in rest),
        on_client=announce,
    )
    click.echo(
        f"chunkflow run: {report.total} boxes: {report.done} done, {report.already_done} already done, "
        f"{len(report.failed)} failed ({report.seconds:.1f} s)",
        err=True,
    )
    if report.failed:
        for box, error in sorted(report.failed.items()):
            click.echo(f"failed {box}: {error}", err=True)
        raise ChunkflowError(
            f"{len(report.failed)} of {report.total} boxes failed after {retries} retries (listed above); "
            "fix the cause and rerun the same command (with skip-task-by-file/mark-complete only they run again)"
        )
