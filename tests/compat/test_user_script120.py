"""A typical chunkflow 1.2.0 user script (``user_script120.py``, 24 calls of 1.2.0's Python API) gives
1.2.0's results on ours: each call against 1.2.0's result recorded by ``record120.py``
(``data/ref120_user_script.json``)."""

import json
from pathlib import Path

import pytest

from tests.compat.user_script120 import run

HERE = Path(__file__).parent
RECORDED = json.loads((HERE / "data" / "ref120_user_script.json").read_text())


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    return run(tmp_path_factory.mktemp("user_script"), HERE / "upstream120" / "plugins" / "synapse")


def test_the_recording_has_24_calls_and_none_failed_on_120():
    assert len(RECORDED) == 24
    assert not [name for name, result in RECORDED.items() if isinstance(result, dict) and "error" in result]


@pytest.mark.parametrize("name", list(RECORDED))
def test_call_gives_120s_result(ours, name):
    assert ours[name] == RECORDED[name]
