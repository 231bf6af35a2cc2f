"""The README's "A hybrid-cloud run" on a local S3 + SQS server vs the same block on local disk (issue 22).

The block is run as printed (bash, two worker processes per ``worker -p 2`` line), stage by stage: once with
``B``/``Q`` on the bucket and SQS of a moto server started here (in this process, on 127.0.0.1, every request
counted by a WSGI wrapper), once with ``B``/``Q`` on local disk and file queues; the order alternates across
``--repeat`` rounds. Prints one JSON line per stage and run (wall seconds, tasks, requests by kind and per
task) and a summary line with the bucket / disk time ratio (goal: at most 1.3).

    .venv/bin/python benchmarks/hybrid_cloud.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402 - first: it takes this folder off sys.path (benchmarks/queue.py)

ROOT = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"^# (\d)\. (\w[\w-]*)", re.M)


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    body = text.split("\n## A hybrid-cloud run\n", 1)[1].split("\n## ", 1)[0]
    lines, started = [], False
    for line in body.splitlines():
        if line.startswith("    "):
            started = True
            lines.append(line[4:])
        elif started and line.strip():
            break
    return "\n".join(lines) + "\n"


def stages(block: str) -> tuple[str, list[tuple[str, str]]]:
    """The block's set-up (exports, bucket) and its numbered stages, each as bash text."""
    marks = list(STAGE.finditer(block))
    setup = block[: marks[0].start()]
    parts = [
        (m[2], block[m.start() : (marks[i + 1].start() if i + 1 < len(marks) else len(block))])
        for i, m in enumerate(marks)
    ]
    return setup, parts


class CountingServer:
    """moto's server (S3 + SQS) on 127.0.0.1, counting every request by service and kind."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        self.counts: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)

        def counting(environ: dict[str, Any], start_response: Any) -> Any:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.startswith("AmazonSQS."):
                kind = "sqs " + target.split(".", 1)[1]
            elif "Action=" in environ.get("QUERY_STRING", "") or environ.get("CONTENT_TYPE", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                kind = "sqs query"
            else:
                kind = (
                    "s3 "
                    + environ["REQUEST_METHOD"]
                    + (" list" if "list-type" in environ.get("QUERY_STRING", "") else "")
                )
            with self.lock:
                self.counts[kind] += 1
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, counting, True, request_handler=MotoRequestHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self) -> collections.Counter[str]:
        with self.lock:
            counts, self.counts = self.counts, collections.Counter()
        return counts

    def stop(self) -> None:
        self.server.shutdown()


#: the block's crop (as printed) or the production run's: (the sizes, the inference's --global-bbox)
CROPS = {"readme": ("32 128 256", "192-224_128-256_128-384"), "production": ("32 256 256", "192-224_128-384_128-384")}

#: lines a worker prints as it stops (after its last task): the drain tail, not work
TAIL = re.compile(r"stops: \d+ tasks done|chunkflow.progress: \d+ tasks done, \d+ skipped|workers? finished")


def timed(command: str, env: dict[str, str]) -> tuple[float, float, str]:
    """Run bash ``command``; (wall seconds, seconds until its last line that is not a worker's stop, stderr)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        ["bash", "-c", command], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    lines, last = [], 0.0
    for line in proc.stderr:
        lines.append(line)
        if not TAIL.search(line):
            last = time.perf_counter() - start
    proc.wait()
    stderr = "".join(lines)
    if proc.returncode:
        raise RuntimeError(stderr[-2000:])
    return time.perf_counter() - start, last, stderr


def run(block: str, env: dict[str, str], where: str, server: CountingServer) -> dict[str, Any]:
    setup, parts = stages(block)
    exports = "\n".join(line for line in setup.splitlines() if line.startswith("export "))
    timed(f"set -euo pipefail\n{setup}", env)
    server.take()
    total = work = 0.0
    rows = []
    for name, text in parts:
        wall, done, stderr = timed(f"set -euo pipefail\n{exports}\n{text}", env)
        counts = server.take()
        tasks = sum(int(n) for n in re.findall(r"stops: (\d+) tasks done", stderr)) or 1
        requests = sum(counts.values())
        total, work = total + wall, work + done
        row = {"run": where, "stage": name, "wall_s": round(wall, 2), "until_last_result_s": round(done, 2),
               "tasks": tasks, "requests": requests, "requests_per_task": round(requests / tasks, 1),
               "by_kind": dict(sorted(counts.items()))}  # fmt: skip
        rows.append(row)
        emit(**row)
    emit(run=where, wall_s=round(total, 2), until_last_result_s=round(work, 2))
    return {"run": where, "wall_s": total, "work_s": work, "stages": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="rounds (bucket and disk each run once per round)")
    parser.add_argument(
        "--crop",
        choices=sorted(CROPS),
        default="readme",
        help="the README's 32x128x256 crop, or the production run's 32x256x256 (twice the tasks)",
    )
    args = parser.parse_args(argv)
    import logging

    from chunkflow.demo import write_sample

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the server's request log is counted, not printed
    server = CountingServer()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CHUNKFLOW_"))}
    totals: dict[str, list[dict[str, Any]]] = {"bucket": [], "disk": []}
    with tempfile.TemporaryDirectory(prefix="cf-hybrid-") as tmp:
        write_sample(Path(tmp) / "sample")
        for round_ in range(args.repeat):
            order = ["bucket", "disk"] if round_ % 2 == 0 else ["disk", "bucket"]
            for where in order:
                name = f"bench-{uuid.uuid4().hex[:8]}"
                block = readme_block().replace("http://127.0.0.1:5000", server.endpoint)
                block = block.replace("demo-output/sample", f"{tmp}/sample").replace("lab-hybrid", name)
                for readme_value, value in zip(CROPS["readme"], CROPS[args.crop], strict=True):
                    block = block.replace(readme_value, value)
                if where == "disk":
                    block = re.sub(
                        r"^export B=\S+ Q=\S+",
                        f"export B=file://{tmp}/{name} Q=file://{tmp}/{name}-q",
                        block,
                        count=1,
                        flags=re.M,
                    )
                totals[where].append(run(block, base, where, server))
    server.stop()
    best = {where: min(runs, key=lambda r: r["wall_s"]) for where, runs in totals.items()}
    emit(
        summary=f"hybrid-cloud recipe ({args.crop} crop), bucket (moto S3 + SQS) / local disk (file queues), best",
        wall_ratio=round(best["bucket"]["wall_s"] / best["disk"]["wall_s"], 2),
        until_last_result_ratio=round(best["bucket"]["work_s"] / best["disk"]["work_s"], 2),
        bucket_wall_s=[round(r["wall_s"], 1) for r in totals["bucket"]],
        disk_wall_s=[round(r["wall_s"], 1) for r in totals["disk"]],
        goal=1.3,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
