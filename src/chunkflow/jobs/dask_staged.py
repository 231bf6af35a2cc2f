"""Run a staged job (:mod:`chunkflow.jobs.staged`) on Dask: the engine's Dask executor, by name.

The same contract as the local process pool and the queue (:func:`chunkflow.jobs.executors.run_job`):
each stage's missing tasks run, one Dask task each, on a LocalCluster, a running scheduler or
dask-jobqueue workers (:class:`~chunkflow.jobs.dask_executor.DaskOptions`).
"""

from __future__ import annotations

from typing import Any

from chunkflow.jobs.dask_executor import DaskOptions
from chunkflow.jobs.executors import StagedTask, run_job
from chunkflow.jobs.staged import StagedJob

__all__ = ["run_job_on_dask", "StagedTask"]


def run_job_on_dask(job: StagedJob, options: DaskOptions, **run_options: Any) -> dict[str, float]:
    """Check, write the manifest, prepare the outputs, run every stage on Dask; seconds per stage."""
    return run_job(job, dask=options, **run_options)
