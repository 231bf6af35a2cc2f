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

# the suite's own environment, for this process and the ones it starts; restored when pytest ends
SUITE_ENVIRONMENT = {
    # a remote address that does not answer (a bad-input case, no network) fails at the first try, not after
    # cloud-files' 7 tries with backoff (chunkflow.files.REMOTE_ATTEMPTS_ENV)
    "CHUNKFLOW_REMOTE_ATTEMPTS": "1",
}
_saved_environment: dict[str, str | None] = {}


def pytest_configure(config):
    for name, value in SUITE_ENVIRONMENT.items():
        _saved_environment[name] = os.environ.get(name)
        os.environ.setdefault(name, value)


def pytest_unconfigure(config):
    for name, value in _saved_environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def run_cli():
    """Run the real console script in a subprocess; returns CompletedProcess."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300):
        exe = shutil.which("chunkflow", path=str(Path(sys.executable).parent)) or "chunkflow"
        return subprocess.run(
            [exe, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )

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


@pytest.fixture(scope="session")
def moto_session():
    """One local S3 + SQS server (moto in server mode on 127.0.0.1, a free port) per session, that is per
    pytest-xdist worker. Yields the environment that points clients at it; ``moto_server`` applies it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the server's request log is not the test's output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # port 0: the system picks a free one
    server.start()
    port = server.get_host_and_port()[1]
    yield {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    server.stop()


@pytest.fixture
def moto_server(moto_session, monkeypatch):
    """The session's local S3 + SQS server, dummy credentials: every s3:// and sqs:// client of the test (and
    the processes it starts) reaches it through ``AWS_ENDPOINT_URL``, set for this test only, so that a later
    test on the same worker does not meet it by accident. Returns the environment."""
    for name, value in moto_session.items():
        monkeypatch.setenv(name, value)
    return dict(moto_session)


@pytest.fixture
def s3_bucket(moto_server):
    """A new, empty bucket on the local S3 server; returns ``s3://<name>``."""
    import uuid

    import boto3

    name = f"lab-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return f"s3://{name}"


# ---- markers for `make test-fast` (README, "Development"): the in-process tests only --------------------------
SUBPROCESS_FIXTURES = {"run_cli"}
SERVER_FIXTURES = {"moto_session", "moto_server", "sqs_endpoint", "s3_bucket"}
# commands the standard library itself runs on an import (ctypes.util.find_library, platform): not the test's
_LIBRARY_HELPERS = {"ldconfig", "gcc", "cc", "ld", "objdump", "uname"}


def pytest_collection_modifyitems(config, items):
    """Mark tests by the fixtures they use: the console script (``run_cli``) -> subprocess; the local S3/SQS
    server -> server. Tests that start processes or servers themselves carry the mark in their module."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if names & SUBPROCESS_FIXTURES:
            item.add_marker(pytest.mark.subprocess)
        if names & SERVER_FIXTURES or params.get("queue_name") == "sqs":
            item.add_marker(pytest.mark.server)
    if hasattr(config, "workerinput"):  # a pytest-xdist worker
        # in parallel, the slow tests go first (the demo and the README recipes take minutes): started last,
        # one of them would run alone at the end while the other workers sit idle
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _in_process_only(request, monkeypatch):
    """Where ``-m`` leaves out subprocess tests (``make test-fast``), an unmarked test that starts a process
    is an error that names the mark, so the fast loop stays in-process as tests are added."""
    if "not subprocess" not in (request.config.getoption("markexpr") or ""):
        yield
        return
    import multiprocessing.process

    started: list[str] = []
    popen_init, process_start = subprocess.Popen.__init__, multiprocessing.process.BaseProcess.start

    def init(self, args, *rest, **kwargs):
        words = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
        if Path(os.fsdecode(words[0])).name.split()[0] not in _LIBRARY_HELPERS:
            started.append(" ".join(os.fsdecode(w) for w in words)[:120])
        popen_init(self, args, *rest, **kwargs)

    def start(self):
        started.append(f"multiprocessing {type(self).__name__}")
        process_start(self)

    monkeypatch.setattr(subprocess.Popen, "__init__", init)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start)
    yield
    if started:
        why = f"starts a process ({started[0]}) but is not marked: add @pytest.mark.subprocess (or slow)"
        pytest.fail(f"{why}, so that make test-fast leaves it to make test", pytrace=False)
