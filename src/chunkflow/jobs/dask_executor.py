"""Run one function per task box on Dask: a LocalCluster, an existing scheduler, or an HPC cluster.

The orchestration only: which cluster, submission with retries and resources, done/failed
bookkeeping, progress, and the report by box. What runs on a box is a picklable callable given by
the caller (``chunkflow run`` passes the rest of its chain), so this module knows nothing about
operators. Dask (``distributed``, and ``dask-jobqueue`` for ``--cluster``) is imported only here,
inside functions: ``pip install 'chunkflow[dask]'``.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox
from chunkflow.threads import THREAD_ENV_VARS, available_cores, thread_share

__all__ = [
    "DaskOptions",
    "RunReport",
    "JOBQUEUE_CLUSTERS",
    "open_client",
    "jobqueue_cluster",
    "run_boxes",
    "run_on_client",
]

log = logging.getLogger(__name__)

#: --cluster value -> dask_jobqueue class name
JOBQUEUE_CLUSTERS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "lsf": "LSFCluster", "sge": "SGECluster"}


@dataclass
class DaskOptions:
    """Where and how to run. ``address`` set: an existing scheduler; else ``cluster`` decides."""

    address: str | None = None
    cluster: str = "local"
    workers: int | None = None  # local: worker processes (default: CPU count); jobqueue: processes per job
    threads_per_worker: int = 1
    memory_limit: str = "auto"  # per worker, e.g. "4GiB"; "auto" = machine memory / workers
    retries: int = 2
    gpus_per_worker: int = 0  # advertised as the GPU resource; GPU tasks request GPU=1 each
    dashboard_address: str | None = ":8787"
    connect_timeout_s: float = 10.0  # to reach an existing scheduler
    # dask-jobqueue (--cluster slurm|pbs|lsf|sge): one job = `cores` cores and `memory` for `workers` processes
    cores: int | None = None
    memory: str | None = None
    walltime: str | None = None
    queue: str | None = None
    account: str | None = None
    jobs: int = 1
    job_extra: list[str] = field(default_factory=list)
    log_directory: str | None = None


@dataclass
class RunReport:
    total: int
    already_done: int = 0
    done: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # box -> last error, one line
    seconds: float = 0.0
    dashboard: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def jobqueue_cluster(options: DaskOptions) -> Any:
    """The dask-jobqueue cluster for ``options.cluster`` (not yet scaled: ``job_script()`` shows what it submits)."""
    if options.cluster not in JOBQUEUE_CLUSTERS:
        raise InvalidParameterError(
            f"--cluster {options.cluster!r} is not one of local, {', '.join(JOBQUEUE_CLUSTERS)}"
        )
    if options.cores is None or options.memory is None:
        raise InvalidParameterError(
            f"--cluster {options.cluster} needs --cores and --memory (per job, e.g. --cores 8 --memory 32GiB)"
        )
    import dask_jobqueue

    kwargs: dict[str, Any] = {
        "cores": options.cores,
        "memory": options.memory,
        "processes": options.workers or 1,
        "job_extra_directives": list(options.job_extra),
        "dashboard_address": options.dashboard_address,
    }
    for name in ("walltime", "queue", "account", "log_directory"):
        value = getattr(options, name)
        if value is not None:
            kwargs[name] = value
    if options.cluster == "sge" and "account" in kwargs:
        kwargs["project"] = kwargs.pop("account")  # SGE calls it a project
    if options.gpus_per_worker:
        kwargs["worker_extra_args"] = ["--resources", f"GPU={options.gpus_per_worker}"]
    cluster_class = getattr(dask_jobqueue, JOBQUEUE_CLUSTERS[options.cluster])
    return cluster_class(**kwargs)


def _preload_forkserver() -> None:
    from distributed.utils import get_mp_context

    context = get_mp_context()  # sets distributed's own preload list once; ours replaces it before the start
    context.set_forkserver_preload(["distributed", "numpy", "chunkflow.pipeline", "chunkflow.cli"])


@contextmanager
def open_client(options: DaskOptions) -> Iterator[Any]:
    """A ``distributed.Client`` on the cluster the options name; closes what it started."""
    from distributed import Client, LocalCluster

    if options.address:
        try:
            client = Client(options.address, timeout=options.connect_timeout_s)
        except (OSError, TimeoutError) as exc:
            raise InvalidParameterError(
                f"cannot reach the Dask scheduler at {options.address} ({type(exc).__name__}); start one "
                "(`dask scheduler`) or leave out the address for a LocalCluster"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    if options.cluster == "local":
        import dask

        workers = options.workers or available_cores()
        # forkserver: worker processes fork from one process that imported distributed, numpy and the
        # chain runner once, instead of each importing them (spawn): 2-3 s less start-up on 2 cores.
        # No MALLOC_TRIM_THRESHOLD_ (dask sets 64 KiB): setting it turns off glibc's adaptive mmap
        # threshold, so every chunk-sized array is a fresh mmap and page-faults again; the benchmark's
        # CPU-bound boxes ran ~1.5-2x slower per box with it. Native thread pools (BLAS, OpenMP, torch)
        # get each worker thread's share of the cores, set before the forkserver loads numpy and passed
        # on by the nanny to each worker for what its boxes load later (a variable the user set wins)
        threads = {name: thread_share(workers, options.threads_per_worker) for name in THREAD_ENV_VARS}
        config = {
            "distributed.worker.multiprocessing-method": "forkserver",
            "distributed.nanny.pre-spawn-environ": threads,
            # the statistical profiler samples the box's thread every 10 ms (GIL hand-offs) for a
            # dashboard page chunkflow does not need
            "distributed.worker.profile.enabled": False,
            # an idle 2-worker LocalCluster spent 6.7% of a core on its own timers (CPU that two busy
            # workers on two cores lose), 1.6% with these: the 20 ms event-loop tick in the scheduler,
            # each nanny and each worker (it only measures loop latency), work stealing every 100 ms
            # (boxes are independent and queued at the scheduler: nothing to steal), the 0.5 s system
            # monitor (dashboard plots) and the 100 ms memory polls (a box's memory is bounded by the box)
            "distributed.admin.tick.interval": "1s",
            "distributed.scheduler.work-stealing": False,
            "distributed.admin.system-monitor.interval": "2s",
            "distributed.worker.memory.monitor-interval": "500ms",
        }
        with dask.config.set(config):
            _preload_forkserver()
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=options.threads_per_worker,
                processes=True,
                memory_limit=options.memory_limit,
                dashboard_address=options.dashboard_address,
                resources={"GPU": options.gpus_per_worker} if options.gpus_per_worker else None,
            )
    else:
        cluster = jobqueue_cluster(options)
        submit = cluster.job_cls.submit_command
        if shutil.which(submit) is None:  # else the jobs fail in the background and the run waits forever
            cluster.close()
            raise InvalidParameterError(
                f"--cluster {options.cluster} submits worker jobs with {submit}, which is not on PATH here; "
                "run chunkflow run on a login node of that cluster"
            )
        cluster.scale(jobs=options.jobs)
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Progress:
    """A tqdm bar on a terminal; elsewhere a log line every ``interval`` seconds with done/failed/ETA."""

    def __init__(self, total: int, interval: float = 10.0) -> None:
        self.total, self.interval = total, interval
        self.start = self.last = time.monotonic()
        self.done = self.failed = 0
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="box", file=sys.stderr)

    def update(self, ok: bool) -> None:
        self.done += ok
        self.failed += not ok
        if self.bar is not None:
            self.bar.update(1)
            if not ok:
                self.bar.set_postfix(failed=self.failed)
            return
        now = time.monotonic()
        finished = self.done + self.failed
        if now - self.last >= self.interval or finished == self.total:
            self.last = now
            rate = finished / max(now - self.start, 1e-9)
            eta = (self.total - finished) / rate if rate else float("inf")
            log.info(
                "boxes done %d/%d, failed %d, %.1f boxes/s, eta %.0f s", self.done, self.total, self.failed, rate, eta
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _has_gpu_workers(client: Any) -> bool:
    workers = client.scheduler_info().get("workers", {})
    return any(w.get("resources", {}).get("GPU", 0) > 0 for w in workers.values())


def run_on_client(
    client: Any,
    items: Sequence[str],
    function: Callable[[str], Any],
    retries: int,
    resources: dict[str, float] | None = None,
) -> tuple[int, dict[str, str]]:
    """``function(item)`` for each item as one Dask task (retried); returns (done count, {item: error})."""
    from distributed import as_completed

    run_id = uuid.uuid4().hex[:8]
    futures = client.map(
        function,
        list(items),
        key=[f"box-{item}-{run_id}" for item in items],
        retries=retries,
        resources=resources,
        pure=False,
    )
    item_of = {f.key: item for f, item in zip(futures, items)}
    done = 0
    failed: dict[str, str] = {}
    progress = _Progress(len(items))
    try:
        for future in as_completed(futures):
            ok = future.status == "finished"
            if ok:
                done += 1
            else:
                failed[item_of[future.key]] = error = _one_line(future.exception())
                log.warning("box %s failed after %d retries: %s", item_of[future.key], retries, error)
            progress.update(ok)
            future.release()
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        progress.close()
    return done, failed


def run_boxes(
    boxes: Sequence[BoundingBox],
    run_box: Callable[[str], Any],
    options: DaskOptions,
    *,
    is_done: Callable[[BoundingBox], bool] | None = None,
    needs_gpu: bool = False,
    on_client: Callable[[Any], None] | None = None,
) -> RunReport:
    """Run ``run_box(str(box))`` for each box not yet done, one Dask task per box.

    Parameters
    ----------
    run_box : picklable callable, called in a worker process with the box's string
        (``z0-z1_y0-y1_x0-x1``); raising fails the try, retried ``options.retries`` times.
    is_done : checked here for each box first (done markers): done boxes are not submitted.
    needs_gpu : request one ``GPU`` resource per task when the cluster's workers advertise GPUs.
    on_client : called with the ``distributed.Client`` once it is up (the dashboard link, tests).
    """
    start = time.monotonic()
    report = RunReport(total=len(boxes))
    todo = [b for b in boxes if not (is_done and is_done(b))]
    report.already_done = len(boxes) - len(todo)
    if not todo:
        report.seconds = time.monotonic() - start
        return report
    with open_client(options) as client:
        report.dashboard = client.dashboard_link if options.dashboard_address is not None else None
        if on_client is not None:
            on_client(client)
        resources: dict[str, float] | None = {"GPU": 1} if needs_gpu and _has_gpu_workers(client) else None
        report.done, report.failed = run_on_client(client, [str(b) for b in todo], run_box, options.retries, resources)
    report.seconds = time.monotonic() - start
    return report
