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

__all__ = ["THREAD_ENV_VARS", "available_cores", "thread_share", "share_environ", "describe_limits"]

#: the variables native thread pools read at load time
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which taskset and container CPU sets narrow)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
