"""Queue benchmarks; prints JSON lines.

- inserts/s into the file queue (target >= 3,000/s; python-task-queue's file queue: ~2,400/s here);
- inserts into SQS (moto server on 127.0.0.1) as a ratio to bare boto3 send_message_batch (target >= 0.9x);
- fetch + delete round trips per second, both queues;
- 2 local workers vs 1 on a CPU-bound chain (target >= 1.8x).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from _common import emit  # noqa: E402

from chunkflow.queues import open_queue  # noqa: E402

N = 5000


def bodies(n: int) -> list[str]:
    return [f"{i}-{i + 64}_0-512_0-512" for i in range(n)]


def bench_file_queue() -> None:
    tmp = tempfile.mkdtemp()
    try:
        rates = []
        for round_ in range(5):  # the filesystem here is noisy: median of 5 fresh queues
            q = open_queue(f"file://{tmp}/q{round_}")
            start = time.perf_counter()
            q.send(bodies(N))
            rates.append(N / (time.perf_counter() - start))
        insert = sorted(rates)[2]
        start = time.perf_counter()
        for _ in range(1000):
            q.receive(60).delete()
        emit(
            benchmark="file_queue",
            inserts_per_s=insert,
            inserts_per_s_min=min(rates),
            inserts_per_s_max=max(rates),
            target_inserts_per_s=3000,
            fetch_delete_per_s=1000 / (time.perf_counter() - start),
        )
    finally:
        shutil.rmtree(tmp)


def bench_sqs() -> None:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        client = boto3.client("sqs")
        msgs = bodies(500)
        ratios = []
        for _ in range(3):  # moto slows down as a queue grows: fresh queues each round
            ours = open_queue(f"sqs://bench-{uuid.uuid4().hex[:8]}")
            bare_url = client.create_queue(QueueName=f"bare-{uuid.uuid4().hex[:8]}")["QueueUrl"]
            start = time.perf_counter()
            ours.send(msgs)
            t_ours = time.perf_counter() - start
            start = time.perf_counter()
            for i in range(0, len(msgs), 10):  # bare: the straightforward sequential batch loop
                client.send_message_batch(
                    QueueUrl=bare_url,
                    Entries=[{"Id": str(j), "MessageBody": b} for j, b in enumerate(msgs[i : i + 10])],
                )
            t_bare = time.perf_counter() - start
            ratios.append(t_bare / t_ours)
        ratios.sort()
        ours = open_queue(f"sqs://bench-{uuid.uuid4().hex[:8]}")
        ours.send(msgs[:100])
        start = time.perf_counter()
        for _ in range(100):
            ours.receive(60).delete()
        emit(
            benchmark="sqs_queue",
            inserts_per_s=len(msgs) / t_ours,
            bare_boto3_inserts_per_s=len(msgs) / t_bare,
            throughput_ratio_vs_bare=ratios[1],
            target_ratio_min=0.9,
            fetch_delete_per_s=100 / (time.perf_counter() - start),
        )
    finally:
        server.stop()


def bench_workers(tasks: int = 48) -> None:
    """A CPU-bound chain (create + 3D Gaussian per task) run by 1 and 2 worker processes; also the
    fixed cost of starting the workers on an empty queue, which does not parallelise."""
    tmp = tempfile.mkdtemp()
    plugin = os.path.join(tmp, "work.py")
    with open(plugin, "w") as f:
        f.write(
            "import numpy as np\nfrom scipy.ndimage import gaussian_filter\n"
            "def execute(chunk):\n    gaussian_filter(chunk.array.astype('float32'), 2.0)\n"
        )

    def run(workers: int, n: int, name: str) -> float:
        queue = f"file://{tmp}/{name}"
        q = open_queue(queue)
        if n:
            q.send([f"0-64_0-256_{x}-{x + 256}" for x in range(0, n * 256, 256)])
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "chunkflow",
                "worker",
                "-p",
                str(workers),
                "--",
                "fetch-task",
                "-q",
                queue,
                "-r",
                "0",
                "create-chunk",
                "-p",
                "random",
                "plugin",
                "-f",
                plugin,
                "-i",
                "chunk",
                "delete-task-in-queue",
            ],
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start

    try:
        startup = {w: min(run(w, 0, f"empty{w}-{i}") for i in range(3)) for w in (1, 2)}
        times = {w: run(w, tasks, f"q{w}") for w in (1, 2)}
        work = {w: times[w] - startup[w] for w in (1, 2)}
        emit(
            benchmark="local_workers",
            tasks=tasks,
            one_worker_s=times[1],
            two_workers_s=times[2],
            speedup=times[1] / times[2],
            startup_s=startup,
            speedup_after_startup=work[1] / work[2],
            target_speedup_min=1.8,
            cpu_cores=os.cpu_count(),
        )
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    bench_file_queue()
    bench_sqs()
    bench_workers()
