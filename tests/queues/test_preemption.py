"""Preemptible workers: SIGTERM mid-task on real worker processes (file queue and moto's SQS server).

A SIGTERM'd worker finishes its task within --grace, or gives the lease back at once (visible again
within a second, no output, no done marker) and exits 143; another worker then redoes the task.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import pytest
import yaml

from chunkflow.geometry import BoundingBox
from chunkflow.queues import open_queue
from chunkflow.queues.preemption import BACKSTOP_S, DEFAULT_GRACE_S, PREEMPTED_EXIT_CODE

ROOT = Path(__file__).resolve().parents[2]
BOX = "0-8_0-16_0-16"
SLOW = """
    import os, time
    from pathlib import Path
    def execute(bbox, log=None, delay=0.0):
        Path(log, f"{os.getpid()}_{bbox}").touch()
        time.sleep(delay)
"""


def worker_chain(tmp: Path, queue: str, delay: float, grace: float, *, front: tuple[str, ...] = ()) -> list[str]:
    """A worker whose task announces itself in log/, sleeps ``delay`` s, then writes its output and done marker."""
    plugin = tmp / "slow.py"
    plugin.write_text(textwrap.dedent(SLOW))
    (tmp / "log").mkdir(exist_ok=True)
    return [
        sys.executable,
        "-m",
        "chunkflow",
        *front,
        "fetch-task",
        "-q",
        queue,
        "-v",
        "30",
        "-r",
        "0",
        "--retry-interval",
        "0.05",
        "--grace",
        str(grace),
        "create-chunk",
        "plugin",
        "-f",
        str(plugin),
        "-i",
        "bbox",
        "-a",
        f"log='{tmp}/log';delay={delay}",
        "save-h5",
        "-f",
        f"{tmp}/out/",
        "mark-complete",
        "-p",
        f"{tmp}/done/",
        "delete-task-in-queue",
    ]


def send(queue: str, *boxes: str) -> None:
    open_queue(queue).send(boxes)


def started(tmp: Path, pid: int, count: int = 1, timeout: float = 60) -> list[str]:
    """Wait until ``count`` tasks of process ``pid`` (any pid where -1) announced themselves."""
    deadline = time.monotonic() + timeout
    while True:
        names = [p.name for p in (tmp / "log").iterdir() if pid < 0 or p.name.startswith(f"{pid}_")]
        if len(names) >= count:
            return names
        assert time.monotonic() < deadline, "the worker never started its task"
        time.sleep(0.05)


def wait_visible(queue: str, count: int, since: float, timeout: float) -> float:
    """Seconds from ``since`` until ``count`` messages are waiting (visible) again."""
    q = open_queue(queue)
    while q.counts().waiting < count:
        assert time.monotonic() - since < timeout, f"no {count} message(s) visible again within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - since


def outputs(tmp: Path) -> list[str]:
    """Everything the chain left: outputs, done markers and any temporary debris."""
    return sorted(str(p.relative_to(tmp)) for d in ("out", "done") if (tmp / d).exists() for p in (tmp / d).rglob("*"))


@pytest.mark.subprocess
def test_sigterm_mid_task_gives_the_task_back_and_another_worker_redoes_it(queue_name, tmp_path):
    send(queue_name, BOX)
    victim = subprocess.Popen(
        worker_chain(tmp_path, queue_name, delay=60, grace=0.3), stderr=subprocess.PIPE, text=True
    )
    started(tmp_path, victim.pid)
    sent = time.monotonic()
    victim.send_signal(signal.SIGTERM)
    visible_after = wait_visible(queue_name, 1, sent, timeout=0.3 + 2)
    _, stderr = victim.communicate(timeout=30)
    assert victim.returncode == PREEMPTED_EXIT_CODE, stderr
    assert f"task {BOX} did not finish within --grace 0.3 s; giving it back" in stderr
    assert "Traceback" not in stderr
    assert outputs(tmp_path) == []  # no output, no done marker, no temporary left by the abandoned task
    counts = open_queue(queue_name).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (1, 0, 0)

    survivor = subprocess.run(
        worker_chain(tmp_path, queue_name, delay=0, grace=0.3), capture_output=True, text=True, timeout=60
    )
    redone_after = time.monotonic() - sent
    assert survivor.returncode == 0, survivor.stderr
    counts = open_queue(queue_name).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (0, 0, 0)
    assert outputs(tmp_path) == [f"done/{BOX}", f"out/{BOX}.h5"]
    with h5py.File(tmp_path / "out" / f"{BOX}.h5") as f:
        assert f["main"].shape == BoundingBox.from_string(BOX).size
    print(
        f"\n{queue_name.split(':')[0]}: visible again {visible_after:.2f} s after SIGTERM (grace 0.3 s), "
        f"redone {redone_after:.2f} s after it"
    )


@pytest.mark.subprocess
def test_sigterm_lets_a_short_task_finish_and_fetches_no_more(queue_name, tmp_path):
    other = "8-16_0-16_0-16"
    send(queue_name, BOX, other)
    worker = subprocess.Popen(
        worker_chain(tmp_path, queue_name, delay=1.0, grace=20), stderr=subprocess.PIPE, text=True
    )
    (first,) = started(tmp_path, worker.pid)
    sent = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=30)
    assert time.monotonic() - sent < 10  # it exits when the task is done, not after the grace
    assert worker.returncode == PREEMPTED_EXIT_CODE, stderr
    assert "SIGTERM: stopped fetching" in stderr and "Traceback" not in stderr
    box = first.split("_", 1)[1]
    assert outputs(tmp_path) == [f"done/{box}", f"out/{box}.h5"]  # finished and acknowledged
    assert len(list((tmp_path / "log").iterdir())) == 1  # the second task was never fetched
    counts = open_queue(queue_name).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (1, 0, 0)


@pytest.mark.subprocess
def test_sigterm_to_worker_processes_gives_every_task_back(tmp_path):
    queue = f"file://{tmp_path}/q"
    boxes = (BOX, "8-16_0-16_0-16")
    send(queue, *boxes)
    chain = worker_chain(tmp_path, queue, delay=60, grace=30)
    grace_flag = chain.index("--grace")
    del chain[grace_flag : grace_flag + 2]  # the grace comes from `worker --grace`
    parent = subprocess.Popen(
        [*chain[:3], "worker", "-p", "2", "--gpus", "none", "--grace", "0.2", "--", *chain[3:]],
        stderr=subprocess.PIPE,
        text=True,
    )
    started(tmp_path, -1, count=2)
    parent.send_signal(signal.SIGTERM)
    _, stderr = parent.communicate(timeout=30)
    assert parent.returncode == PREEMPTED_EXIT_CODE, stderr
    assert stderr.count("did not finish within --grace 0.2 s") == 2, stderr
    assert outputs(tmp_path) == []
    counts = open_queue(queue).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (2, 0, 0)


@pytest.mark.subprocess
def test_sigterm_while_waiting_for_tasks_exits_at_once(tmp_path):
    queue = f"file://{tmp_path}/q"
    send(queue, BOX)
    chain = worker_chain(tmp_path, queue, delay=0, grace=20)
    chain[chain.index("-r") + 1] = "-1"  # poll forever
    worker = subprocess.Popen(chain, stderr=subprocess.PIPE, text=True)
    started(tmp_path, worker.pid)
    while open_queue(queue).counts().completed != 1:  # its one task is done: it is polling now
        assert worker.poll() is None
        time.sleep(0.05)
    sent = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == PREEMPTED_EXIT_CODE, stderr
    assert time.monotonic() - sent < 2 and "SIGTERM: stopping (no task running)" in stderr


@pytest.mark.subprocess
def test_deploy_templates_leave_time_for_the_grace():
    """Kubernetes on spot nodes and Slurm with --signal give the worker its --grace plus a margin."""
    doc = yaml.safe_load((ROOT / "deploy/kubernetes-worker.yaml").read_text())
    pod = doc["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    grace = float(next(a.split("=", 1)[1] for a in args if a.startswith("--grace=")))
    assert grace == DEFAULT_GRACE_S
    assert grace + BACKSTOP_S < pod["terminationGracePeriodSeconds"] <= 30  # within a 30 s spot notice
    assert pod["nodeSelector"] == {"cloud.google.com/gke-spot": "true"}
    assert {t["key"] for t in pod["tolerations"]} >= {"cloud.google.com/gke-spot", "eks.amazonaws.com/capacityType"}

    script = (ROOT / "deploy/slurm-worker.sh").read_text()
    subprocess.run(["bash", "-n", str(ROOT / "deploy/slurm-worker.sh")], check=True)
    (signal_s,) = re.findall(r"^#SBATCH --signal=B:TERM@(\d+)$", script, re.M)
    (script_grace,) = re.findall(r"--grace (\d+(?:\.\d+)?)", script)
    assert float(script_grace) == DEFAULT_GRACE_S and float(script_grace) + BACKSTOP_S < int(signal_s)
    assert re.search(r"^exec \$CHUNKFLOW ", script, re.M)  # the worker is the batch shell: it gets the signal


def test_help_documents_the_exit_code():
    from click.testing import CliRunner

    from chunkflow.cli import cli

    for command in (["worker", "--help"], ["fetch-task", "--help"]):
        out = CliRunner().invoke(cli, command).output
        assert "--grace" in out and str(PREEMPTED_EXIT_CODE) in out and "SIGTERM" in out, command
    readme = (ROOT / "README.md").read_text()
    assert "Preemptible (spot) workers" in readme and f"exits {PREEMPTED_EXIT_CODE}" in readme


@pytest.mark.subprocess
def test_ctrl_c_gives_the_task_back_at_once(tmp_path):
    queue = f"file://{tmp_path}/q"
    send(queue, BOX)
    worker = subprocess.Popen(worker_chain(tmp_path, queue, delay=60, grace=20), stderr=subprocess.PIPE, text=True)
    started(tmp_path, worker.pid)
    worker.send_signal(signal.SIGINT)
    _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 130, stderr
    assert outputs(tmp_path) == []
    counts = open_queue(queue).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (1, 0, 0)  # back at once, not after the lease


def test_release_makes_a_lease_visible_at_once(queue_name):
    q = open_queue(queue_name)
    q.send([BOX])
    message = q.receive(30)
    assert message is not None and q.receive(30) is None
    message.release()
    counts = q.counts()
    assert (counts.waiting, counts.in_flight) == (1, 0)
    again = q.receive(30)
    assert again is not None and again.body == BOX and again.receive_count == 2
    again.delete()


NATIVE = """
    import hashlib, os
    from pathlib import Path
    def execute(bbox, log=None, delay=0.0):
        Path(log, f"{os.getpid()}_{bbox}").touch()
        hashlib.pbkdf2_hmac("sha256", b"k", b"salt", 10**9)  # minutes in C, deaf to signals until it returns
"""


@pytest.mark.slow
def test_a_task_stuck_in_native_code_is_given_back_by_the_backstop(tmp_path):
    queue = f"file://{tmp_path}/q"
    send(queue, BOX)
    chain = worker_chain(tmp_path, queue, delay=0, grace=0.2)
    (tmp_path / "slow.py").write_text(textwrap.dedent(NATIVE))
    worker = subprocess.Popen(chain, stderr=subprocess.PIPE, text=True)
    try:
        started(tmp_path, worker.pid)
        sent = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        visible_after = wait_visible(queue, 1, sent, timeout=0.2 + BACKSTOP_S + 3)
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:  # the hash would run for minutes
            worker.kill()
    assert worker.returncode == PREEMPTED_EXIT_CODE, stderr
    assert f"task {BOX} still running {BACKSTOP_S:g} s after --grace; gave it back, exiting 143" in stderr
    assert 0.2 + BACKSTOP_S <= visible_after and outputs(tmp_path) == []


WRITING = """
    import io, os, time
    from pathlib import Path
    from chunkflow.files import write_atomic

    class Trickle(io.RawIOBase):  # an upload that never ends: one byte every 20 ms
        def readable(self):
            return True
        def readinto(self, buffer):
            time.sleep(0.02)
            buffer[:1] = b"x"
            return 1

    def execute(bbox, log=None, delay=0.0):
        Path(log, f"{os.getpid()}_{bbox}").touch()
        out = Path(log).parent / "out"
        out.mkdir(exist_ok=True)
        write_atomic(out / f"{bbox}.bin", Trickle())
"""


@pytest.mark.subprocess
def test_a_task_abandoned_mid_write_leaves_no_partial_object(tmp_path):
    queue = f"file://{tmp_path}/q"
    send(queue, BOX)
    chain = worker_chain(tmp_path, queue, delay=0, grace=0.3)
    (tmp_path / "slow.py").write_text(textwrap.dedent(WRITING))
    worker = subprocess.Popen(chain, stderr=subprocess.PIPE, text=True)
    try:
        started(tmp_path, worker.pid)
        deadline = time.monotonic() + 30
        while not list((tmp_path / "out").glob(".*.part")):  # the write is under way
            assert time.monotonic() < deadline
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == PREEMPTED_EXIT_CODE, stderr
    assert list((tmp_path / "out").iterdir()) == [] and not (tmp_path / "done").exists()
    counts = open_queue(queue).counts()
    assert (counts.waiting, counts.in_flight) == (1, 0)
