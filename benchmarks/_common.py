"""Helpers shared by the benchmarks: whole-process timing with peak RSS, JSON lines, medians."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

_WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter(); r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "wall = time.perf_counter() - t\n"
    "print(json.dumps({'wall_s': wall, 'peak_mib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,"
    " 'rc': r.returncode, 'stderr': r.stderr.decode()[-500:]}))\n"
)


def run_process(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Wall seconds and peak RSS (MiB) of one whole process."""
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *cmd],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    )
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"{cmd} failed: {result['stderr']}")
    return result


def median_process(cmd: list[str], repeat: int = 5, warmup: int = 1, **kw: Any) -> dict[str, float]:
    for _ in range(warmup):
        run_process(cmd, **kw)
    runs = [run_process(cmd, **kw) for _ in range(repeat)]
    return {
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "wall_min_s": min(r["wall_s"] for r in runs),
        "peak_mib": max(r["peak_mib"] for r in runs),
    }


def timeit(fn: Callable[[], Any], repeat: int = 5, warmup: int = 1) -> float:
    """Median seconds of ``fn()``."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_ratio(ours: Callable[[], Any], bare: Callable[[], Any], repeat: int = 5) -> dict[str, float]:
    """Median of per-pair ratios ours/bare, run alternately so drift cancels."""
    ours()
    bare()
    ratios, t_ours, t_bare = [], [], []
    for _ in range(repeat):
        a = time.perf_counter()
        ours()
        b = time.perf_counter()
        bare()
        c = time.perf_counter()
        t_ours.append(b - a)
        t_bare.append(c - b)
        ratios.append((b - a) / (c - b))
    return {
        "ours_s": statistics.median(t_ours),
        "bare_s": statistics.median(t_bare),
        "ratio": statistics.median(ratios),
    }


def emit(**record: Any) -> None:
    print(json.dumps(record), flush=True)


# benchmarks/queue.py is named after its issue; with this folder on sys.path it would shadow the
# stdlib `queue` (concurrent.futures imports it). Every script imports this module first: from here
# on, imports resolve without this folder.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
