"""Parallel speed-up with 2 processes on a 2-core machine (issue 23 item 4); prints JSON lines.

Three CPU-bound jobs, each sized to take at least a minute in one process on a quiet 2-core machine
(the defaults), run with one process and with two, side by side in one run of this script (best of
``--rounds`` runs, alternating order, since a shared machine's load drifts):

- ``worker -p 2`` on a file queue vs ``worker -p 1``: a chain that makes a 64x256x256 random chunk and
  smooths it (``--passes`` 3D Gaussians, scipy; 12 passes ~ 1 CPU s) per task, ``--tasks`` tasks;
- ``run --dask --workers 2`` vs ``--workers 1``: the same chain;
- ``agglomerate-volume --workers 2`` vs ``--workers 1``: seam-free watershed + agglomeration of
  affinities made from the packaged PINKY40 labels (128x256x256, tiled ``--tiles`` times along x;
  ~0.35-0.45 CPU us per voxel, so 20 tiles ~ 60-75 CPU s).

Each chain figure is reported whole (start-up included) and after start-up (a 1-task run of the same
kind subtracted), and the machine's load average is printed next to it. Target: speed-up >= 1.8x.

Wall time means little on a shared machine, so every run is also charged its CPU seconds: the user +
system time of the whole process tree (this script is made a child subreaper, so worker processes that
outlive their parent -- Dask's, a forkserver -- are reaped and counted here too), the most threads any
process of the tree had, and for the two chain jobs the CPU seconds of the Gaussians themselves per task
(``kernel``, timed with ``thread_time`` in the plugin), how many kernels ran at once on average
(``kernel_concurrency``: 2 when both processes were busy all along) and the share of their wall time they
were on a core (``kernel_on_cpu``: 1 on a quiet machine, the load's toll below). ``cpu_bound_speedup_limit`` = 2 x CPU(one) /
CPU(two) is what 2 cores could give if nothing else were running: below 1.8 the lost share is CPU the
two-process run spends that the one-process run does not (start-up, scheduler, queue polling, threads
fighting over cores), whatever the load. ``dask_idle`` reports the CPU an idle 2-worker LocalCluster
spends on its own timers (share of a core), which two busy workers lose for the whole run;
``blas_threads`` runs ``worker -p 2`` on a matmul chain with each process's BLAS pool at its share of the
cores (the default now) and at every core (numpy's own default), CPU seconds side by side.

Small check: ``--tasks 4 --tiles 1 --passes 1``; full size: the defaults.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402

CF = [sys.executable, "-m", "chunkflow"]
KERNEL_LOG = "CHUNKFLOW_BENCH_KERNEL_LOG"
WORK_PLUGIN = (
    "import os, time\nimport numpy as np\nfrom scipy.ndimage import gaussian_filter\n"
    "def execute(chunk, passes=1):\n"
    "    start, wall = time.thread_time(), time.time()\n"
    "    smooth = chunk.array.astype('float32')\n"
    "    for _ in range(passes):\n"
    "        smooth = gaussian_filter(smooth, 2.0)\n"
    f"    log = os.environ.get({KERNEL_LOG!r})\n"
    "    if log:\n"
    "        with open(log, 'a') as f:\n"
    "            f.write(f'{time.thread_time() - start} {wall} {time.time()}\\n')\n"
)
_SUBREAPER = False


def _become_subreaper() -> None:
    """Orphaned descendants are re-parented to this process (and their CPU time lands in RUSAGE_CHILDREN)."""
    global _SUBREAPER
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        _SUBREAPER = libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER


def _reap_orphans(timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)
    print(f"warning: descendants still running {timeout_s:.0f} s after their root exited", file=sys.stderr)


class _ThreadSampler:
    """The most threads any process of a tree had, sampled every 0.1 s."""

    def __init__(self, pid: int) -> None:
        self.pid, self.max_threads, self.processes = pid, 0, set[int]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.1):
            try:
                root = psutil.Process(self.pid)
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for process in tree:
                try:
                    self.max_threads = max(self.max_threads, process.num_threads())
                    self.processes.add(process.pid)
                except psutil.Error:
                    pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Wall and CPU seconds (user + sys of the whole process tree) of one command; its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )
    sampler = _ThreadSampler(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    sampler.stop()
    _reap_orphans()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {
        "wall_s": wall,
        "cpu_s": user + system,
        "user_s": user,
        "sys_s": system,
        "stdout": out,
        "max_threads": sampler.max_threads,
        "processes": len(sampler.processes),
    }


def _kernel(run: Any, tmp: str) -> Any:
    """Wrap a chain run: its Gaussian's CPU seconds (sum over tasks) from the plugin's log."""

    def go(n: int) -> dict[str, Any]:
        fd, log = tempfile.mkstemp(dir=tmp)
        os.close(fd)
        result = run(n, {KERNEL_LOG: log})
        with open(log) as f:
            rows = [tuple(map(float, line.split())) for line in f if line.strip()]
        if len(rows) != n:
            raise RuntimeError(f"{n} tasks asked, {len(rows)} ran")
        busy = sum(stop - begin for _cpu, begin, stop in rows)
        result["kernel_cpu_s"] = sum(cpu for cpu, _begin, _stop in rows)
        # kernels running at once on average between the first start and the last end (2: both processes
        # busy all along), and the share of their wall time they were on a core (1 on a quiet machine)
        result["kernel_concurrency"] = busy / max(max(r[2] for r in rows) - min(r[1] for r in rows), 1e-9)
        result["kernel_on_cpu"] = result["kernel_cpu_s"] / max(busy, 1e-9)
        return result

    return go


def chain_jobs(tmp: str, tasks: int, passes: int) -> dict[str, dict[str, Any]]:
    from chunkflow.queues import open_queue

    plugin = os.path.join(tmp, "work.py")
    with open(plugin, "w") as f:
        f.write(WORK_PLUGIN)
    work = ["create-chunk", "-p", "random", "plugin", "-f", plugin, "-i", "chunk", "-a", f"passes={passes}"]

    def boxes(n: int) -> list[str]:
        return [f"0-64_0-256_{x}-{x + 256}" for x in range(0, n * 256, 256)]

    def worker(processes: int):
        def run(n: int, env: dict[str, str]) -> dict[str, Any]:
            queue = f"file://{tempfile.mkdtemp(dir=tmp)}/q"
            open_queue(queue).send(boxes(n))
            return measure(
                [
                    *CF,
                    "worker",
                    "-p",
                    str(processes),
                    "--",
                    "fetch-task",
                    "-q",
                    queue,
                    "-r",
                    "0",
                    *work,
                    "delete-task-in-queue",
                ],
                env,
            )

        return _kernel(run, tmp)

    def dask(workers: int):
        def run(n: int, env: dict[str, str]) -> dict[str, Any]:
            return measure(
                [
                    *CF,
                    "run",
                    "--dask",
                    "--dashboard-address",
                    ":0",
                    "--threads-per-worker",
                    "1",
                    "--workers",
                    str(workers),
                    "--",
                    "generate-tasks",
                    "-b",
                    f"0-64_0-256_0-{n * 256}",
                    "-c",
                    "64",
                    "256",
                    "256",
                    *work,
                ],
                env,
            )

        return _kernel(run, tmp)

    return {
        "worker_p": {"one": worker(1), "two": worker(2), "units": tasks},
        "run_dask": {"one": dask(1), "two": dask(2), "units": tasks},
    }


def agglomerate_job(tmp: str, tiles: int) -> dict[str, Any]:
    """Noisy affinities of the PINKY40 labels (128x256x256) tiled ``tiles`` times along x, written tile by
    tile (memory stays one tile's whatever the size)."""
    import numpy as np

    from chunkflow.chunk.base import Chunk
    from chunkflow.datasets import pinky40_labels
    from chunkflow.geometry import BoundingBox
    from chunkflow.segmentation.affinities import affinities_from_labels
    from chunkflow.task import CreatePolicy
    from chunkflow.volumes import save_chunk

    labels = pinky40_labels().array
    shape = labels.shape
    whole = BoundingBox((0, 0, 0), (shape[0], shape[1], shape[2] * tiles))
    rng = np.random.default_rng(0)
    url = f"file://{tmp}/affs"
    affs = affinities_from_labels(labels).astype(np.float32)
    affs = np.clip(affs + rng.normal(0, 0.1, affs.shape).astype(np.float32), 0, 1)
    for tile in range(tiles):  # the same tile each time: writing (gzip) is what costs here
        save_chunk(
            url,
            Chunk(affs, (0, 0, shape[2] * tile), layer_type="affinity_map"),
            CreatePolicy(region=whole),
            block_size=(32, 64, 64),
        )
    voxels = int(whole.size.prod())

    def run(workers: int):
        def go(_n: int) -> dict[str, Any]:
            out = tempfile.mkdtemp(dir=tmp)
            result = measure(
                [
                    *CF,
                    "agglomerate-volume",
                    "-v",
                    url,
                    "-o",
                    f"file://{out}/seg",
                    "-b",
                    "64",
                    "128",
                    "128",
                    "-m",
                    "8",
                    "16",
                    "16",
                    "-t",
                    "0.3",
                    "--workers",
                    str(workers),
                ]
            )
            stages = re.search(r";\s*([\w-]+ [\d.]+ s(?:, [\w-]+ [\d.]+ s)*)\)", result["stdout"])
            if stages:
                result["stages_s"] = {k: float(v) for k, v in re.findall(r"([\w-]+) ([\d.]+) s", stages.group(1))}
            return result

        return go

    return {"one": run(1), "two": run(2), "units": voxels}


IDLE_SCRIPT = """
import json, sys, time
import psutil
from chunkflow.jobs.dask_executor import DaskOptions, open_client

def tree_cpu():
    total = 0.0
    for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total

if __name__ == "__main__":
    with open_client(DaskOptions(workers=2, dashboard_address=None)) as client:
        client.run(lambda: 0)
        start, cpu = time.perf_counter(), tree_cpu()
        time.sleep(float(sys.argv[1]))
        print(json.dumps({"seconds": time.perf_counter() - start, "cpu_s": tree_cpu() - cpu}))
"""


def dask_idle(tmp: str, seconds: float) -> None:
    """CPU an idle 2-worker LocalCluster (chunkflow's settings) spends on its own timers: what two busy
    workers on two cores lose to the scheduler, nannies and worker event loops per second of the run."""
    script = os.path.join(tmp, "idle.py")
    with open(script, "w") as f:
        f.write(IDLE_SCRIPT)
    result = measure([sys.executable, script, str(seconds)])
    idle = json.loads(result["stdout"].strip().splitlines()[-1])
    emit(
        benchmark="parallel_dask_idle",
        workers=2,
        idle_s=idle["seconds"],
        idle_cpu_s=idle["cpu_s"],
        share_of_a_core=idle["cpu_s"] / idle["seconds"],
        start_and_stop_cpu_s=result["cpu_s"] - idle["cpu_s"],
        load_average=os.getloadavg(),
    )


BLAS_PLUGIN = (
    "import numpy as np\n"
    "def execute(chunk, n=40):\n"
    "    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)\n"
    "    for _ in range(n):\n"
    "        a = (a @ a) / 1024.0\n"
)


def blas_threads(tmp: str, tasks: int) -> None:
    """``worker -p 2`` on a BLAS-bound chain (float32 1024^2 matmuls): each process's pools at its share of
    the cores (chunkflow's default now) vs at every core (numpy's default, which worker -p used to leave)."""
    from chunkflow.queues import open_queue
    from chunkflow.threads import THREAD_ENV_VARS, available_cores

    plugin = os.path.join(tmp, "blas.py")
    with open(plugin, "w") as f:
        f.write(BLAS_PLUGIN)
    saved = {name: os.environ.pop(name) for name in THREAD_ENV_VARS if name in os.environ}
    results = {}
    try:
        for label, env in (("share", {}), ("all_cores", {name: str(available_cores()) for name in THREAD_ENV_VARS})):
            queue = f"file://{tempfile.mkdtemp(dir=tmp)}/q"
            open_queue(queue, create=True).send([f"0-1_0-8_{x}-{x + 8}" for x in range(0, tasks * 8, 8)])
            results[label] = measure(
                [
                    *CF,
                    "worker",
                    "-p",
                    "2",
                    "--",
                    "fetch-task",
                    "-q",
                    queue,
                    "-r",
                    "0",
                    "create-chunk",
                    "-s",
                    "1",
                    "8",
                    "8",
                    "plugin",
                    "-f",
                    plugin,
                    "-i",
                    "chunk",
                    "delete-task-in-queue",
                ],
                env,
            )
    finally:
        os.environ.update(saved)
    emit(
        benchmark="parallel_blas_threads",
        tasks=tasks,
        processes=2,
        cpu_cores=available_cores(),
        **{f"{k}_{m}": results[k][m] for k in results for m in ("wall_s", "cpu_s", "max_threads")},
        cpu_ratio_all_cores_over_share=results["all_cores"]["cpu_s"] / results["share"]["cpu_s"],
        load_average=os.getloadavg(),
    )


def _summary(best: dict[str, dict[str, Any]], startup: dict[str, dict[str, Any]] | None, units: int) -> dict[str, Any]:
    one, two = best["one"], best["two"]
    record: dict[str, Any] = {
        "one_process_s": one["wall_s"], "two_processes_s": two["wall_s"], "speedup": one["wall_s"] / two["wall_s"],
        "cpu_one_s": one["cpu_s"], "cpu_two_s": two["cpu_s"], "cpu_ratio_two_over_one": two["cpu_s"] / one["cpu_s"],
        "cpu_bound_speedup_limit": 2 * one["cpu_s"] / two["cpu_s"],
        "sys_one_s": one["sys_s"], "sys_two_s": two["sys_s"],
        "max_threads_per_process": {"one": one["max_threads"], "two": two["max_threads"]},
    }  # fmt: skip
    if "kernel_cpu_s" in one:
        record["kernel_cpu_per_task_s"] = {k: best[k]["kernel_cpu_s"] / units for k in ("one", "two")}
        record["other_cpu_per_task_s"] = {
            k: (best[k]["cpu_s"] - best[k]["kernel_cpu_s"]) / units for k in ("one", "two")
        }
        record["kernel_concurrency"] = {k: best[k]["kernel_concurrency"] for k in ("one", "two")}
        record["kernel_on_cpu"] = {k: best[k]["kernel_on_cpu"] for k in ("one", "two")}
    if "stages_s" in one:
        record["stages_s"] = {k: best[k].get("stages_s") for k in ("one", "two")}
    if startup:
        record["one_task_run"] = {k: {"wall_s": startup[k]["wall_s"], "cpu_s": startup[k]["cpu_s"]} for k in startup}
        after = {k: best[k]["wall_s"] - startup[k]["wall_s"] for k in ("one", "two")}
        record["speedup_after_startup"] = after["one"] / after["two"] if after["two"] > 0 else None
        if units > 1:  # CPU per task once started: the slope between the 1-task run and the full run
            record["cpu_per_task_after_startup_s"] = {
                k: (best[k]["cpu_s"] - startup[k]["cpu_s"]) / (units - 1) for k in ("one", "two")
            }
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=64, help="chain tasks (64x256x256 each)")
    parser.add_argument(
        "--passes", type=int, default=12, help="Gaussian passes per chain task (12: about 1 CPU second per task)"
    )
    parser.add_argument("--tiles", type=int, default=20, help="PINKY40 crop tiles along x for agglomerate-volume")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--only", choices=["worker_p", "run_dask", "agglomerate_volume", "dask_idle", "blas_threads"], action="append"
    )
    parser.add_argument("--idle-seconds", type=float, default=20.0, help="dask_idle: seconds the cluster idles")
    parser.add_argument("--no-startup", action="store_true", help="skip the 1-task runs of the chain jobs")
    args = parser.parse_args()
    _become_subreaper()
    tmp = tempfile.mkdtemp()
    try:
        if not args.only or "dask_idle" in args.only:
            dask_idle(tmp, args.idle_seconds)
        if not args.only or "blas_threads" in args.only:
            blas_threads(tmp, min(args.tasks, 8))
        jobs = chain_jobs(tmp, args.tasks, args.passes)
        if not args.only or "agglomerate_volume" in args.only:
            jobs["agglomerate_volume"] = agglomerate_job(tmp, args.tiles)
        for name, job in jobs.items():
            if args.only and name not in args.only:
                continue
            best: dict[str, dict[str, Any]] = {}
            startup: dict[str, dict[str, Any]] = {}
            chain = name != "agglomerate_volume"
            for round_ in range(args.rounds):
                for key in ("one", "two") if round_ % 2 == 0 else ("two", "one"):
                    result = job[key](args.tasks)
                    if key not in best or result["wall_s"] < best[key]["wall_s"]:
                        best[key] = result
                    if chain and not args.no_startup:
                        small = job[key](1)
                        if key not in startup or small["wall_s"] < startup[key]["wall_s"]:
                            startup[key] = small
            units = args.tasks if chain else job["units"]
            emit(
                benchmark="parallel_speedup",
                job=name,
                **_summary(best, startup if chain else None, units),
                target_speedup_min=1.8,
                units=job["units"],
                subreaper=_SUBREAPER,
                cpu_cores=os.cpu_count(),
                load_average=os.getloadavg(),
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
