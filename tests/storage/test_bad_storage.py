"""Bad storage for the bucket recipe, through the real console script against the local S3 + SQS server.

Each row: a bucket that does not exist, no credentials, a conditional write the store refuses (a job
manifest of other parameters already in the work dir; a store that does not implement conditional writes,
played by a small proxy in front of the server that answers them 501 as such stores do), an endpoint that
does not answer (127.0.0.1 on a closed port, with the retry budget lowered through the environment). Each
ends in one line naming the problem and the fix, exit code 1, within the retry budget, nothing (half) written.
"""

from __future__ import annotations

import http.client
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from chunkflow import files

#: seconds a row may take, start-up of the console script included (a dead endpoint without the lowered
#: budget takes cloud-files' 7 tries, about 30 s; with CHUNKFLOW_REMOTE_ATTEMPTS=1 and AWS_MAX_ATTEMPTS=1 one)
BUDGET_S = 20
AFFS = "create-info -v {bucket}/affs -z 16 64 64 -s 40 4 4 -b 16 64 64 -c 3 -d float32 -t affinity_map"
JOB = "agglomerate-volume -v {bucket}/affs -o {bucket}/seg -b 16 64 64 -m 4 16 16 -q sqs://{name}-seg --prepare -t"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


NO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
                  "AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": "{tmp}/none",
                  "AWS_CONFIG_FILE": "{tmp}/none", "HOME": "{tmp}/home"}  # fmt: skip
DEAD_ENDPOINT = {"AWS_ENDPOINT_URL": "http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard",
                 "CHUNKFLOW_REMOTE_ATTEMPTS": "1"}  # fmt: skip

# (id, commands that set the scene, the bad command, its environment, words of the one line, where nothing appears)
CASES = [
    ("no-bucket", [], "create-chunk -s 16 64 64 save-precomputed -v s3://{name}-missing/img", {},
     "bucket '{name}-missing' does not exist at http://127.0.0.1:", "s3://{name}-missing"),
    ("no-bucket-marker", [], "generate-tasks -b 0-16_0-64_0-64 -c 16 64 64 create-chunk mark-complete -p "
     "s3://{name}-missing/done/", {}, "bucket '{name}-missing' does not exist", "s3://{name}-missing"),
    ("no-credentials", [], "create-chunk -s 16 64 64 save-precomputed -v {bucket}/img", NO_CREDENTIALS,
     "no usable credentials for {bucket} (NoCredentialsError); set AWS_ACCESS_KEY_ID", "{bucket}"),
    ("refused-conditional-write", [AFFS, JOB + " 0.7"], JOB + " 0.5", {},
     "work dir {bucket}/seg.agglomerate-work holds job", "{bucket}"),
    ("store-without-conditional-writes", [], "generate-tasks -b 0-16_0-64_0-64 -c 16 64 64 create-chunk "
     "mark-complete -p {bucket}/done/", {"AWS_ENDPOINT_URL": "{proxy}"},
     "the store of {bucket}/done/0-16_0-64_0-64 does not support conditional writes", "{bucket}"),
    ("endpoint-does-not-answer", [], "create-chunk -s 16 64 64 save-precomputed -v {bucket}/img", DEAD_ENDPOINT,
     "cannot reach http://127.0.0.1:{port} for {bucket}; check AWS_ENDPOINT_URL", "{bucket}"),
]  # fmt: skip


class _NoConditionalWrites(http.server.BaseHTTPRequestHandler):
    """Forwards to the S3 server, but answers a conditional PUT 501 NotImplemented (older MinIO, some Ceph)."""

    upstream: tuple[str, int] = ("127.0.0.1", 0)

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.command == "PUT" and ("If-None-Match" in self.headers or "If-Match" in self.headers):
            error = (
                b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>NotImplemented</Code><Message>A header you "
                b"provided implies functionality that is not implemented</Message></Error>"
            )
            self.send_response(501)
            self.send_header("Content-Length", str(len(error)))
            self.end_headers()
            self.wfile.write(error)
            return
        connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        connection.request(self.command, self.path, body=body, headers=dict(self.headers))
        response = connection.getresponse()
        data = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

    def log_message(self, *args: object) -> None:  # the test's output is not the proxy's log
        pass


@pytest.fixture
def no_conditional_writes_proxy(moto_server) -> Iterator[str]:
    host, port = moto_server["AWS_ENDPOINT_URL"].removeprefix("http://").split(":")
    handler = type("Handler", (_NoConditionalWrites,), {"upstream": (host, int(port))})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _run(args: list[str], cwd: Path, env: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    """The real console script; ``None`` in ``env`` removes that variable."""
    exe = shutil.which("chunkflow", path=str(Path(sys.executable).parent)) or "chunkflow"
    environment = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    return subprocess.run([exe, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def _objects(url: str) -> dict[str, bytes | None]:
    return files.read_many(url, files.list_names(url))


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("scene", "command", "env", "words", "untouched"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_storage(s3_bucket, no_conditional_writes_proxy, tmp_path, scene, command, env, words, untouched):
    name, port, proxy = f"bad-{uuid.uuid4().hex[:8]}", _closed_port(), no_conditional_writes_proxy
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (tmp_path / "home").mkdir()

    def fill(text: str) -> str:
        return text.format(bucket=s3_bucket, name=name, port=port, tmp=tmp_path, proxy=proxy)

    for setup in scene:
        done = _run(fill(setup).split(), cwd, {})
        assert done.returncode == 0, done.stderr[-2000:]
    missing_bucket = untouched.startswith("s3://{name}")
    before = {} if missing_bucket else _objects(fill(untouched))
    start = time.monotonic()
    proc = _run(fill(command).split(), cwd, {k: (None if v is None else fill(v)) for k, v in env.items()})
    elapsed = time.monotonic() - start
    errors = [line for line in proc.stderr.splitlines() if line.startswith("chunkflow: error:")]
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and len(errors) == 1, proc.stderr[-2000:]
    assert fill(words) in errors[0], errors[0]
    assert "testing" not in proc.stderr  # no credential is printed
    assert elapsed < BUDGET_S, f"{elapsed:.1f} s"
    # nothing written: the bucket never appeared, or holds exactly what it held before
    if missing_bucket:
        import boto3

        assert f"{name}-missing" not in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    else:
        assert _objects(fill(untouched)) == before
    assert list(cwd.iterdir()) == [], "a bucket path was written as a local directory"
