"""Command lines of chunkflow 1.2.0's documentation (``record120.DOC_LINES``) against 1.2.0's own exit
status and printed output, recorded by ``tests/compat/record120.py`` (``data/ref120_doclines.json``)."""

import json
import re
import shlex
from pathlib import Path

import pytest

from chunkflow.cli import main
from tests.compat.record120 import DOC_LINES, doc_line_inputs

RECORDED = json.loads((Path(__file__).parent / "data" / "ref120_doclines.json").read_text())
SCORE = re.compile(r"^(rand index|adjusted rand index|variation of information|edit distance|Fowlkes Mallows Index):")


def test_the_recording_covers_every_line():
    assert set(RECORDED) == set(DOC_LINES)


@pytest.mark.parametrize("name", sorted(DOC_LINES))
def test_documented_line_runs_where_120_ran_with_its_output(name, tmp_path, capsys):
    doc_line_inputs(tmp_path)
    if name == "precomputed_start_stop":  # its input, written by the line before it in the tutorial
        assert main(shlex.split(DOC_LINES["hdf_to_precomputed"].format(tmp=tmp_path))) == 0
        capsys.readouterr()
    code = main(shlex.split(DOC_LINES[name].format(tmp=tmp_path)))
    out = capsys.readouterr().out
    theirs = RECORDED[name]
    if theirs["returncode"] == 0:
        assert code == 0, out
    if name == "help":  # every flag 1.2.0 listed is listed here
        flags = {f for line in theirs["stdout"] for f in re.findall(r"--[a-z][a-z-]*", line)}
        assert flags and flags <= set(re.findall(r"--[a-z][a-z-]*", out))
    if name == "evaluate_tifs":  # 1.2.0's five scores, printed as 1.2.0 printed them
        expected = [line for line in theirs["stdout"] if SCORE.match(line)]
        assert len(expected) == 5 and all(line in out.splitlines() for line in expected), out
    if name == "hdf_to_precomputed":  # 1.2.0 needed an existing volume (exit 1); we create it from the chunk
        assert theirs["returncode"] == 1 and code == 0 and (tmp_path / "key" / "info").exists()
    if name == "precomputed_start_stop":  # --start/--stop are not flags of 1.2.0's load-precomputed either
        assert theirs["returncode"] == code == 2
