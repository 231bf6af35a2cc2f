"""Each worker process's native thread pools get its share of the cores (``chunkflow.threads``, ``worker -p``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from chunkflow.threads import THREAD_ENV_VARS, available_cores, describe_limits, share_environ, thread_share


@pytest.mark.parametrize(
    "processes,threads_per_process,cores,expected",
    [(1, 1, 2, 2), (2, 1, 2, 1), (3, 1, 8, 2), (4, 1, 2, 1), (2, 2, 8, 2), (1, 4, 2, 1), (16, 1, 64, 4)],
)
def test_thread_share_splits_the_cores_and_never_goes_below_one(processes, threads_per_process, cores, expected):
    assert thread_share(processes, threads_per_process, cores=cores) == expected


def test_thread_share_defaults_to_the_cores_this_process_may_use():
    cores = available_cores()
    assert 1 <= cores <= (os.cpu_count() or cores)
    assert thread_share(1) == cores
    assert thread_share(cores + 1) == 1


@pytest.mark.parametrize(
    "v2,v1_quota,v1_period,expected",
    [
        ("max 100000", None, None, None),
        ("200000 100000", None, None, 2),
        ("150000 100000", None, None, 2),
        (None, "-1", "100000", None),
        (None, "300000", "100000", 3),
        (None, None, None, None),
    ],
)
def test_cpu_quota_reads_the_containers_cgroup(tmp_path, monkeypatch, v2, v1_quota, v1_period, expected):
    from chunkflow import threads

    files = {}
    for name, text in (("cpu.max", v2), ("quota", v1_quota), ("period", v1_period)):
        if text is not None:
            (tmp_path / name).write_text(text + "\n")
        files[name] = str(tmp_path / name)
    monkeypatch.setattr(threads, "CGROUP_QUOTA_FILES", ((files["cpu.max"], None), (files["quota"], files["period"])))
    assert threads.cpu_quota() == expected
    if expected is not None:  # a pod limited to N CPUs sizes its pools to N, not to the node's cores
        monkeypatch.setattr(threads.os, "sched_getaffinity", lambda _pid: set(range(64)))
        assert threads.available_cores() == expected
        assert threads.thread_share(2) == max(1, expected // 2)


def test_share_environ_sets_every_pool_variable_but_keeps_the_users_own():
    assert share_environ(3, {}) == {name: "3" for name in THREAD_ENV_VARS}
    assert {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"} <= set(THREAD_ENV_VARS)
    mine = share_environ(1, {"OMP_NUM_THREADS": "6", "MKL_NUM_THREADS": ""})
    assert "OMP_NUM_THREADS" not in mine  # the user's setting wins
    assert mine["MKL_NUM_THREADS"] == "1" and mine["OPENBLAS_NUM_THREADS"] == "1"  # an empty value sets nothing


def test_describe_limits_names_the_settings(monkeypatch):
    for name in THREAD_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    assert "unlimited" in describe_limits()
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    text = describe_limits()
    assert "OMP_NUM_THREADS=3" in text and "unlimited" not in text
    assert text.startswith(f"{available_cores()} core(s)")


def test_worker_gives_each_process_its_share_of_the_cores(monkeypatch):
    """``worker -p N``: every process's environment limits its pools to cores / N; a user's own value is kept."""
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
    for name in THREAD_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    assert main(["worker", "-p", "3", "--gpus", "none", "--", "create-chunk"]) == 0
    assert len(started) == 3
    for env in started:
        assert {name: env[name] for name in THREAD_ENV_VARS} == {name: str(thread_share(3)) for name in THREAD_ENV_VARS}
    assert "OMP_NUM_THREADS" not in os.environ  # the parent's own environment is untouched
    started.clear()
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    assert main(["worker", "-p", "2", "--gpus", "none", "--", "create-chunk"]) == 0
    assert [env["OMP_NUM_THREADS"] for env in started] == ["5", "5"]
    assert [env["OPENBLAS_NUM_THREADS"] for env in started] == [str(thread_share(2))] * 2


PROBE = """
import os
def execute(chunk, log=None):
    import numpy  # noqa: F401 - its BLAS pool is sized at load
    with open(os.path.join(log, str(os.getpid())), "w") as f:
        f.write(os.environ.get("OMP_NUM_THREADS", "unset"))
"""


@pytest.mark.subprocess
def test_worker_processes_report_and_run_with_their_thread_limit(tmp_path):
    """Two real worker processes on a file queue: each logs its limit at start and runs its tasks under it."""
    from chunkflow.queues import open_queue

    queue = f"file://{tmp_path}/q"
    open_queue(queue, create=True).send([f"0-4_0-8_{x}-{x + 8}" for x in range(0, 32, 8)])
    (tmp_path / "log").mkdir()
    (tmp_path / "probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "chunkflow",
            "worker",
            "-p",
            "2",
            "--",
            "fetch-task",
            "-q",
            queue,
            "-r",
            "0",
            "--retry-interval",
            "0.1",
            "create-chunk",
            "plugin",
            "-f",
            str(tmp_path / "probe.py"),
            "-i",
            "chunk",
            "-a",
            f"log='{tmp_path}/log'",
            "delete-task-in-queue",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    share = str(thread_share(2))
    reports = [line for line in r.stderr.splitlines() if f"on {queue}:" in line and "core(s)" in line]
    assert len(reports) == 2, r.stderr
    assert all(f"OMP_NUM_THREADS={share}" in line and f"OPENBLAS_NUM_THREADS={share}" in line for line in reports)
    seen = {p.name: p.read_text() for p in (tmp_path / "log").iterdir()}
    assert seen and set(seen.values()) == {share}
    assert open_queue(queue).counts().waiting == 0
