"""``chunkflow run --dask``: a LocalCluster runs the README's distributed pipeline box by box."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

SHAPE = (32, 128, 128)
BOX = ("16", "32", "32")  # 2 x 4 x 4 = 32 boxes
NBOXES = 32


def _read(run_cli, url: str, tmp: Path, name: str) -> np.ndarray:
    import h5py

    out = tmp / f"{name}.h5"
    proc = run_cli(
        "load-precomputed", "-v", url, "-s", "0", "0", "0", "-z", *map(str, SHAPE), "save-h5", "-f", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        return f["main"][()]


@pytest.fixture
def image(run_cli, tmp_path):
    url = f"file://{tmp_path}/image"
    proc = run_cli(
        "create-info", "-v", url, "-z", *map(str, SHAPE), "-s", "40", "4", "4", "-b", *BOX, "-d", "uint8", "-t", "image"
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(
        "create-chunk",
        "-s",
        *map(str, SHAPE),
        "--pattern",
        "random",
        "-t",
        "0",
        "0",
        "0",
        "save-precomputed",
        "-v",
        url,
    )
    assert proc.returncode == 0, proc.stderr
    return url


def _output(run_cli, tmp_path: Path, name: str) -> str:
    url = f"file://{tmp_path}/{name}"
    proc = run_cli(
        "create-info", "-v", url, "-z", *map(str, SHAPE), "-s", "40", "4", "4", "-b", *BOX, "-d", "uint8", "-t", "image"
    )
    assert proc.returncode == 0, proc.stderr
    return url


def _chain(image: str, out: str, done: Path, *middle: str) -> list[str]:
    return [
        "generate-tasks",
        "-v",
        image,
        "-c",
        *BOX,
        "-a",
        *BOX,
        "skip-task-by-file",
        "-p",
        f"{done}/",
        "load-precomputed",
        "-v",
        image,
        *middle,
        "save-precomputed",
        "-v",
        out,
        "mark-complete",
        "-p",
        f"{done}/",
    ]


RUN = ["run", "--dask", "--workers", "2", "--dashboard-address", ":0", "--"]


@pytest.mark.slow
def test_dask_run_equals_single_process_and_worker_queue_and_rerun_does_nothing(run_cli, image, tmp_path):
    plugin = tmp_path / "invert.py"
    plugin.write_text("def execute(chunk, args=None):\n    return 255 - chunk.array\n")
    middle = ("plugin", "-f", str(plugin), "-i", "chunk", "-o", "chunk")
    single, dask = _output(run_cli, tmp_path, "single"), _output(run_cli, tmp_path, "dask")
    proc = run_cli(*_chain(image, single, tmp_path / "done-single", *middle))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(*RUN, *_chain(image, dask, tmp_path / "done-dask", *middle))
    assert proc.returncode == 0, proc.stderr
    assert f"chunkflow run: {NBOXES} boxes on tcp://127.0.0.1:" in proc.stderr and "dashboard http://" in proc.stderr
    assert f"{NBOXES} done, 0 already done, 0 failed" in proc.stderr
    # and the same chain through `worker -p 2` on a file queue
    queued, queue = _output(run_cli, tmp_path, "queued"), f"file://{tmp_path}/queue"
    proc = run_cli("generate-tasks", "-v", image, "-c", *BOX, "-a", *BOX, "-q", queue)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(
        "worker",
        "-p",
        "2",
        "--",
        "fetch-task",
        "-q",
        queue,
        "--retry-times",
        "1",
        "--retry-interval",
        "0.2",
        "load-precomputed",
        "-v",
        image,
        *middle,
        "save-precomputed",
        "-v",
        queued,
        "delete-task-in-queue",
    )
    assert proc.returncode == 0, proc.stderr
    expected = 255 - _read(run_cli, image, tmp_path, "image")
    assert expected.std() > 10
    np.testing.assert_array_equal(_read(run_cli, single, tmp_path, "single"), expected)
    np.testing.assert_array_equal(_read(run_cli, queued, tmp_path, "queued"), expected)
    np.testing.assert_array_equal(_read(run_cli, dask, tmp_path, "dask"), expected)
    assert len(list((tmp_path / "done-dask").iterdir())) == NBOXES

    # a rerun finds every marker and submits nothing (it does not even start a cluster)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "dask").rglob("*") if p.is_file()}
    proc = run_cli(*RUN, *_chain(image, dask, tmp_path / "done-dask", *middle))
    assert proc.returncode == 0, proc.stderr
    assert f"0 done, {NBOXES} already done, 0 failed" in proc.stderr
    assert "boxes on tcp://" not in proc.stderr
    assert stamps == {p: p.stat().st_mtime_ns for p in (tmp_path / "dask").rglob("*") if p.is_file()}


@pytest.mark.slow
def test_worker_killed_mid_run_every_box_still_done(run_cli, image, tmp_path):
    import subprocess
    import sys

    import psutil

    plugin = tmp_path / "slow.py"
    plugin.write_text("import time\ndef execute(chunk, args=None):\n    time.sleep(0.3)\n    return chunk.array + 1\n")
    out = _output(run_cli, tmp_path, "out")
    done = tmp_path / "done"
    exe = str(Path(sys.executable).parent / "chunkflow")
    proc = subprocess.Popen(
        [exe, *RUN, *_chain(image, out, done, "plugin", "-f", str(plugin), "-i", "chunk", "-o", "chunk")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (done.exists() and len(list(done.iterdir())) >= 3):
            assert proc.poll() is None and time.monotonic() < deadline, "run ended before the kill"
            time.sleep(0.05)
        # worker processes fork from the forkserver (a child of the run); with spawn they would be children
        workers = [
            c
            for c in psutil.Process(proc.pid).children(recursive=True)
            if c.ppid() != proc.pid or "spawn_main" in " ".join(c.cmdline())
        ]
        assert len(workers) == 2, [c.cmdline() for c in workers]
        os.kill(workers[0].pid, signal.SIGKILL)
        assert len(list(done.iterdir())) < NBOXES  # killed mid-run
        _out, err = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert f"{NBOXES} done, 0 already done, 0 failed" in err
    assert len(list(done.iterdir())) == NBOXES
    np.testing.assert_array_equal(_read(run_cli, out, tmp_path, "out"), _read(run_cli, image, tmp_path, "image") + 1)


@pytest.mark.slow
def test_box_that_always_fails_is_reported_after_retries(run_cli, image, tmp_path):
    plugin = tmp_path / "flaky.py"
    tries = tmp_path / "tries"
    tries.mkdir()
    plugin.write_text(
        "import os, uuid\n"
        "def execute(chunk, args=None):\n"
        "    if tuple(chunk.voxel_offset) == (16, 32, 64):\n"
        f"        open(os.path.join({str(tries)!r}, uuid.uuid4().hex), 'w').close()\n"
        "        raise ValueError('bad box')\n"
        "    return chunk.array\n"
    )
    out = _output(run_cli, tmp_path, "out")
    done = tmp_path / "done"
    proc = run_cli(*RUN, *_chain(image, out, done, "plugin", "-f", str(plugin), "-i", "chunk", "-o", "chunk"))
    assert proc.returncode == 1
    assert f"{NBOXES - 1} done, 0 already done, 1 failed" in proc.stderr
    assert re.search(r"^failed 16-32_32-64_64-96: PluginError: .* raised ValueError: bad box$", proc.stderr, re.M), (
        proc.stderr
    )
    assert proc.stderr.strip().splitlines()[-1].startswith("chunkflow: error: 1 of 32 boxes failed after 2 retries")
    assert len(list(tries.iterdir())) == 3  # the first try and 2 retries
    markers = {p.name for p in done.iterdir()}
    assert len(markers) == NBOXES - 1 and "16-32_32-64_64-96" not in markers


def test_slurm_job_script_carries_the_flags():
    pytest.importorskip("dask_jobqueue")
    from chunkflow.jobs.dask_executor import DaskOptions, jobqueue_cluster

    options = DaskOptions(
        cluster="slurm",
        cores=8,
        memory="32GiB",
        walltime="04:00:00",
        queue="gpu",
        account="lab42",
        workers=2,
        gpus_per_worker=1,
        job_extra=["--gres=gpu:1", "--constraint=a100"],
        dashboard_address=None,
    )
    cluster = jobqueue_cluster(options)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in (
        "#SBATCH -p gpu",
        "#SBATCH -A lab42",
        "#SBATCH -t 04:00:00",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --constraint=a100",
    ):
        assert line in script, script
    assert "--nworkers 2" in script and "--nthreads 4" in script, script
    assert "--resources GPU=1" in script, script
    assert "#SBATCH --mem=" in script, script


def test_cluster_without_cores_is_one_line_error(cli_runner, capsys):
    pytest.importorskip("dask_jobqueue")
    assert (
        cli_runner(["run", "--cluster", "slurm", "--", "generate-tasks", "-b", "0-8_0-8_0-8", "-c", "8", "8", "8"]) == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "chunkflow: error: --cluster slurm needs --cores and --memory (per job, e.g. --cores 8 --memory 32GiB)"
    ]


def test_chain_without_source_is_refused(cli_runner, capsys):
    assert cli_runner(["run", "--", "create-chunk", "-s", "8", "8", "8"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "chunkflow: error: chunkflow run cuts boxes with the chain's first operator, but 'create-chunk' "
        "produces no tasks; start the chain with generate-tasks"
    ]


def _intervals(folder: Path) -> list[tuple[float, float]]:
    return sorted(tuple(map(float, p.read_text().split())) for p in folder.iterdir())  # type: ignore[misc]


@pytest.mark.slow
@pytest.mark.parametrize("gpus", [1, 0])
def test_inference_boxes_take_one_gpu_each(run_cli, tmp_path, gpus):
    """Workers advertise GPU=1: boxes of a chain with inference never overlap on a worker, even with
    2 threads; without the resource the same run overlaps (so the check can fail)."""
    times = tmp_path / "times"
    times.mkdir()
    plugin = tmp_path / "clock.py"
    plugin.write_text(
        "import os, time, uuid\n"
        "def execute(chunk, args=None):\n"
        "    start = time.time(); time.sleep(0.4)\n"
        f"    open(os.path.join({str(times)!r}, uuid.uuid4().hex), 'w').write(f'{{start}} {{time.time()}}')\n"
    )
    proc = run_cli(
        "run",
        "--workers",
        "1",
        "--threads-per-worker",
        "2",
        "--gpus-per-worker",
        str(gpus),
        "--dashboard-address",
        ":0",
        "--",
        "generate-tasks",
        "-b",
        "0-8_0-32_0-192",
        "-c",
        "8",
        "32",
        "32",
        "create-chunk",
        "-o",
        "image",
        "inference",
        "-f",
        "identity",
        "-s",
        "8",
        "32",
        "32",
        "-v",
        "0",
        "0",
        "0",
        "-c",
        "1",
        "-i",
        "image",
        "-o",
        "out",
        "plugin",
        "-f",
        str(plugin),
        "-i",
        "out",
    )
    assert proc.returncode == 0, proc.stderr
    spans = _intervals(times)
    assert len(spans) == 6
    overlaps = sum(b[0] < a[1] for a, b in zip(spans, spans[1:]))
    assert (overlaps == 0) if gpus else (overlaps > 0), spans


@pytest.mark.slow
def test_existing_scheduler_address(run_cli, tmp_path):
    """--dask tcp://...: boxes run on the workers of a scheduler that was already running."""
    import h5py
    from distributed import LocalCluster

    source = tmp_path / "in.h5"
    assert (
        run_cli("create-chunk", "-s", "8", "32", "64", "--pattern", "sin", "save-h5", "-f", str(source)).returncode == 0
    )
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        proc = run_cli(
            "run",
            "--dask",
            cluster.scheduler_address,
            "--",
            "generate-tasks",
            "-b",
            "0-8_0-32_0-64",
            "-c",
            "8",
            "32",
            "32",
            "load-h5",
            "-f",
            str(source),
            "save-h5",
            "-f",
            f"{tmp_path}/out/",
        )
        assert proc.returncode == 0, proc.stderr
        assert f"2 boxes on {cluster.scheduler_address}" in proc.stderr
    with h5py.File(source) as whole, h5py.File(tmp_path / "out/0-8_0-32_32-64.h5") as right:
        assert whole["main"][()].std() > 0
        np.testing.assert_array_equal(right["main"][()], whole["main"][()][:, :, 32:])


@pytest.mark.slow  # distributed retries the connection for 10 s
def test_unreachable_scheduler_is_one_line(cli_runner, capsys):
    import socket

    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = cli_runner(
        ["run", "--dask", f"tcp://127.0.0.1:{port}", "--", "generate-tasks", "-b", "0-8_0-8_0-8", "-c", "8", "8", "8"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith(f"chunkflow: error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")


def test_queue_source_is_refused_before_anything_is_queued(cli_runner, capsys, tmp_path):
    queue = tmp_path / "queue"
    code = cli_runner(
        ["run", "--", "generate-tasks", "-b", "0-8_0-8_0-8", "-c", "8", "8", "8", "-q", f"file://{queue}"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "drain a queue with `chunkflow worker -p N -- fetch-task ...`" in err[0], err
    assert not queue.exists()


def test_cluster_without_its_submit_command_is_one_line(cli_runner, capsys, monkeypatch):
    pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("PATH", "/nonexistent")
    code = cli_runner(
        [
            "run",
            "--cluster",
            "slurm",
            "--cores",
            "2",
            "--memory",
            "4GiB",
            "--dashboard-address",
            "",
            "--",
            "generate-tasks",
            "-b",
            "0-8_0-8_0-8",
            "-c",
            "8",
            "8",
            "8",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1, err
    assert err[-1] == (
        "chunkflow: error: --cluster slurm submits worker jobs with sbatch, which is not on PATH here; "
        "run chunkflow run on a login node of that cluster"
    )
    assert not any(line.startswith("chunkflow run:") for line in err)  # no boxes announced or run
