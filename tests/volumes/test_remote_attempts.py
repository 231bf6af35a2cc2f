"""``CHUNKFLOW_REMOTE_ATTEMPTS`` bounds cloud-files' retries; unset, cloud-files keeps its own."""

from __future__ import annotations

import logging
import time

import pytest

from chunkflow.errors import VolumeFormatError
from chunkflow.files import REMOTE_ATTEMPTS_ENV
from chunkflow.volumes.precomputed import PrecomputedVolume, _cloudvolume


def _http_get_attempts() -> int:
    from cloudfiles.interfaces import HttpInterface

    return HttpInterface.get_file.retry.stop.max_attempt_number


def test_the_variable_bounds_the_tries_and_unset_restores_cloud_files_own(monkeypatch, caplog):
    monkeypatch.setenv(REMOTE_ATTEMPTS_ENV, "2")
    _cloudvolume()
    assert _http_get_attempts() == 2
    monkeypatch.delenv(REMOTE_ATTEMPTS_ENV)
    _cloudvolume()
    assert _http_get_attempts() == 7  # cloud-files' default, what users get
    monkeypatch.setenv(REMOTE_ATTEMPTS_ENV, "zero")
    with caplog.at_level(logging.WARNING):
        _cloudvolume()
    assert _http_get_attempts() == 7 and "is not a whole number" in caplog.text


def test_an_address_that_does_not_answer_fails_at_once_with_one_try(monkeypatch):
    monkeypatch.setenv(REMOTE_ATTEMPTS_ENV, "1")
    start = time.monotonic()
    with pytest.raises(VolumeFormatError, match="cannot open precomputed volume http://127.0.0.1:9/vol"):
        PrecomputedVolume.open("http://127.0.0.1:9/vol")
    assert time.monotonic() - start < 10  # 7 tries with backoff take 10-60 s
