"""Worker processes of a staged job's local pool and of ``run --dask``'s LocalCluster get their share of the cores."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from chunkflow.threads import THREAD_ENV_VARS, thread_share

POOL = textwrap.dedent("""
    import os
    from chunkflow.jobs.agglomerate import AgglomerateJob
    from chunkflow.jobs.executors import LocalExecutor, _loaded_preloads
    import cloudvolume  # as the main process has after opening a precomputed volume

    executor = LocalExecutor(2)
    executor.open(AgglomerateJob.__new__(AgglomerateJob))  # open() needs only the job's module
    try:
        print(executor.pool.submit(os.getenv, "OMP_NUM_THREADS", "unset").result())
        print("cloudvolume" in executor.pool.submit(_loaded_preloads).result())
        print(os.environ.get("OMP_NUM_THREADS", "unset"))
    finally:
        executor.close()
""")


@pytest.mark.subprocess
@pytest.mark.parametrize("user_value", [None, "3"])
def test_local_pool_processes_get_their_share_and_the_loaded_modules(user_value):
    """A fresh interpreter (the forkserver is one per process): the pool's processes see cores / 2 threads
    (or the user's own value), fork with cloudvolume loaded, and the main process's environment is as before."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    if user_value:
        env["OMP_NUM_THREADS"] = user_value
    r = subprocess.run([sys.executable, "-c", POOL], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    pool_value, pool_has_cloudvolume, main_value = r.stdout.split()
    assert pool_value == (user_value or str(thread_share(2)))
    assert pool_has_cloudvolume == "True"
    assert main_value == (user_value or "unset")


@pytest.mark.slow
def test_local_dask_workers_get_their_share_and_quiet_timers():
    pytest.importorskip("distributed")
    from chunkflow.jobs.dask_executor import DaskOptions, open_client

    def settings() -> dict[str, object]:
        import os

        import dask

        return {
            "threads": {name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
            "tick": dask.config.get("distributed.admin.tick.interval"),
            "stealing": dask.config.get("distributed.scheduler.work-stealing"),
        }

    saved = {name: os.environ.get(name) for name in THREAD_ENV_VARS}
    for name in THREAD_ENV_VARS:
        os.environ.pop(name, None)
    try:
        with open_client(DaskOptions(workers=2, dashboard_address=None)) as client:
            seen = list(client.run(settings).values())
    finally:  # the nanny sets the pre-spawn variables in this process too
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    share = str(thread_share(2))
    assert len(seen) == 2
    for worker in seen:
        assert worker["threads"] == {"OMP_NUM_THREADS": share, "OPENBLAS_NUM_THREADS": share}
        assert worker["tick"] == "1s" and worker["stealing"] is False
