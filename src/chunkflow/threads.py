"""Native thread pools of worker processes: N processes on one machine each get their share of the cores.

numpy/scipy's BLAS (OpenBLAS, MKL), OpenMP runtimes (torch's intra-op pool, scikit-image, ...) and
numexpr size their thread pools once, from these environment variables, when they are first loaded;
by default each takes every core. Two worker processes on two cores would then run four or more
compute threads, which spin-wait and evict each other's caches. So whoever starts worker processes
(``worker -p``, ``run --dask``'s LocalCluster, a staged job's local pool) puts the share into each
process's environment before it starts, and a worker logs what it got (:func:`describe_limits`).
A variable the user set already is left alone: their setting wins.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from chunkflow.errors import ChunkflowError

__all__ = ["THREAD_ENV_VARS", "available_cores", "cpu_quota", "thread_share", "share_environ", "describe_limits"]

#: the variables native thread pools read at load time
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


#: where a container's CPU quota is (cgroup v2, then v1): a pod limited to 2 CPUs on a 64-core node sees
#: all 64 in its affinity, and pools sized to those would run 32x oversubscribed
CGROUP_QUOTA_FILES = (("/sys/fs/cgroup/cpu.max", None),
                      ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"))  # fmt: skip


def _read(path: str) -> str | None:
    from chunkflow import files

    try:
        data = files.maybe_read_bytes(path)
    except (OSError, ChunkflowError):  # unreadable: treated as no quota
        return None
    return data.decode(errors="replace").strip() if data is not None else None


def cpu_quota() -> int | None:
    """CPUs the cgroup quota allows (rounded up), or None where there is no quota."""
    for quota_file, period_file in CGROUP_QUOTA_FILES:
        text = _read(quota_file)
        if text is None:
            continue
        fields = text.split()
        period_text = _read(period_file) if period_file else (fields[1] if len(fields) > 1 else None)
        try:
            quota, period = int(fields[0]), int(period_text or "")
        except ValueError:  # "max": no quota
            return None
        return -(-quota // period) if quota > 0 and period > 0 else None
    return None


def available_cores() -> int:
    """The cores this process may use: its CPU affinity (taskset, container CPU sets), at most the
    container's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = cpu_quota()
    return min(cores, quota) if quota else cores


def thread_share(processes: int, threads_per_process: int = 1, cores: int | None = None) -> int:
    """Native threads each worker thread may use when ``processes`` processes of ``threads_per_process``
    threads share ``cores`` (default: :func:`available_cores`); at least 1."""
    cores = available_cores() if cores is None else cores
    return max(1, cores // max(1, processes * threads_per_process))


def share_environ(threads: int, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of :data:`THREAD_ENV_VARS` that ``environ`` (default ``os.environ``) does not set yet,
    each set to ``threads``: add them to a worker process's environment before it starts."""
    environ = os.environ if environ is None else environ
    return {name: str(threads) for name in THREAD_ENV_VARS if not environ.get(name)}


def describe_limits() -> str:
    """This process's native thread limits, one line for a worker's start-up log."""
    settings = ", ".join(f"{name}={os.environ[name]}" for name in THREAD_ENV_VARS if os.environ.get(name))
    text = f"{available_cores()} core(s); " + (settings or "native thread pools unlimited (one thread per core)")
    torch = sys.modules.get("torch")
    if torch is not None:
        text += f"; torch threads {torch.get_num_threads()}"
    return text
