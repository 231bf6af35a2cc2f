"""Every command line of chunkflow 1.2.0's documentation (``doclines120.DOC_LINES``) that ran on 1.2.0 runs
on ours, with equal output where both write one, against 1.2.0's exit status, printed lines and written
files recorded by ``tests/compat/record120.py`` (``data/ref120_doclines.json``). Run in-process."""

import json
import re
from pathlib import Path

import pytest

from chunkflow.cli import main
from tests.compat.doclines120 import DOC_LINES, NOT_RUNNABLE, compare_summaries, run_line

RECORDED = json.loads((Path(__file__).parent / "data" / "ref120_doclines.json").read_text())
RAN_ON_120 = sorted(name for name, record in RECORDED.items() if record["returncode"] == 0)
SCORE = re.compile(r"^(rand index|adjusted rand index|variation of information|edit distance|Fowlkes Mallows Index):")

# lines that run on both whose outputs differ, and why; the test checks they still differ, so the list
# stays true (remove a line from here when it becomes equal)
OUTPUT_DIFFERS = {
    # 1.2.0's ``create-chunk --pattern sin`` is |sin(4 (x + y + z))| over linspace(0, 1) per axis, in the
    # chunk's own coordinates (uint16+: connected components of > 0.5); ours is a sum of waves in global
    # coordinates, so chunks cut from one volume agree (tests of chunked runs rely on it)
    "sh_save_h5_folder": "create-chunk --pattern sin",
    "sh_connected_components": "create-chunk --pattern sin",
    "sh_save_pngs": "create-chunk --pattern sin",
    "sh_save_tif": "create-chunk --pattern sin",
    "sh_save_tif_uint16": "create-chunk --pattern sin",
    "sh_evaluate": "create-chunk --pattern sin (the scores of two equal chunks; 1.2.0's edit distance is negative)",
}
# lines that ran on 1.2.0 and are refused by ours, and why
REFUSED = {
    # ``-c 0 0 0``: 1.2.0 made one empty task 0-0_0-0_0-0 and ran nothing; ours refuses the empty box
    # (usage error, exit 2) in queues/taskgen.py
    "sh_generate_tasks": "chunk size 0 must be positive",
}


def test_the_recording_covers_every_line():
    assert set(RECORDED) == set(DOC_LINES)
    assert len(DOC_LINES) == 36 and len(NOT_RUNNABLE) == 11
    assert len(RAN_ON_120) == 22


def _mean_times(lines: list[str]) -> dict[str, int]:
    """1.2.0's ``mean time (sec)`` pandas table (columns may be elided with ``...``): operator -> seconds."""
    start = lines.index("mean time (sec):")
    header, values = lines[start + 1].split(), lines[start + 3].split()
    values = values[len(values) - len(header) :]
    return {name: int(value) for name, value in zip(header, values) if name != "..."}


@pytest.mark.parametrize("name", RAN_ON_120)
def test_documented_line_runs_where_120_ran_with_its_output(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def run(argv: list[str]) -> tuple[int, str]:
        code = main(argv)
        return code, capsys.readouterr().out

    ours, theirs = run_line(run, name, tmp_path), RECORDED[name]
    if name in REFUSED:
        assert ours["returncode"] == 2, ours
        return
    assert ours["returncode"] == 0, ours["stdout"][-20:]
    out = ours["stdout"]
    if name == "help":  # every flag 1.2.0 listed is listed here
        flags = {f for line in theirs["stdout"] for f in re.findall(r"--[a-z][a-z-]*", line)}
        assert flags and flags <= {f for line in out for f in re.findall(r"--[a-z][a-z-]*", line)}
    if name in ("log_summary", "sh_log_summary"):  # 1.2.0's mean seconds per operator, rounded
        ours_mean = {
            line.split()[0]: float(line.split()[2]) for line in out if re.match(r"^[a-z-]+ +\d+ +[\d.]+", line)
        }
        shown = {k: v for k, v in _mean_times(theirs["stdout"]).items() if k in ours_mean}
        assert len(shown) >= 3 and all(round(ours_mean[k]) == v for k, v in shown.items()), (shown, ours_mean)
    scores = [line for line in theirs["stdout"] if SCORE.match(line)]
    if scores and name not in OUTPUT_DIFFERS:  # 1.2.0's five scores, printed as 1.2.0 printed them
        assert len(scores) == 5 and all(line in out for line in scores), out
    common = sorted(set(ours["outputs"]) & set(theirs["outputs"]))
    assert set(theirs["outputs"]) <= set(ours["outputs"]), "files 1.2.0 wrote and ours did not"
    differences = []
    for file in common:
        try:  # 1.2.0's save-tif wrote float64 (``astype(None)``): tifs compare by value
            compare_summaries(ours["outputs"][file], theirs["outputs"][file], dtype=not file.endswith(".tif"))
        except AssertionError as error:
            differences.append(f"{file}: {str(error)[:200]}")
    if name in OUTPUT_DIFFERS:
        assert differences or (scores and not all(line in out for line in scores)), "now equal: update OUTPUT_DIFFERS"
    else:
        assert not differences, differences
