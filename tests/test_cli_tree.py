"""One command tree: every command is listed by ``--help`` and takes the group's options; progress lines."""

from __future__ import annotations

import json
import logging

import pytest

from chunkflow.cli import main
from chunkflow.operators.registry import OPERATORS

STANDALONE_COMMANDS = sorted(n for n in OPERATORS.names() if OPERATORS.load(n).standalone)


def test_help_lists_every_command_by_section(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert len(OPERATORS.names()) >= 77
    for name in OPERATORS.names():
        assert f"\n  {name} " in out or f"\n  {name}\n" in out, f"{name} missing from chunkflow --help"
    assert "Queues and workers (standalone commands)" in out and "Sources" in out and "Sinks" in out
    # standalone commands come after the chained operators
    assert out.index("Segmentation jobs") > out.index("Transforms")


@pytest.mark.parametrize("name", STANDALONE_COMMANDS)
def test_dash_h_works_for_standalone_commands(name, capsys):
    assert main([name, "-h"]) == 0
    assert f"Usage: chunkflow {name}" in capsys.readouterr().out


def test_group_options_apply_to_standalone_commands(tmp_path, capsys):
    queue = f"file://{tmp_path}/q"
    assert main(["generate-tasks", "-b", "0-4_0-8_0-8", "-c", "4", "4", "4", "-q", queue]) == 0
    assert main(["-l", "debug", "queue", "status", queue]) == 0
    out = capsys.readouterr().out
    assert "waiting    4" in out
    assert logging.getLogger().level == logging.DEBUG


def test_standalone_command_error_is_one_line(tmp_path, capsys):
    assert main(["queue", "status", f"file://{tmp_path}/missing"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no file queue" in err and "Traceback" not in err


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["no-such-operator"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_non_terminal_run_logs_one_line_per_task_with_timing(tmp_path, capsys):
    assert (
        main(
            [
                "generate-tasks",
                "-b",
                "0-4_0-8_0-16",
                "-c",
                "4",
                "8",
                "8",
                "create-chunk",
                "save-h5",
                "-f",
                f"{tmp_path}/",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "chunkflow.progress: task" in line]
    assert len(lines) == 2, err
    assert "0-4_0-8_0-8 done in" in lines[0] and "create-chunk" in lines[0] and "save-h5" in lines[0]
    assert "Mvoxel/s" in lines[0]
    assert "2 tasks done, 0 skipped, 0 failed" in err


def test_log_format_json_is_one_object_per_line(tmp_path, capsys):
    assert (
        main(
            [
                "--log-format",
                "json",
                "generate-tasks",
                "-b",
                "0-4_0-8_0-16",
                "-c",
                "4",
                "8",
                "8",
                "create-chunk",
                "save-h5",
                "-f",
                f"{tmp_path}/",
            ]
        )
        == 0
    )
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    tasks = [r for r in records if r.get("status") == "done"]
    assert [r["task"] for r in tasks] == ["0-4_0-8_0-8", "0-4_0-8_8-16"]
    assert set(tasks[0]["operators"]) == {"create-chunk", "save-h5"} and tasks[0]["voxels"] == 256
    summary = [r for r in records if "done" in r and r.get("total") == 2]
    assert summary and summary[-1]["done"] == 2
    main(["--log-format", "text", "--help"])  # restore text logging for later tests


def test_every_builtin_command_declares_a_known_section_and_extra():
    from chunkflow import _extras
    from chunkflow.operators.registry import SECTION_TITLES

    builtins = {
        n: OPERATORS.load(n) for n in OPERATORS.names() if str(OPERATORS.load(n).command).startswith("chunkflow.")
    }
    assert len(builtins) >= 77
    for name, operator in builtins.items():
        assert operator.section in SECTION_TITLES, (name, operator.section)
        assert operator.extra is None or operator.extra in _extras.EXTRA_MODULES, (name, operator.extra)
        assert operator.standalone == str(operator.command).startswith("chunkflow.commands."), name
        assert f":{name.replace('-', '_')}" in str(operator.command)
    assert {"worker", "queue", "view", "run", "plan"} <= set(STANDALONE_COMMANDS)


def test_non_terminal_mesh_and_skeleton_chain_logs_its_timing(tmp_path, capsys):
    """The README's postprocessing chain (one task, no task source) logs one line with seconds per operator."""
    seg = f"file://{tmp_path}/seg"
    assert (
        main(
            [
                "create-chunk",
                "-s",
                "16",
                "64",
                "64",
                "-e",
                "40",
                "4",
                "4",
                "--pattern",
                "sin",
                "connected-components",
                "-t",
                "128",
                "-o",
                "seg",
                "save-precomputed",
                "-i",
                "seg",
                "-v",
                seg,
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "load-precomputed",
                "-v",
                seg,
                "-o",
                "seg",
                "downsample",
                "-i",
                "seg",
                "-o",
                "small",
                "-f",
                "1",
                "2",
                "2",
                "skeletonize",
                "-i",
                "seg",
                "-v",
                seg,
                "--dust-threshold",
                "50",
                "--aggregate",
                "mesh",
                "-i",
                "seg",
                "-o",
                seg,
            ]
        )
        == 0
    )
    lines = [line for line in capsys.readouterr().err.splitlines() if "chunkflow.progress: task" in line]
    assert len(lines) == 1, lines
    for operator in ("load-precomputed", "downsample", "skeletonize", "mesh"):
        assert f"{operator} " in lines[0] and " s" in lines[0]


def test_every_click_command_of_an_operator_or_command_module_is_declared():
    """A command written without its ``COMMANDS`` line would be missing from the CLI: none is."""
    from pathlib import Path

    from chunkflow.operators import registry

    src = Path(registry.__file__).resolve().parents[1]
    written = {}
    for package in ("operators", "commands"):
        for path in (src / package).glob("*.py"):
            module = f"chunkflow.{package}.{path.stem}"
            written.update(dict.fromkeys(registry._module_summaries(module), module))
    assert len(written) >= 77
    undeclared = {name: module for name, module in written.items() if name not in OPERATORS}
    assert undeclared == {}, "declare these in their module's COMMANDS"
