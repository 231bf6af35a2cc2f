"""The README's "A hybrid-cloud run", end to end, against the local S3 + SQS server (issue 22).

The block under that heading is run from the repository root, command by command, with only the server's
address, the bucket/queue name (one per test) and the sample folder replaced. Each ``chunkflow worker -p 2 --
CHAIN &`` line starts two workers as two machines would: a workstation worker (``chunkflow worker -p 1 --
CHAIN``) and a spot machine's (``chunkflow CHAIN``, what the container's entry point runs), each in a new
empty directory with its own HOME and TMPDIR, so they share nothing but the server. During inference the
spot worker gets SIGTERM mid-task (its notice, ``--grace``, shorter than the task) and a replacement
starts; during post-processing the spot worker gets SIGKILL mid-task and a replacement starts. Then every
object the run left on the bucket equals, decoded, the one the same block leaves with ``B`` and ``Q`` on
local disk (run as printed, through bash), and so does every volume, read back as arrays.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTION = "A hybrid-cloud run"
README_ENDPOINT = "http://127.0.0.1:5000"
README_NAME = "lab-hybrid"
WORKER_LINE = re.compile(r"^chunkflow worker -p 2 -- (?P<chain>fetch-task -q (?P<queue>\S+) .*) &$", re.S)


def readme_block(section: str = SECTION) -> str:
    """The first indented block of the README section ``section``."""
    text = (ROOT / "README.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    lines, started = [], False
    for line in body.splitlines():
        if line.startswith("    "):
            started = True
            lines.append(line[4:])
        elif started and line.strip():
            break
    return "\n".join(lines) + "\n"


def commands(block: str) -> list[str]:
    """The block's commands, continuation lines joined, comment lines dropped."""
    out, current = [], ""
    for line in block.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.strip()
        if current.endswith("\\"):
            current = current[:-1].rstrip() + " "
            continue
        out.append(current)
        current = ""
    return out


def adapt(
    block: str, endpoint: str, name: str, sample: Path, storage: str | None = None, queues: str | None = None
) -> str:
    """The README block for this server, a fresh bucket/queue name and the sample; ``storage``/``queues``
    replace ``B`` and ``Q`` (the same recipe on local disk)."""
    block = block.replace(README_ENDPOINT, endpoint).replace("demo-output/sample", str(sample))
    if storage is not None:
        block = re.sub(r"^export B=\S+ Q=\S+", f"export B={storage} Q={queues}", block, count=1, flags=re.M)
    return block.replace(README_NAME, name)


@dataclass
class Worker:
    role: str  # workstation | spot
    proc: subprocess.Popen
    machine: Path  # cwd/, home/ and tmp/ of its own, and its log

    @property
    def log(self) -> str:
        return (self.machine / "worker.log").read_text()


@dataclass
class Cluster:
    """Runs the README block's commands: the frontend here, each worker in a directory of its own."""

    tmp: Path
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)
    started: list[Worker] = field(default_factory=list)  # every worker, for the clean-up of a failed test
    stage: int = -1

    def frontend(self, command: str) -> None:
        proc = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{command}"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"`{command[:200]}` exited {proc.returncode}:\n{proc.stderr[-3000:]}"

    def start(self, role: str, chain: str, **extra: str) -> Worker:
        machine = self.tmp / f"{self.stage}-{role}-{len(self.workers)}"
        for sub in ("cwd", "home", "tmp"):
            (machine / sub).mkdir(parents=True)
        env = {**self.env, "HOME": str(machine / "home"), "TMPDIR": str(machine / "tmp"), "PWD": str(machine / "cwd"),
               **extra}  # fmt: skip
        line = f"chunkflow worker -p 1 -- {chain}" if role == "workstation" else f"chunkflow {chain}"
        with open(machine / "worker.log", "w") as log:
            proc = subprocess.Popen(
                ["bash", "-c", f"exec {line}"],
                cwd=machine / "cwd",
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(role, proc, machine)
        self.workers.append(worker)
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:  # each in a process group of its own: `worker -p 1` and its child
            if worker.proc.poll() is None:
                os.killpg(worker.proc.pid, signal.SIGKILL)
                worker.proc.wait(timeout=30)

    def wait(self, timeout: float = 600) -> list[Worker]:
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            worker.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        done, self.workers = self.workers, []
        return done


def queue_counts(queue: str) -> tuple[int, int]:
    from chunkflow.queues import open_queue

    counts = open_queue(queue).counts()
    return counts.waiting, counts.in_flight


def wait_for(what: str, check, timeout: float) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - start


def polling(worker: Worker, endpoint: str) -> bool:
    """Whether the worker is up and talking to the server (it polls the queue)."""
    import psutil

    port = int(endpoint.rsplit(":", 1)[1])
    try:
        connections = psutil.Process(worker.proc.pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return False
    return any(c.raddr and c.raddr.port == port for c in connections)


def preempt(cluster: Cluster, spot: Worker, chain: str, queue: str, markers: str) -> dict[str, float]:
    """SIGTERM the spot worker mid-task and start a replacement (the autoscaler's); the seconds from the signal
    until its task is visible again, the replacement polls, the task is taken again and redone (its marker)."""
    from chunkflow import files
    from chunkflow.queues.preemption import PREEMPTED_EXIT_CODE

    wait_for("both workers hold a task", lambda: queue_counts(queue) == (0, 2), timeout=120)
    time.sleep(1.0)  # well inside the task: an inference task takes several seconds
    sent = time.monotonic()
    spot.proc.send_signal(signal.SIGTERM)
    replacement = cluster.start("spot", chain)
    visible = ready = retaken = None
    while retaken is None:  # waiting 0 -> 1 (given back) -> 0 (taken again); a take faster than a poll counts too
        now = time.monotonic() - sent
        assert now < 90, "the task was not given back and taken again within 90 s"
        waiting, _ = queue_counts(queue)
        if ready is None and polling(replacement, cluster.env["AWS_ENDPOINT_URL"]):
            ready = now
        if visible is None and (waiting == 1 or spot.proc.poll() is not None):
            visible = now
        if visible is not None and waiting == 0:
            retaken = now
        time.sleep(0.05)
    assert spot.proc.wait(timeout=60) == PREEMPTED_EXIT_CODE, spot.log[-3000:]
    exited = time.monotonic() - sent
    (box,) = re.findall(r"task (\S+) did not finish within --grace 1 s; giving it back", spot.log)
    assert not files.exists(f"{markers}/{box}")  # no marker for the abandoned task
    wait_for("the task is redone", lambda: files.exists(f"{markers}/{box}"), timeout=300)
    return {
        "visible_s": visible,
        "ready_s": ready if ready is not None else retaken,
        "retaken_s": retaken,
        "exited_s": exited,
        "redone_s": time.monotonic() - sent,
    }


def objects(root: str) -> dict[str, bytes | None]:
    """Every object below ``root``, decoded (gzip), by name; local ``.gz`` files under their object's name."""
    from chunkflow import files

    names = sorted({n.removesuffix(".gz") for n in files.list_names(root) if not Path(n).name.startswith(".")})
    return files.read_many(root, names)


def test_readme_block_is_found_and_is_on_buckets():
    block = readme_block()
    lines = commands(block)
    assert lines[0].startswith("export AWS_ENDPOINT_URL=") and "export B=s3://" in block and "Q=sqs://" in block
    workers = [line for line in lines if WORKER_LINE.match(line)]
    assert len(workers) == 3 and all("$Q-" in w for w in workers)
    # every path the chains and commands name is on the bucket (B), the queue on SQS (Q), the model where MODEL is
    for line in lines[4:]:
        for word in shlex.split(line, comments=True):
            if "/" in word and not word.startswith("-"):
                assert word.startswith(("$B/", "$Q-", "demo-output/", "$MODEL")), (word, line)
    for stage in (
        "inference",
        "agglomerate-volume",
        "staged-task --job $B/",
        "downsample-upload",
        "mesh-manifest",
        "skeletonize",
        "aggregate-skeleton-fragments",
        "evaluate-segmentation",
    ):
        assert stage in block, stage


@pytest.mark.slow
@pytest.mark.subprocess
def test_hybrid_cloud_run_as_in_the_readme(moto_server, tmp_path, request):
    from chunkflow.demo import write_sample
    from chunkflow.queues.preemption import PREEMPTED_EXIT_CODE
    from chunkflow.volumes import open_volume

    sample = tmp_path / "sample"
    write_sample(sample)
    name = f"hyb-{uuid.uuid4().hex[:10]}"
    endpoint = moto_server["AWS_ENDPOINT_URL"]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CHUNKFLOW_"))}

    # the same recipe on local disk, pasted into bash as printed (two worker processes per `worker -p 2`); it
    # runs beside the bucket run (which waits out a lease), and is compared with it at the end
    started = time.monotonic()
    local = tmp_path / "local"
    block = adapt(
        readme_block(), endpoint, f"{name}-l", sample, storage=f"file://{local}/data", queues=f"file://{local}/q"
    )
    with open(tmp_path / "local.log", "w") as log:
        reference = subprocess.Popen(
            ["bash", "-c", "set -euo pipefail\n" + block],
            cwd=ROOT,
            env=base_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    request.addfinalizer(lambda: reference.poll() is None and os.killpg(reference.pid, signal.SIGKILL))

    # on the bucket and SQS: workers on "machines" of their own; a spot notice mid-inference, a vanished machine
    block = adapt(readme_block(), endpoint, name, sample)
    lines = commands(block)
    exports = "\n".join(line for line in lines if line.startswith("export "))
    env_dump = subprocess.run(
        ["bash", "-c", f"{exports}\nenv -0"], cwd=ROOT, env=base_env, capture_output=True, text=True, check=True
    ).stdout
    env = dict(item.split("=", 1) for item in env_dump.split("\0") if "=" in item)
    assert env["AWS_ENDPOINT_URL"] == endpoint and "AWS_SESSION_TOKEN" not in env  # plain keys, as a lab has them
    cluster = Cluster(tmp_path / "machines", env)
    cluster.tmp.mkdir()
    request.addfinalizer(cluster.stop_all)
    bucket = f"s3://{name}"
    stages: list[tuple[str, list[Worker]]] = []
    measured: dict[str, float] = {}
    stage_queue = ""
    for line in lines:
        if line.startswith("export "):
            continue
        match = WORKER_LINE.match(line)
        if match is None and line != "wait":
            cluster.frontend(line)
            continue
        if line == "wait":
            stages.append((stage_queue, cluster.wait()))
            continue
        cluster.stage += 1
        chain = match["chain"]
        stage_queue = match["queue"].replace("$Q", f"sqs://{name}")
        cluster.start("workstation", chain)
        spot = cluster.start("spot", chain, CHUNKFLOW_GRACE="1")  # a notice shorter than its task
        if cluster.stage == 0:  # inference: the spot machine gets its notice mid-task
            measured.update(preempt(cluster, spot, chain, stage_queue, f"{bucket}/done/inference"))
        elif cluster.stage == 2:  # post-processing: the spot machine vanishes mid-task
            wait_for("both workers hold a task", lambda q=stage_queue: queue_counts(q)[1] == 2, timeout=120)
            time.sleep(0.5)
            spot.proc.send_signal(signal.SIGKILL)
            assert spot.proc.wait(timeout=30) == -signal.SIGKILL
            cluster.start("spot", chain)  # the autoscaler's replacement machine
    print(
        f"\nSIGTERM mid-task: its task visible again after {measured['visible_s']:.1f} s, the replacement polling "
        f"after {measured['ready_s']:.1f} s, the task taken again after {measured['retaken_s']:.1f} s and redone "
        f"after {measured['redone_s']:.1f} s; the worker exited after {measured['exited_s']:.1f} s"
    )
    # within seconds, not after the 30 s lease: given back once the grace (1 s) is out and the main thread is
    # interrupted (in native code: the backstop, 3 s later), then taken at the next poll of a worker that is up
    assert measured["visible_s"] < 15, measured
    assert measured["retaken_s"] - max(measured["visible_s"], measured["ready_s"]) < 10, measured
    bucket_s = time.monotonic() - started
    assert reference.wait(timeout=600) == 0, (tmp_path / "local.log").read_text()[-4000:]
    local_log = (tmp_path / "local.log").read_text()
    assert len(re.findall(r"stops: \d+ tasks done, 0 failed", local_log)) == 6, local_log[-4000:]
    print(f"bucket run {bucket_s:.0f} s, both runs {time.monotonic() - started:.0f} s")

    # every worker: nothing left in its working directory, no traceback, the exit code of its fate
    assert [len(ws) for _, ws in stages] == [3, 2, 3]
    for queue, workers in stages:
        for worker in workers:
            assert not any((worker.machine / "cwd").iterdir()), worker.machine  # nothing in its working directory
            assert "Traceback" not in worker.log, worker.log[-3000:]
            code = worker.proc.returncode
            if code not in (PREEMPTED_EXIT_CODE, -signal.SIGKILL):
                assert code == 0, (queue, worker.role, worker.log[-3000:])
                assert re.search(rf"worker on {re.escape(queue)} stops: \d+ tasks done, 0 failed", worker.log)
    for queue, _ in stages:
        from chunkflow.queues import open_queue

        counts = open_queue(queue).counts()
        assert (counts.waiting, counts.in_flight, counts.dead) == (0, 0, 0), queue

    # the bucket equals the local run: every object (volumes' blocks, info, meshes, skeletons, done markers,
    # scores) decoded byte for byte, the same names, no work dir or temporary left
    remote, here = objects(bucket), objects(f"file://{local}/data")
    assert sorted(remote) == sorted(here)
    assert not [n for n in remote if "agglomerate-work" in n or n.endswith((".part", ".lock"))]
    prefixes = {n.split("/")[0] + "/" + n.split("/")[1] for n in remote if n.count("/") >= 1}
    assert {"seg/mesh", "seg/skeletons", "done/inference", "seg/8_8_40", "seg/16_16_40"} <= prefixes, prefixes
    assert len([n for n in remote if n.startswith("seg/mesh/") and n.endswith(":0")]) >= 10
    assert len([n for n in remote if n.startswith("seg/skeletons/") and n.split("/")[-1].isdigit()]) >= 10
    different = [n for n in remote if remote[n] != here[n]]
    assert not different, different[:20]
    for volume, mips in (("image", 1), ("gt", 1), ("affs", 1), ("seg", 3)):
        for mip in range(mips):
            got = open_volume(f"{bucket}/{volume}", mip=mip).read()
            want = open_volume(f"file://{local}/data/{volume}", mip=mip).read()
            assert got.bbox == want.bbox and got.dtype == want.dtype, (volume, mip)
            np.testing.assert_array_equal(got.array, want.array, err_msg=f"{volume} mip {mip}")
    import json

    scores = json.loads(remote["scores.json"] or b"{}")
    assert scores["adapted_rand_error"] < 0.05
