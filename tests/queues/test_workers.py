"""Fleets of real worker processes on a real queue: kill, poison, resume, malformed messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.queues import open_queue
from chunkflow.volumes import create_volume, open_volume
from chunkflow.volumes.precomputed import create_info

SHAPE, BLOCK, TASK = (32, 128, 128), (16, 32, 32), (16, 64, 64)  # 8 tasks


@pytest.fixture
def volumes(tmp_path):
    data = np.random.default_rng(0).integers(0, 255, SHAPE, dtype=np.uint8)
    source = Chunk(data, (0, 0, 0), (40, 4, 4), "image")
    create_volume(f"file://{tmp_path}/in", like=source, block_size=BLOCK).write(source)
    for name in ("out", "ref"):
        create_info(f"file://{tmp_path}/{name}", volume_size=SHAPE, voxel_size=(40, 4, 4), block_size=BLOCK)
    return tmp_path


def plugin(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "step.py"
    path.write_text(textwrap.dedent(body))
    return path


SLOW = """
    import os, time
    from pathlib import Path
    def execute(chunk, log=None, fail=None, delay=0.4):
        name = f"{chunk.bbox}"
        Path(log, f"{os.getpid()}_{name}").touch()
        time.sleep(delay)
        if fail is not None and name == fail:
            raise RuntimeError(f"poison task {name}")
        return chunk
"""


def chain(tmp_path: Path, queue: str, out: str, *extra: str, args: str = "", timeout: int = 3) -> list[str]:
    (tmp_path / "log").mkdir(exist_ok=True)
    return [
        sys.executable,
        "-m",
        "chunkflow",
        "fetch-task",
        "-q",
        queue,
        "-v",
        str(timeout),
        "-r",
        "1",
        "--retry-interval",
        "0.1",
        *extra,
        "load-precomputed",
        "-v",
        f"file://{tmp_path}/in",
        "plugin",
        "-f",
        str(plugin(tmp_path, SLOW)),
        "-i",
        "chunk",
        "-o",
        "chunk",
        "-a",
        f"log='{tmp_path}/log'{args}",
        "save-precomputed",
        "-v",
        f"file://{tmp_path}/{out}",
        "delete-task-in-queue",
    ]


def generate(queue: str, tmp_path: Path, max_receive_count: int = 5) -> None:
    """Fill the queue in this process (the workers under test are the processes)."""
    from chunkflow.cli import main

    args = [
        "-v",
        f"file://{tmp_path}/in",
        "-c",
        *map(str, TASK),
        "-q",
        queue,
        "--max-receive-count",
        str(max_receive_count),
    ]
    assert main(["generate-tasks", *args]) == 0


def chunk_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != "provenance"}


@pytest.mark.subprocess
def test_killed_worker_loses_nothing(queue_name, volumes, sqs_endpoint):
    tmp = volumes
    # the reference: one uninterrupted worker
    ref_queue = queue_name + "-ref" if queue_name.startswith("sqs") else queue_name + "_ref"
    generate(ref_queue, tmp)
    subprocess.run(chain(tmp, ref_queue, "ref", args=";delay=0"), check=True, capture_output=True, timeout=120)

    generate(queue_name, tmp)
    victim = subprocess.Popen(chain(tmp, queue_name, "out"), stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not any(p.name.startswith(f"{victim.pid}_") for p in (tmp / "log").iterdir()):
        assert time.time() < deadline, "the victim never started a task"
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)  # mid-task: it sleeps inside the plugin
    victim.wait()
    survivor = subprocess.run(chain(tmp, queue_name, "out"), capture_output=True, text=True, timeout=180)
    assert survivor.returncode == 0, survivor.stderr
    counts = open_queue(queue_name).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (0, 0, 0)
    assert chunk_files(tmp / "out") == chunk_files(tmp / "ref")
    np.testing.assert_array_equal(
        open_volume(f"file://{tmp}/out").read().array, open_volume(f"file://{tmp}/in").read().array
    )


@pytest.mark.subprocess
def test_poison_task_is_dead_lettered_and_the_rest_finish(queue_name, volumes):
    tmp = volumes
    generate(queue_name, tmp, max_receive_count=2)
    poison = "0-16_0-64_0-64"
    r = subprocess.run(
        chain(tmp, queue_name, "out", args=f";fail='{poison}';delay=0", timeout=2),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 1, r.stderr  # schedulers see the failure
    assert f"task {poison} failed (receive 2 of 2)" in r.stderr and "poison task" in r.stderr
    assert "2 task(s) failed and 0 malformed message(s) were dead-lettered (7 done)" in r.stderr
    counts = open_queue(queue_name).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (0, 0, 1)
    out, src = open_volume(f"file://{tmp}/out"), open_volume(f"file://{tmp}/in")
    from chunkflow.geometry import BoundingBox

    done = BoundingBox.from_string("16-32_64-128_64-128")
    np.testing.assert_array_equal(out.read(done).array, src.read(done).array)


@pytest.mark.subprocess
def test_malformed_message_does_not_crash_the_worker(queue_name, volumes):
    tmp = volumes
    generate(queue_name, tmp, max_receive_count=2)
    open_queue(queue_name).send(["this is not a task"])
    r = subprocess.run(
        chain(tmp, queue_name, "out", args=";delay=0", timeout=2), capture_output=True, text=True, timeout=180
    )
    assert r.returncode == 1, r.stderr
    assert "malformed task message 'this is not a task'" in r.stderr and "moved to the dead-letter queue" in r.stderr
    assert "0 task(s) failed and 1 malformed message(s) were dead-lettered (8 done)" in r.stderr
    counts = open_queue(queue_name).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (0, 0, 1)


@pytest.mark.subprocess
def test_resume_processes_only_missing_tasks(volumes):
    tmp = volumes
    (tmp / "log").mkdir()
    cmd = [sys.executable, "-m", "chunkflow", "generate-tasks", "-v", f"file://{tmp}/in", "-c", *map(str, TASK),
           "skip-task-by-file", "-p", f"{tmp}/out/.done/", "load-precomputed", "-v", f"file://{tmp}/in",
           "plugin", "-f", str(plugin(tmp, SLOW)), "-i", "chunk", "-o", "chunk", "-a", f"log='{tmp}/log';delay=0",
           "save-precomputed", "-v", f"file://{tmp}/out", "mark-complete", "-p", f"{tmp}/out/.done/"]  # fmt: skip

    def run() -> int:
        before = len(list((tmp / "log").iterdir()))
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        processed = len(list((tmp / "log").iterdir())) - before
        for p in (tmp / "log").iterdir():
            p.rename(tmp / "log" / f"{p.name}.{time.monotonic_ns()}")
        return processed

    assert run() == 8
    assert run() == 0
    markers = sorted((tmp / "out" / ".done").iterdir())
    for m in markers[:3]:
        m.unlink()
    assert run() == 3


@pytest.mark.subprocess
def test_fetch_task_from_file_for_slurm_arrays(volumes):
    tmp = volumes
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "chunkflow",
            "generate-tasks",
            "-v",
            f"file://{tmp}/in",
            "-c",
            *map(str, TASK),
            "-f",
            f"{tmp}/tasks.txt",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and len((tmp / "tasks.txt").read_text().split()) == 8
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "5"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "chunkflow",
            "fetch-task-from-file",
            "-f",
            f"{tmp}/tasks.txt",
            "load-precomputed",
            "-v",
            f"file://{tmp}/in",
            "save-h5",
            "-f",
            f"{tmp}/h5/",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    line = (tmp / "tasks.txt").read_text().split()[5]
    assert (tmp / "h5" / f"{line}.h5").exists()


@pytest.mark.subprocess
def test_staged_global_cc_through_a_queue(tmp_path):
    """Stage n + 1 is sent only when stage n is drained; two workers consume the stages."""
    import cc3d

    from chunkflow.datasets import pinky40_labels
    from chunkflow.segmentation import evaluate_segmentation

    labels = pinky40_labels().array[:32, :96, :96]
    prob = Chunk(((labels % 3 == 0) & (labels != 0)).astype(np.float32), layer_type="probability_map")
    create_volume(f"zarr://{tmp_path}/prob", like=prob, block_size=(16, 32, 32)).write(prob)
    queue = f"file://{tmp_path}/q"
    open_queue(queue)
    work = tmp_path / "cc.cc-work"  # the job's manifest is written there by the frontend; workers read it
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chunkflow",
                "fetch-task",
                "-q",
                queue,
                "-r",
                "300",
                "--retry-interval",
                "0.2",
                "global-cc-task",
                "--job",
                str(work),
                "delete-task-in-queue",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "chunkflow",
                "global-connected-components",
                "-v",
                f"zarr://{tmp_path}/prob",
                "-o",
                f"zarr://{tmp_path}/cc",
                "-b",
                "16",
                "32",
                "32",
                "-t",
                "0.5",
                "-c",
                "26",
                "-q",
                queue,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
    finally:
        for w in workers:
            w.terminate()
            w.wait()
    whole = cc3d.connected_components(prob.array > 0.5, connectivity=26)
    got = open_volume(f"zarr://{tmp_path}/cc").read()
    assert f"{whole.max()} connected components" in r.stdout
    assert evaluate_segmentation(got, Chunk(whole.astype(np.uint32))).adapted_rand_error == 0


def test_generate_tasks_bad_inputs(run_cli, volumes):
    tmp = volumes
    r = run_cli("generate-tasks", "-v", f"file://{tmp}/in", "-b", "100-200_0-10_0-10", "-c", "16", "64", "64")
    assert r.returncode == 1 and "outside the volume" in r.stderr
    r = run_cli("generate-tasks", "-s", "0", "0", "0", "-r", "10", "10", "10", "-c", "4", "4", "4", "-q", "redis://x")
    assert r.returncode == 1 and "unknown scheme" in r.stderr and "Traceback" not in r.stderr
    r = run_cli(
        "generate-tasks", "-s", "0", "0", "0", "-r", "64", "64", "64", "-c", "10", "64", "64", "-a", "16", "32", "32"
    )
    assert r.returncode == 1 and "not a multiple" in r.stderr


def test_queue_status_command(run_cli, tmp_path):
    queue = f"file://{tmp_path}/q"
    open_queue(queue).send(["0-1_0-1_0-1"] * 4)
    r = run_cli("queue", "status", queue)
    assert r.returncode == 0 and "waiting    4" in r.stdout
    r = run_cli("queue", "purge", queue)
    assert r.returncode == 0
    assert open_queue(queue).counts().waiting == 0


def test_worker_gives_each_process_its_own_gpu(monkeypatch, capsys):
    """``worker -p 3`` with CUDA_VISIBLE_DEVICES=3,5: the processes see GPU 3, 5, 3; ``--gpus none``: untouched."""
    from chunkflow.cli import main
    from chunkflow.commands import queue as queue_command

    started = []

    class FakeProcess:
        def __init__(self, args, env=None):
            started.append(env)

        def wait(self):
            return 0

        def send_signal(self, signum):
            pass

    monkeypatch.setattr(queue_command.subprocess, "Popen", FakeProcess)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert main(["worker", "-p", "3", "--", "create-chunk"]) == 0
    assert [env["CUDA_VISIBLE_DEVICES"] for env in started] == ["3", "5", "3"]
    started.clear()
    assert main(["worker", "-p", "2", "--gpus", "none", "--", "create-chunk"]) == 0
    assert [env["CUDA_VISIBLE_DEVICES"] for env in started] == ["3,5", "3,5"]  # left as it was
    started.clear()
    assert main(["worker", "-p", "2", "--gpus", "7", "--", "create-chunk"]) == 0
    assert [env["CUDA_VISIBLE_DEVICES"] for env in started] == ["7", "7"]
    assert "3 workers finished" in capsys.readouterr().out
