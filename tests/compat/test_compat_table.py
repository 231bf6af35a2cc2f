"""The README's 1.2.0 compatibility table is what scripts/compat_table.py makes from 1.2.0's command
list (tests/compat/data/flow120.json, extracted from 1.2.0's flow.py) and our click commands."""

import json
import runpy
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TABLE = runpy.run_path(str(ROOT / "scripts" / "compat_table.py"))


def readme_table() -> str:
    text = (ROOT / "README.md").read_text()
    start, end = "<!-- compat-table:start -->", "<!-- compat-table:end -->"
    assert start in text and end in text, "README lacks the 1.2.0 compatibility table markers"
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def test_readme_table_is_current():
    assert readme_table() == TABLE["table"](), "regenerate it: python scripts/compat_table.py table"


def test_every_120_command_is_listed_and_present_or_explained():
    data = json.loads((ROOT / "tests/compat/data/flow120.json").read_text())
    assert len(data) == 61 and sum(len(v) for v in data.values()) == 330
    ours = TABLE["_our_commands"]()
    for command in data:
        verdict = TABLE["status"](command, None, ours)
        assert verdict == "same" or verdict.startswith("different on purpose"), (command, verdict)
        assert f"| `{command}` |" in readme_table()


@pytest.mark.parametrize(
    "line",
    [
        "load-h5 -f a.h5 -e float32 -c 0:2 --set-bbox --remove-empty -o img",
        "save-h5 -i img -f out/ -c gzip -s 8 8 8 --without-offset -v 40 4 4 -d uint8 --no-touch",
        "save-precomputed -v file:///tmp/x --fill-missing",
        "skip-task-by-file -p done/ -s .h5 -m missing -a 4",
        "crop-margin -m 1 1 1 1 1 1 --crop-bbox",
        "generate-tasks -b 0-64_0-64_0-64 -c 16 16 16 -g 2 2 2",
        "plugin -f inverse -i bbox,chunk -o out -a x=1",
    ],
)
def test_flags_from_the_issue_parse(line):
    import click

    from chunkflow.cli import cli

    name, *args = shlex.split(line)
    command = cli.get_command(click.Context(cli), name)
    command.make_context(name, args)  # raises a usage error where a flag is refused
