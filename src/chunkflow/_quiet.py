"""Silence C/C++ libraries that print progress to stdout (waterz does, at every call)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_stdout"]

_lock = threading.Lock()


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Point file descriptor 1 at /dev/null while the block runs (Python-level writes are flushed first)."""
    with _lock:
        sys.stdout.flush()
        try:
            saved = os.dup(1)
        except OSError:  # no fd 1 (embedded interpreters): nothing to silence
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
