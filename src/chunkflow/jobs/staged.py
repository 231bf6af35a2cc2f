"""Staged jobs: stages of independent block tasks, a manifest, done markers, two executors.

A job (:class:`StagedJob`) is a kind (``global-cc``, ``agglomerate``), parameters (volumes,
block size, thresholds) and a work directory. Its stages run in order; the tasks of one stage are
independent (a block box, or ``None`` for a one-task stage). The frontend (:func:`run_job`):

1. writes the **manifest** ``<work_dir>/manifest.json`` (kind, job id, parameters) — the job id is
   a hash of kind and parameters, so a rerun with the same parameters is the same job;
2. prepares the outputs (volumes created whole before any worker writes);
3. runs each stage's *missing* tasks — those without a done marker
   ``<work_dir>/done/<stage>/<box>`` — in local processes (:func:`run_local`) or through a queue
   (:func:`run_queue`); a rerun after a crash does only what is missing.

A queue message names work, never places: ``{"bbox": ..., "job": JOB_ID, "stage": STAGE}``. The
worker reads volumes and parameters from the manifest it was pointed at on its own command line
(``chunkflow fetch-task -q Q staged-task --job WORK_DIR delete-task-in-queue``) and refuses a
message of another job, an unknown stage, a box that is not one of the job's tasks, or any extra
field (:func:`run_message` raises :class:`ForeignTaskError`; the worker releases it and the queue
dead-letters it after its receive limit).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from chunkflow.errors import InvalidParameterError, QueueError
from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.queues.messages import PoisonMessageError
from chunkflow.volumes.base import atomic_path, local_path

__all__ = ["StagedJob", "ForeignTaskError", "load_job", "run_job", "run_local", "run_queue", "run_message",
           "run_task", "task_message", "JOB_KINDS", "manifest_path", "worker_command"]  # fmt: skip

log = logging.getLogger(__name__)

#: job kind -> "module:class"; the manifest's ``kind`` picks the class
JOB_KINDS = {
    "global-cc": "chunkflow.jobs.global_cc:GlobalCCJob",
    "agglomerate": "chunkflow.jobs.agglomerate:AgglomerateJob",
}


class ForeignTaskError(PoisonMessageError):
    """A task message that does not belong to the job this worker runs."""


def manifest_path(work_dir: str | os.PathLike[str]) -> Path:
    return Path(work_dir) / "manifest.json"


class StagedJob(ABC):
    """A job of ordered stages over the blocks of a volume; subclasses define the stages."""

    kind: ClassVar[str]
    stages: ClassVar[tuple[str, ...]]
    #: stages with a single task (``None`` box); the rest have one task per block
    single_task_stages: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: dict[str, Any], work_dir: str) -> None:
        self.params = params
        self.work_dir = local_path(str(work_dir))
        self._cache: dict[str, Any] = {}

    # ---- identity and manifest ------------------------------------------------------------
    @property
    def job_id(self) -> str:
        text = json.dumps({"kind": self.kind, "params": self.params}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def manifest(self) -> dict[str, Any]:
        return {"kind": self.kind, "job_id": self.job_id, "params": self.params, "stages": list(self.stages)}

    def write_manifest(self) -> Path:
        """Write ``manifest.json``; refuse a work dir that holds a different job."""
        path = manifest_path(self.work_dir)
        if path.exists():
            old = json.loads(path.read_text())
            if old.get("job_id") != self.job_id:
                raise InvalidParameterError(
                    f"work dir {self.work_dir} holds job {old.get('job_id')} with other parameters ({old.get('params')}); "
                    "use another --work-dir or delete that one"
                )
            return path
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.manifest(), indent=1, sort_keys=True))
        return path

    # ---- geometry -------------------------------------------------------------------------
    @property
    @abstractmethod
    def bbox(self) -> BoundingBox:
        """The region the job covers."""

    @property
    def block_size(self) -> Vec3:
        return Vec3.of(self.params["block_size"])

    def blocks(self) -> list[BoundingBox]:
        return self.bbox.split(self.block_size)

    def block_index(self, block: BoundingBox) -> int:
        grid = (block.start - self.bbox.start) // self.block_size
        shape = self.bbox.size.ceildiv(self.block_size)
        return (grid.z * shape.y + grid.y) * shape.x + grid.x

    def grid_shape(self) -> Vec3:
        return self.bbox.size.ceildiv(self.block_size)

    def block_at(self, grid: Vec3) -> BoundingBox | None:
        if any(g < 0 or g >= s for g, s in zip(grid, self.grid_shape())):
            return None
        start = self.bbox.start + grid * self.block_size
        return BoundingBox(start, (start + self.block_size).minimum(self.bbox.stop))

    def is_block(self, bbox: BoundingBox) -> bool:
        if not self.bbox.contains(bbox):
            return False
        grid = (bbox.start - self.bbox.start) // self.block_size
        return self.block_at(grid) == bbox

    def tasks(self, stage: str) -> list[BoundingBox | None]:
        return [None] if stage in self.single_task_stages else list(self.blocks())

    def is_task(self, stage: str, bbox: BoundingBox | None) -> bool:
        if stage in self.single_task_stages:
            return bbox is None
        return bbox is not None and self.is_block(bbox)

    # ---- work -----------------------------------------------------------------------------
    def validate(self) -> None:
        """Check the inputs (open them) before anything is written; raise a one-line error."""
        if self.bbox.volume == 0:
            raise InvalidParameterError(f"{self.kind} job: the input volume is empty ({self.bbox})")

    def prepare(self) -> None:
        """Create outputs and work directories (frontend only, before any task)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)

    @abstractmethod
    def run(self, stage: str, bbox: BoundingBox | None) -> None:
        """Run one task; idempotent (a repeat writes the same bytes)."""

    def done_marker(self, stage: str, bbox: BoundingBox | None) -> Path:
        return self.work_dir / "done" / stage / ("all" if bbox is None else str(bbox))

    def is_done(self, stage: str, bbox: BoundingBox | None) -> bool:
        return self.done_marker(stage, bbox).exists()

    def missing(self, stage: str) -> list[BoundingBox | None]:
        return [t for t in self.tasks(stage) if not self.is_done(stage, t)]


def load_job(where: str | os.PathLike[str]) -> StagedJob:
    """The job of a manifest: a path or ``file://`` URL of ``manifest.json`` or of its work dir."""
    path = local_path(str(where))
    if path.is_dir():
        path = manifest_path(path)
    try:
        data = json.loads(path.read_text())
        kind, params = data["kind"], data["params"]
        module, attr = JOB_KINDS[kind].split(":")
    except FileNotFoundError:
        raise InvalidParameterError(
            f"no job manifest at {path}; the frontend writes it (e.g. agglomerate-volume)"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidParameterError(
            f"job manifest {path} is not valid ({type(exc).__name__}: {exc}); rerun the frontend"
        ) from None
    job: StagedJob = getattr(importlib.import_module(module), attr)(params, str(path.parent))
    if data.get("job_id") != job.job_id:
        raise InvalidParameterError(
            f"job manifest {path} names job {data.get('job_id')} but its parameters make {job.job_id}"
        )
    return job


def run_task(job: StagedJob, stage: str, bbox: BoundingBox | None) -> bool:
    """Run one task unless its done marker exists; returns whether it ran."""
    marker = job.done_marker(stage, bbox)
    if marker.exists():
        return False
    start = time.perf_counter()
    job.run(stage, bbox)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    log.debug("%s %s %s: %.2f s", job.kind, stage, bbox, time.perf_counter() - start)
    return True


def task_message(job: StagedJob, stage: str, bbox: BoundingBox | None) -> str:
    from chunkflow.queues.messages import encode

    return encode(bbox, job=job.job_id, stage=stage)


def run_message(job: StagedJob, bbox: BoundingBox | None, params: dict[str, Any]) -> bool:
    """Run a queue message's task after checking it belongs to ``job``; refuse anything else."""
    where = f"(worker job {job.job_id}, manifest {manifest_path(job.work_dir)})"
    extra = sorted(set(params) - {"job", "stage"})
    if extra:
        raise ForeignTaskError(f"task message has fields {extra} a staged task never carries {where}; refused")
    if params.get("job") != job.job_id:
        raise ForeignTaskError(f"task message names job {params.get('job')!r}, not this worker's {where}; refused")
    stage = params.get("stage")
    if stage not in job.stages:
        raise ForeignTaskError(
            f"task message names stage {stage!r}, not one of {', '.join(job.stages)} {where}; refused"
        )
    if not job.is_task(stage, bbox):
        raise ForeignTaskError(f"task message box {bbox} is not a task of stage {stage} {where}; refused")
    return run_task(job, stage, bbox)


# ---- executors ----------------------------------------------------------------------------
_JOBS: dict[str, StagedJob] = {}


def _run_in_worker(work_dir: str, stage: str, bbox: str | None) -> None:
    job = _JOBS.get(work_dir)
    if job is None:
        job = _JOBS[work_dir] = load_job(work_dir)
    run_task(job, stage, None if bbox is None else BoundingBox.from_string(bbox))


def run_local(job: StagedJob, workers: int = 1, stages: Sequence[str] | None = None) -> dict[str, float]:
    """Run the missing tasks of each stage in ``workers`` local processes; seconds per stage."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    seconds: dict[str, float] = {}
    if workers <= 1:
        for stage in stages or job.stages:
            start = time.perf_counter()
            for task in job.missing(stage):
                run_task(job, stage, task)
            seconds[stage] = time.perf_counter() - start
        return seconds
    # forkserver, not fork: tensorstore and torch run threads that a forked child would inherit broken
    context = multiprocessing.get_context("forkserver")
    # the server imports what every task needs once (not tensorstore or zarr: no gain measured, and threads)
    preload = [JOB_KINDS[job.kind].split(":")[0], "numpy", "cc3d", "fastremap"]
    context.set_forkserver_preload(preload)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for stage in stages or job.stages:
            start = time.perf_counter()
            tasks = job.missing(stage)
            futures = [
                pool.submit(_run_in_worker, str(job.work_dir), stage, None if t is None else str(t)) for t in tasks
            ]
            for future in futures:
                future.result()
            seconds[stage] = time.perf_counter() - start
            log.info(
                "%s job %s: stage %s done (%d tasks, %.1f s)", job.kind, job.job_id, stage, len(tasks), seconds[stage]
            )
    return seconds


def run_queue(
    job: StagedJob, queue_name: str, poll_s: float | None = None, timeout_s: float | None = None
) -> dict[str, float]:
    """Send each stage's missing tasks to a queue and wait until workers have done them all.

    A stage is finished when the queue has nothing waiting or in flight; it succeeded when every
    task left its done marker (a message of another job that dies in the same queue is not ours).
    """
    from chunkflow.queues import open_queue

    queue = open_queue(queue_name)
    if poll_s is None:  # a file queue is polled with a few stats; SQS requests cost money
        poll_s = 0.2 if queue_name.startswith("file://") else 1.0
    seconds: dict[str, float] = {}
    for stage in job.stages:
        start = time.perf_counter()
        bodies = [task_message(job, stage, t) for t in job.missing(stage)]
        if bodies:
            queue.send(bodies)
            log.info("%s job %s: stage %s, %d tasks sent to %s", job.kind, job.job_id, stage, len(bodies), queue.name)
            queue.wait_until_empty(poll_s=poll_s, timeout_s=timeout_s)
        left = job.missing(stage)
        if left:
            raise QueueError(
                f"stage {stage} of job {job.job_id}: {len(left)} task(s) not done after the queue {queue_name} drained "
                f"(e.g. {left[0]}; {queue.counts().dead} dead letters there); check the workers' logs and that they run "
                f"`staged-task --job {job.work_dir}`, then `chunkflow queue requeue-dead` or rerun to resume"
            )
        seconds[stage] = time.perf_counter() - start
        log.info("%s job %s: stage %s done (%.1f s)", job.kind, job.job_id, stage, seconds[stage])
    return seconds


def worker_command(job: StagedJob, queue_name: str) -> str:
    """The worker chain that consumes this job's tasks."""
    return f"chunkflow fetch-task -q {queue_name} staged-task --job {job.work_dir} delete-task-in-queue"


def run_job(job: StagedJob, workers: int = 1, queue_name: str | None = None, prepare_only: bool = False,
            dask: Any = None, **queue_options: Any) -> dict[str, float]:  # fmt: skip
    """Write the manifest, prepare the outputs (and the queue), run every stage; seconds per stage.

    ``prepare_only``: stop after the manifest, the outputs and the queue exist (workers can start).
    ``dask``: a :class:`chunkflow.jobs.dask_executor.DaskOptions`: run the stages on Dask instead.
    """
    if dask is not None and not prepare_only:
        from chunkflow.jobs.dask_staged import run_job_on_dask

        return run_job_on_dask(job, dask)
    job.validate()
    job.write_manifest()
    job.prepare()
    if queue_name is not None:
        from chunkflow.queues import open_queue

        open_queue(queue_name)
        log.info("%s job %s: workers run `%s`", job.kind, job.job_id, worker_command(job, queue_name))
    if prepare_only:
        return {}
    if queue_name is not None:
        return run_queue(job, queue_name, **queue_options)
    return run_local(job, workers)
