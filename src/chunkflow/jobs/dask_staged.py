"""Run a staged job (:mod:`chunkflow.jobs.staged`) on Dask: one cluster, stage after stage.

The same contract as ``run_local`` and ``run_queue``: each stage's *missing* tasks (no done marker)
run, one Dask task each, on a LocalCluster, a running scheduler or dask-jobqueue workers
(:class:`~chunkflow.jobs.dask_executor.DaskOptions`); the next stage starts when every task of this
one is done. A task retried ``options.retries`` times and still failing stops the job with one line
naming the stage and the boxes; a rerun does only what is missing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from chunkflow.errors import ChunkflowError
from chunkflow.geometry import BoundingBox
from chunkflow.jobs.dask_executor import DaskOptions, open_client, run_on_client
from chunkflow.jobs.staged import StagedJob, load_job, run_task

__all__ = ["run_job_on_dask", "StagedTask"]

log = logging.getLogger(__name__)

_JOBS: dict[str, StagedJob] = {}


@dataclass(frozen=True)
class StagedTask:
    """One task of a stage, run in a Dask worker from the job's manifest (loaded once per process)."""

    work_dir: str
    stage: str

    def __call__(self, item: str) -> bool:
        job = _JOBS.get(self.work_dir)
        if job is None:
            job = _JOBS[self.work_dir] = load_job(self.work_dir)
        return run_task(job, self.stage, None if item == "all" else BoundingBox.from_string(item))


def run_job_on_dask(job: StagedJob, options: DaskOptions) -> dict[str, float]:
    """Write the manifest, prepare the outputs, run every stage on Dask; returns seconds per stage."""
    job.validate()
    job.write_manifest()
    job.prepare()
    seconds: dict[str, float] = {}
    with open_client(options) as client:
        if options.dashboard_address is not None:
            log.info(
                "%s job %s on %s; dashboard %s", job.kind, job.job_id, client.scheduler.address, client.dashboard_link
            )
        for stage in job.stages:
            start = time.perf_counter()
            items = ["all" if t is None else str(t) for t in job.missing(stage)]
            if items:
                _done, failed = run_on_client(client, items, StagedTask(str(job.work_dir), stage), options.retries)
                if failed:
                    first = sorted(failed.items())[0]
                    raise ChunkflowError(
                        f"stage {stage} of {job.kind} job {job.job_id}: {len(failed)} task(s) failed after "
                        f"{options.retries} retries ({first[0]}: {first[1]}); fix the cause and rerun to resume"
                    )
            seconds[stage] = time.perf_counter() - start
            log.info(
                "%s job %s: stage %s done (%d tasks, %.1f s)", job.kind, job.job_id, stage, len(items), seconds[stage]
            )
    return seconds
