"""Soak: N small tasks through a file queue with 4 workers, one killed (SIGKILL) every few seconds
and replaced; prints JSON lines.

The chain of every task is ``create-chunk`` (a deterministic pattern of the task's box) then
``save-precomputed`` into a volume made up front, then ``delete-task-in-queue``. A reference run
without kills writes a second volume; the soak's volume must read back identical, every block
file must exist once, and the queue must end empty with nothing dead. Reported: wall time and
throughput of both runs, kills, and tasks run more than once (a killed worker's leased task comes
back after its visibility timeout and runs again: into the same result).

Usage: python benchmarks/soak.py [--tasks 10000] [--workers 4] [--kill-every 3] [--visibility 10]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import numpy as np  # noqa: E402
from _common import emit  # noqa: E402

from chunkflow.queues import open_queue  # noqa: E402
from chunkflow.volumes import open_volume  # noqa: E402
from chunkflow.volumes.precomputed import create_info  # noqa: E402

TASK = (1, 16, 16)


def volume_size(tasks: int) -> tuple[int, int, int]:
    """A region of exactly ``tasks`` boxes of TASK (z sections of 25 x 25 boxes, then one partial row)."""
    if tasks % 25:
        raise SystemExit("--tasks must be a multiple of 25")
    rows = tasks // 25
    z = max(1, rows // 25)
    if rows % z:
        raise SystemExit("--tasks must be 625 * k or 25 * k with k < 25")
    return (z, rows // z * 16, 25 * 16)


def worker_cmd(queue: str, url: str, visibility: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "chunkflow",
        "fetch-task",
        "-q",
        queue,
        "-v",
        str(visibility),
        "-r",
        "5",
        "--retry-interval",
        "0.2",
        "create-chunk",
        "--pattern",
        "sin",
        "-d",
        "uint8",
        "save-precomputed",
        "-v",
        url,
        "delete-task-in-queue",
    ]


def run(
    root: Path, name: str, tasks: int, workers: int, kill_every: float | None, visibility: float, seed: int = 0
) -> dict:
    size = volume_size(tasks)
    url, queue = f"file://{root}/{name}", f"file://{root}/{name}-queue"
    create_info(url, volume_size=size, block_size=TASK, dtype="uint8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "chunkflow",
            "generate-tasks",
            "-s",
            "0",
            "0",
            "0",
            "-r",
            *map(str, size),
            "-c",
            *map(str, TASK),
            "-q",
            queue,
            "--max-receive-count",
            "1000",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip  (kills are not poison: never dead-letter here)
    logs = root / f"{name}-logs"
    logs.mkdir()
    rng, serial = random.Random(seed), 0

    def start() -> subprocess.Popen:
        nonlocal serial
        serial += 1
        return subprocess.Popen(
            worker_cmd(queue, url, visibility), stdout=subprocess.DEVNULL, stderr=open(logs / f"{serial}.log", "w")
        )

    begin = time.perf_counter()
    procs = [start() for _ in range(workers)]
    kills, next_kill, q = 0, time.perf_counter() + (kill_every or 0), open_queue(queue)
    while any(p.poll() is None for p in procs):
        time.sleep(0.2)
        if kill_every and time.perf_counter() >= next_kill:
            counts = q.counts()
            if counts.waiting > 0:  # keep killing while there is work; then let the fleet drain
                victim = rng.choice([p for p in procs if p.poll() is None] or procs)
                if victim.poll() is None:
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    kills += 1
                    procs[procs.index(victim)] = start()
            next_kill = time.perf_counter() + kill_every
    wall = time.perf_counter() - begin
    counts = q.counts()
    # a task's "done" log line comes after its delete: a kill in between hides one run, a kill after the
    # write but before the delete adds one; so this counts runs approximately
    runs = sum(line.count(" done in ") for log in logs.iterdir() for line in log.read_text().splitlines())
    codes = [p.returncode for p in procs]
    return {
        "name": name,
        "url": url,
        "wall_s": wall,
        "tasks_per_s": tasks / wall,
        "kills": kills,
        "task_runs": runs,
        "waiting": counts.waiting,
        "in_flight": counts.in_flight,
        "dead": counts.dead,
        "exit_codes": codes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between kills")
    parser.add_argument("--visibility", type=float, default=10.0, help="fetch-task -v for both runs (s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ref = run(root, "reference", args.tasks, args.workers, None, args.visibility)
        soak = run(root, "soak", args.tasks, args.workers, args.kill_every, args.visibility, seed=1)
        a = open_volume(ref["url"]).read(fill_missing=True).array
        b = open_volume(soak["url"]).read(fill_missing=True).array
        key = "1_1_1"
        files_ref = sorted(p.name for p in (root / "reference" / key).iterdir())
        files_soak = sorted(p.name for p in (root / "soak" / key).iterdir())
        debris = [p.name for p in (root / "soak" / key).iterdir() if p.name.startswith(".")]
        identical = bool(np.array_equal(a, b)) and files_ref == files_soak and len(files_ref) == args.tasks
        missing = sorted(set(files_ref) - set(files_soak))
        for r in (ref, soak):
            emit(
                benchmark="soak",
                run=r["name"],
                tasks=args.tasks,
                workers=args.workers,
                wall_s=round(r["wall_s"], 2),
                tasks_per_s=round(r["tasks_per_s"], 1),
                kills=r["kills"],
                task_runs_logged=r["task_runs"],
                reruns_logged=max(0, r["task_runs"] - args.tasks),
                queue_left=[r["waiting"], r["in_flight"], r["dead"]],
                worker_exit_codes=sorted(set(r["exit_codes"])),
            )
        emit(
            benchmark="soak",
            result="output identical to the run without kills" if identical else "OUTPUT DIFFERS",
            identical=identical,
            block_files=len(files_soak),
            missing_blocks=missing[:10],
            debris_files=len(debris),
            throughput_ratio_soak_vs_reference=round(soak["tasks_per_s"] / ref["tasks_per_s"], 2),
        )
        if not identical or soak["dead"] or soak["waiting"] or soak["in_flight"]:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
