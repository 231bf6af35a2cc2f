"""Bad storage for the bucket recipe, through the real console script against the local S3 + SQS server.

Each row: a bucket that does not exist, no credentials, a conditional write the store refuses (a job
manifest of other parameters already in the work dir), an endpoint that does not answer (127.0.0.1 on a
closed port, with the retry budget lowered through the environment). Each ends in one line naming the
problem and the fix, exit code 1, within the retry budget, with nothing (half) written.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
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
    ("endpoint-does-not-answer", [], "create-chunk -s 16 64 64 save-precomputed -v {bucket}/img", DEAD_ENDPOINT,
     "cannot reach http://127.0.0.1:{port} for {bucket}; check AWS_ENDPOINT_URL", "{bucket}"),
]  # fmt: skip


def _run(args: list[str], cwd: Path, env: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    """The real console script; ``None`` in ``env`` removes that variable."""
    exe = shutil.which("chunkflow", path=str(Path(sys.executable).parent)) or "chunkflow"
    environment = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    return subprocess.run([exe, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def _objects(url: str) -> dict[str, bytes | None]:
    return files.read_many(url, files.list_names(url))


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize(("scene", "command", "env", "words", "untouched"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_storage(s3_bucket, tmp_path, scene, command, env, words, untouched):
    name, port = f"bad-{uuid.uuid4().hex[:8]}", _closed_port()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (tmp_path / "home").mkdir()

    def fill(text: str) -> str:
        return text.format(bucket=s3_bucket, name=name, port=port, tmp=tmp_path)

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
