"""Run any staged job (:mod:`chunkflow.jobs.staged`): in this process, a local process pool, a queue, Dask.

:func:`run_job` is the one frontend. It checks everything first (the job's inputs and outputs, the work
dir, the queue's scheme, that the Dask scheduler answers) and writes nothing until every check has
passed; then it creates the manifest and the outputs and runs each stage's *missing* tasks (no done
marker) on an executor, the next stage only when every task of this one is done. After the last stage
it asks the job for its result (:meth:`~chunkflow.jobs.staged.StagedJob.finish`) and removes the work
dir unless asked to keep it. A job refused before its first task ran leaves nothing behind.

An executor is three calls: ``open(job)`` (after the checks; may start processes), ``run(job, stage,
tasks)`` (return when all are done, raise on failure) and ``close()``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from typing import Any

from chunkflow import files
from chunkflow.errors import (
    ChunkflowError,
    IncompatibleChunkError,
    InvalidParameterError,
    MissingChunkError,
    QueueError,
    VolumeFormatError,
    VolumeNotFoundError,
)
from chunkflow.jobs.staged import Box, Stage, StagedJob, job_target, load_job, run_task, task_message, worker_command
from chunkflow.threads import share_environ, thread_share

__all__ = ["run_job", "LocalExecutor", "QueueExecutor", "DaskExecutor", "check_work_dir_place", "StagedTask"]

log = logging.getLogger(__name__)


def _item(box: Box) -> str:
    return "all" if box is None else str(box)


def _box(item: str) -> Box:
    from chunkflow.geometry import BoundingBox

    return None if item == "all" else BoundingBox.from_string(item)


# ---- what a worker process runs ---------------------------------------------------------------------
_JOBS: dict[str, StagedJob] = {}


def _job_in_worker(work_dir: str, target: str) -> StagedJob:
    job = _JOBS.get(work_dir)
    if job is None:
        job = _JOBS[work_dir] = load_job(work_dir, target)
    return job


class StagedTask:
    """One task of a stage, run in a pool or Dask worker from the job's manifest (loaded once per process)."""

    def __init__(self, work_dir: str, stage: str, target: str) -> None:
        self.work_dir, self.stage, self.target = work_dir, stage, target

    def __call__(self, item: str) -> bool:
        return run_task(_job_in_worker(self.work_dir, self.target), self.stage, _box(item))


# ---- executors ---------------------------------------------------------------------------------------
#: modules a task needs that start no threads on import: where this process loaded them (checking the
#: job's volumes), the forkserver loads them once for all pool processes instead of each importing its
#: own copy (cloudvolume alone is 0.5 CPU s per process)
FORKSERVER_PRELOADS = ("cloudvolume", "chunkflow.volumes.precomputed", "chunkflow.volumes.sharded",
                       "chunkflow.segmentation.stitch", "chunkflow.segmentation.agglomerate", "waterz", "scipy.ndimage")  # fmt: skip


def _loaded_preloads() -> list[str]:
    return [name for name in FORKSERVER_PRELOADS if name in sys.modules]


def _start_forkserver(environ: dict[str, str]) -> None:
    """Start multiprocessing's forkserver (if not running yet) with ``environ`` added to its environment."""
    from multiprocessing import forkserver

    saved = {name: os.environ.get(name) for name in environ}
    os.environ.update(environ)
    try:
        forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class LocalExecutor:
    """``workers`` local processes (forkserver), or this process for one worker."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self.pool: Any = None

    def check(self, job: StagedJob) -> None:
        pass

    def open(self, job: StagedJob) -> None:
        if self.workers <= 1:
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # forkserver, not fork: tensorstore and torch run threads that a forked child would inherit broken
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([type(job).__module__, "numpy", "cc3d", "fastremap", *_loaded_preloads()])
        # the pool's processes fork from the forkserver, which loads numpy's BLAS (and whatever the
        # job imports) with the environment it starts with: each worker's share of the cores, not all
        _start_forkserver(share_environ(thread_share(self.workers)))
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)

    def run(self, job: StagedJob, stage: Stage, tasks: list[Box]) -> None:
        if self.pool is None:
            for task in tasks:
                run_task(job, stage.name, task)
            return
        function = StagedTask(job.work_dir, stage.name, job_target(type(job)))
        for future in [self.pool.submit(function, _item(t)) for t in tasks]:
            future.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


class QueueExecutor:
    """Send each stage's tasks to a queue and wait until it drains; optionally start local workers on it."""

    def __init__(
        self, queue_name: str, start_workers: int = 0, poll_s: float | None = None, timeout_s: float | None = None
    ) -> None:
        self.queue_name, self.start_workers, self.timeout_s = queue_name, start_workers, timeout_s
        self.poll_s = poll_s if poll_s is not None else (0.2 if queue_name.startswith("file://") else 1.0)
        self.queue: Any = None
        self.processes: list[subprocess.Popen[bytes]] = []

    def check(self, job: StagedJob) -> None:
        from chunkflow.queues.registry import DEFAULT_SCHEME, QUEUES

        scheme, sep, _ = self.queue_name.partition("://")
        if (scheme if sep else DEFAULT_SCHEME) not in QUEUES:
            known = ", ".join(f"{s}://" for s in QUEUES.names())
            raise QueueError(f"queue {self.queue_name!r} has an unknown scheme; use {known} (file:///path, sqs://NAME)")

    def open(self, job: StagedJob) -> None:
        from chunkflow.queues import open_queue

        self.queue = open_queue(self.queue_name)
        log.info("%s job %s: workers run `%s`", job.kind, job.job_id, worker_command(job, self.queue_name))

    def _spawn(self, job: StagedJob) -> None:
        command = [sys.executable, "-m", "chunkflow", "fetch-task", "-q", self.queue_name, "-r", "-1",
                   "--retry-interval", str(self.poll_s), "staged-task", "--job", job.work_dir, "delete-task-in-queue"]  # fmt: skip
        env = {**os.environ, **share_environ(thread_share(self.start_workers))}
        self.processes = [subprocess.Popen(command, env=env) for _ in range(self.start_workers)]
        log.info(
            "%s job %s: started %d local workers on %s", job.kind, job.job_id, len(self.processes), self.queue_name
        )

    def run(self, job: StagedJob, stage: Stage, tasks: list[Box]) -> None:
        if not tasks:
            return
        if self.start_workers and not self.processes:
            self._spawn(job)
        self.queue.send([task_message(job, stage.name, t) for t in tasks])
        log.info(
            "%s job %s: stage %s, %d tasks sent to %s", job.kind, job.job_id, stage.name, len(tasks), self.queue.name
        )
        if not self.processes:
            self.queue.wait_until_empty(poll_s=self.poll_s, timeout_s=self.timeout_s)
            return
        while True:
            counts = self.queue.counts()
            if counts.waiting == 0 and counts.in_flight == 0:
                return
            if all(p.poll() is not None for p in self.processes):
                raise QueueError(
                    f"every local worker on {self.queue_name} exited with tasks of stage {stage.name} left; "
                    "see their log above, then rerun to resume"
                )
            time.sleep(self.poll_s)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class DaskExecutor:
    """One Dask cluster (LocalCluster, a scheduler's address, dask-jobqueue) for every stage."""

    def __init__(self, options: Any) -> None:
        self.options = options
        self._client_cm: Any = None
        self.client: Any = None

    def check(self, job: StagedJob) -> None:
        """Start or reach the cluster now: an unreachable scheduler is refused before anything is written."""
        from chunkflow.jobs.dask_executor import open_client

        self._client_cm = open_client(self.options)
        self.client = self._client_cm.__enter__()

    def open(self, job: StagedJob) -> None:
        if self.client is not None and self.options.dashboard_address is not None:
            log.info(
                "%s job %s on %s; dashboard %s",
                job.kind,
                job.job_id,
                self.client.scheduler.address,
                self.client.dashboard_link,
            )

    def run(self, job: StagedJob, stage: Stage, tasks: list[Box]) -> None:
        from chunkflow.jobs.dask_executor import run_on_client

        if not tasks:
            return
        function = StagedTask(job.work_dir, stage.name, job_target(type(job)))
        _done, failed = run_on_client(self.client, [_item(t) for t in tasks], function, self.options.retries)
        if failed:
            first = sorted(failed.items())[0]
            raise ChunkflowError(
                f"stage {stage.name} of {job.kind} job {job.job_id}: {len(failed)} task(s) failed after "
                f"{self.options.retries} retries ({first[0]}: {first[1]}); fix the cause and rerun to resume"
            )

    def close(self) -> None:
        if self._client_cm is not None:
            self._client_cm.__exit__(None, None, None)
            self._client_cm = None


# ---- the frontend ------------------------------------------------------------------------------------
def check_work_dir_place(job: StagedJob) -> None:
    """Refuse a work dir that could not hold the job or whose removal would lose data: a file or below one,
    one that is (or holds, or lies in) an input or the output, or an existing non-empty directory that is
    not a work dir (no manifest): the job's scratch is deleted whole when it ends."""
    from chunkflow.jobs.outputs import same_place

    work_dir = job.work_dir
    for key in (*job.input_keys, *job.output_keys):
        url = job.params.get(key)
        if isinstance(url, str) and same_place(work_dir, url):
            raise InvalidParameterError(
                f"work dir {work_dir} overlaps the {key.removesuffix('_url')} {url}; its scratch is deleted when the "
                "job ends: give another --work-dir"
            )
    if files.is_local(work_dir):
        path = files.local_path(work_dir)
        for place in (path, *path.parents):
            if place.exists():
                if not place.is_dir():
                    what = "is a file" if place == path else f"lies below the file {place}"
                    raise InvalidParameterError(f"work dir {work_dir} {what}; give another --work-dir")
                break
    if not files.exists(files.join(work_dir, "manifest.json")) and next(iter(files.list_names(work_dir)), None):
        raise InvalidParameterError(
            f"work dir {work_dir} holds files but no job manifest: it is not a chunkflow work dir, and a job's "
            "scratch is deleted when it ends; give a new or empty --work-dir"
        )


def _executor(workers: int, queue_name: str | None, dask: Any, start_workers: int, **queue_options: Any) -> Any:
    if dask is not None and queue_name is not None:
        raise InvalidParameterError("--dask and --queue-name pick two places to run the stages; give one")
    if dask is not None:
        return DaskExecutor(dask)
    if queue_name is not None:
        return QueueExecutor(queue_name, start_workers, **queue_options)
    return LocalExecutor(workers)


def _undo(job: StagedJob, fresh: bool) -> None:
    """Remove what this run created (outputs, a fresh work dir) after a refusal."""
    from chunkflow.jobs.outputs import storage_url

    for url in job.created():
        files.delete_prefix(storage_url(url))
    if fresh:
        job.remove_work_dir()


def run_job(
    job: StagedJob,
    workers: int = 1,
    queue_name: str | None = None,
    prepare_only: bool = False,
    dask: Any = None,
    *,
    keep_work_dir: bool = False,
    overwrite: bool = False,
    start_workers: int = 0,
    **queue_options: Any,
) -> dict[str, float]:
    """Check, write the manifest, prepare the outputs, run every stage; seconds per stage.

    ``queue_name``: send the tasks to this queue for workers running
    ``chunkflow fetch-task -q QUEUE staged-task --job WORK_DIR delete-task-in-queue`` (``start_workers``:
    start that many here). ``dask``: a :class:`~chunkflow.jobs.dask_executor.DaskOptions`. Else
    ``workers`` local processes. ``prepare_only``: stop once the manifest, outputs and queue exist.
    ``keep_work_dir``: keep the scratch (done markers, work files, ``result.json``) after the job.
    ``overwrite``: replace an existing output that does not match instead of refusing.
    """
    job.overwrite = overwrite
    executor = _executor(workers, queue_name, dask, start_workers, **queue_options)
    job.validate()
    check_work_dir_place(job)
    if not (prepare_only and isinstance(executor, DaskExecutor) and not dask.address):
        executor.check(job)  # the last check: it may start a Dask cluster (not one only to prepare)
    try:
        fresh = not files.exists(files.join(job.work_dir, "manifest.json"))
        try:
            job.write_manifest()
            job.prepare()
            executor.open(job)
        except BaseException:
            _undo(job, fresh)
            raise
        if prepare_only:
            return {}
        return _run_stages(job, executor, fresh, keep_work_dir)
    finally:
        executor.close()


def _run_stages(job: StagedJob, executor: Any, fresh: bool, keep_work_dir: bool) -> dict[str, float]:
    seconds: dict[str, float] = {}
    ran_any = False
    for stage in job._stages():
        start = time.perf_counter()
        try:
            tasks = job.missing(stage.name)
        except ChunkflowError:
            if not ran_any:
                _undo(job, fresh)
            raise
        try:
            executor.run(job, stage, tasks)
        except ChunkflowError as exc:
            # the input refused by its tasks (NaN values, missing or corrupt blocks): nothing worth resuming
            refused = isinstance(
                exc,
                (
                    InvalidParameterError,
                    IncompatibleChunkError,
                    VolumeFormatError,
                    MissingChunkError,
                    VolumeNotFoundError,
                ),
            )
            if refused and fresh:
                _undo(job, True)
            elif not ran_any and len(job.missing(stage.name, verify=False)) == len(tasks):
                _undo(job, fresh)  # nothing done by this run: remove what it created
            raise
        ran_any = ran_any or bool(tasks)
        left = job.missing(stage.name, verify=False)
        if left:
            raise QueueError(
                f"stage {stage.name} of job {job.job_id}: {len(left)} task(s) not done (e.g. {left[0]}); check the "
                f"workers' logs (they run `staged-task --job {job.work_dir}`), then rerun the command to resume"
            )
        seconds[stage.name] = time.perf_counter() - start
        log.info(
            "%s job %s: stage %s done (%d tasks, %.1f s)",
            job.kind,
            job.job_id,
            stage.name,
            len(tasks),
            seconds[stage.name],
        )
    job.result = job.finish()
    if keep_work_dir:
        files.write_json(job.work_url("result.json"), job.result)
    else:
        job.remove_work_dir()
    return seconds
