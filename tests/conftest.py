from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# the volume conformance suite lives in the package (chunkflow.testing): keep pytest's assert messages
pytest.register_assert_rewrite("chunkflow.testing")

# shared machines are noisy: judge properties, not per-example speed
settings.register_profile("chunkflow", deadline=None, max_examples=60)
settings.load_profile("chunkflow")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_cli():
    """Run the real console script in a subprocess; returns CompletedProcess."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300):
        exe = shutil.which("chunkflow", path=str(Path(sys.executable).parent)) or "chunkflow"
        return subprocess.run(
            [exe, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, **(env or {})},
        )  # fmt: skip

    return run


@pytest.fixture
def cli_runner():
    """Invoke chunkflow in-process through its main(); returns (exit_code, stderr-captured) via capsys."""
    from chunkflow.cli import main

    return main


@pytest.fixture(autouse=True)
def _no_stale_log_handlers():
    """A test that runs main() adds chunkflow's log handler; drop handlers a test added once it ends,
    so handlers do not pile up across the suite."""
    root = logging.getLogger()
    before = list(root.handlers)
    yield
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    """One local S3 + SQS server (moto in server mode on 127.0.0.1, a free port, dummy credentials) for the
    session; every s3:// and sqs:// client reaches it through ``AWS_ENDPOINT_URL``. Yields the environment."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


@pytest.fixture
def s3_bucket(moto_server):
    """A new, empty bucket on the local S3 server; returns ``s3://<name>``."""
    import uuid

    import boto3

    name = f"lab-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return f"s3://{name}"
