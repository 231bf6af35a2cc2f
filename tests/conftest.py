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
