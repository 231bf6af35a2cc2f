"""Every command's ``--help`` shows an ``Example:`` that runs as printed.

The examples are extracted from the help text click prints and run in-process, each command's
example in its own empty directory (``$PWD`` expanded as a shell would).
"""

from __future__ import annotations

import os
import shlex

import click
import pytest

from chunkflow.cli import cli, main

# commands whose example cannot run unattended here, and why
NOT_RUNNABLE = {
    "view": "serves a viewer until Ctrl-C (tested in tests/viewer)",
    "neuroglancer": "opens a viewer and waits for Enter (tested in tests/viewer)",
    "napari": "opens a desktop window",
    "fetch-task-from-sqs": "needs an SQS endpoint (tested against moto in tests/queues)",
}


def commands() -> list[str]:
    return cli.list_commands(click.Context(cli))


def example_lines(name: str) -> list[str]:
    """The command lines of the ``Example:`` paragraph of ``chunkflow NAME --help``."""
    # the group's context settings (-h as a help option) as a real run has them: click caches a command's
    # help option the first time it is asked for
    ctx = click.Context(cli, info_name="chunkflow", **cli.context_settings)
    command = cli.get_command(ctx, name)
    assert command is not None, name
    text = command.get_help(click.Context(command, info_name=name, parent=ctx))
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() in ("Example:", "Examples:")]
    if not starts:
        return []
    head = lines[starts[0]]
    indent = len(head) - len(head.lstrip())
    block: list[str] = []
    for line in lines[starts[0] + 1 :]:
        if not line.strip() or len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line.strip())
    joined, current = [], ""
    for line in block:
        current = f"{current} {line}".strip()
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        joined.append(current)
        current = ""
    return [line for line in joined if line.startswith("chunkflow ")]


def test_every_command_has_an_example():
    missing = [name for name in commands() if not example_lines(name)]
    assert not missing, f"commands without an Example: in their help: {missing}"


# commands whose example starts worker processes: left to `make test` (README, "Development")
STARTS_PROCESSES = {"worker", "run"}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.subprocess) if n in STARTS_PROCESSES else n
        for n in commands()
        if n not in NOT_RUNNABLE
    ],
)
def test_example_runs_as_printed(name, tmp_path, monkeypatch, capsys):
    lines = example_lines(name)
    if not lines:
        pytest.fail(f"{name} has no example")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PWD", str(tmp_path))
    for line in lines:
        args = [os.path.expandvars(word) for word in shlex.split(line)][1:]
        code = main(args)
        captured = capsys.readouterr()
        assert code == 0, f"`{line}` exited {code}: {captured.err[-500:]}"
    assert any(tmp_path.iterdir()) or name in ("delete-var", "copy-var", "queue"), f"{name}'s example wrote nothing"
