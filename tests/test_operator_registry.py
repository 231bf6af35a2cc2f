"""Operators come from one registry: a toy operator added through its public API runs in a chain and is
listed by ``--help`` under its section; chains that cannot run as written are refused before any work."""

from __future__ import annotations

import re
import subprocess
import sys

import click
import h5py
import numpy as np
import pytest

from chunkflow.cli import main
from chunkflow.operators.registry import OPERATORS, register_operator


@pytest.fixture
def toy_operator():
    """The whole toy operator: a click command returning a Stage, and one call to register it."""
    from chunkflow.pipeline import Stage

    @click.command("toy-double")
    @click.option("--input-name", "-i", default="chunk")
    def toy_double(input_name: str) -> Stage:
        """Double a chunk's values, in place."""

        def apply(task):  # type: ignore[no-untyped-def]
            task[input_name].array[...] *= 2

        return Stage("toy-double", apply)

    register_operator("toy-double", toy_double, section="Toy operators (tests)")
    yield
    OPERATORS.unregister("toy-double")


def test_toy_operator_runs_in_a_chain_and_is_listed_under_its_section(toy_operator, tmp_path, capsys):
    chain = ["create-chunk", "-s", "2", "4", "4", "-p", "random", "-d", "uint16"]
    assert (
        main([*chain, "save-h5", "-f", f"{tmp_path}/once.h5", "toy-double", "save-h5", "-f", f"{tmp_path}/twice.h5"])
        == 0
    )
    with h5py.File(tmp_path / "once.h5") as once, h5py.File(tmp_path / "twice.h5") as twice:
        assert once["main"][()].any()
        np.testing.assert_array_equal(twice["main"][()], once["main"][()] * 2)
    capsys.readouterr()
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    section = out.split("Toy operators (tests):\n", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"^  toy-double\s+Double a chunk's values, in place$", section, re.M), section
    assert out.index("Toy operators (tests)") < out.index("Queues and workers")  # with the chained operators


def test_a_name_is_registered_once(toy_operator):
    from chunkflow.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'toy-double' is already registered"):
        register_operator("toy-double", "somewhere:else")


@pytest.mark.subprocess
def test_help_reads_builtin_commands_without_importing_their_modules():
    code = (
        "import sys; from chunkflow.cli import main; main(['--help'])\n"
        "print('IMPORTED', sorted(m for m in sys.modules if m.startswith(('chunkflow.operators.', 'chunkflow.commands.'))"
        " and m != 'chunkflow.operators.registry'))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "IMPORTED []" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        (
            ["-q", "file://{d}/q", "create-chunk", "save-h5", "-f", "{d}/out/"],
            "operators after generate-tasks (create-chunk save-h5) would never run: -q sends the tasks to file://{d}/q",
        ),
        (
            ["-f", "{d}/tasks.txt", "create-chunk"],
            "operators after generate-tasks (create-chunk) would never run: -f writes the task boxes",
        ),
    ],
)
def test_generate_tasks_that_send_their_tasks_away_end_the_chain(tmp_path, capsys, chain, expected):
    argv = ["generate-tasks", "-b", "0-4_0-8_0-8", "-c", "4", "4", "4", *(a.format(d=tmp_path) for a in chain)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected.format(d=tmp_path) in err, err
    assert list(tmp_path.iterdir()) == []  # nothing queued, no task file


def test_a_source_after_the_first_operator_is_a_usage_error(capsys):
    assert main(["create-chunk", "generate-tasks", "-b", "0-4_0-8_0-8", "-c", "4", "4", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must come first in the chain (it is at position 2)" in err


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        (["create-chunk", "--bogus"], "No such option '--bogus'"),
        (["create-chunk", "save-hh5"], "No such command 'save-hh5'"),
        (["create-chunk", "save-h5"], "Missing option '--file-name'"),
        (["queue", "status", "q"], "'queue' is a standalone command, not an operator of a chain"),
    ],
)
def test_worker_checks_its_chain_before_starting_processes(tmp_path, capsys, monkeypatch, chain, expected):
    def no_process(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a worker process was started for a chain that cannot run")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    assert main(["worker", "-p", "3", "--gpus", "none", "--", "fetch-task", "-q", f"file://{tmp_path}/q", *chain]) == 2
    err = capsys.readouterr().err
    assert err.count(expected) == 1, err
    assert list(tmp_path.iterdir()) == []
