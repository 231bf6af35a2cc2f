"""The one registry of ``chunkflow`` commands: chained operators and standalone commands.

Every command is declared next to its code. A module of :mod:`chunkflow.operators` (chained operators)
or :mod:`chunkflow.commands` (standalone commands: ``view``, ``queue``, ``worker``, jobs) holds a
literal ``COMMANDS`` naming its click commands (attribute: the name with ``_`` for ``-``), the
``--help`` section of each and the extra it needs, if any::

    COMMANDS = {"mesh": {"section": "sink", "extra": "mesh"}}

The literal is read from the module's source, not imported, so ``chunkflow --help`` lists ~80 commands
without importing their modules (the docstring's first line is read the same way). Another package adds
an operator through the ``chunkflow.operators`` entry-point group, naming an :class:`Operator` (or a bare
click command, listed under "Other operators")::

    [project.entry-points."chunkflow.operators"]
    say-hello = "my_package.ops:SAY_HELLO"     # SAY_HELLO = Operator(say_hello, section="transform")

or at run time with :func:`register_operator`.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chunkflow.errors import InvalidParameterError
from chunkflow.registry import Registry, load_target

if TYPE_CHECKING:
    import click

__all__ = [
    "Operator", "OPERATORS", "ENTRY_POINT_GROUP", "SECTION_TITLES", "OTHER", "register_operator", "section_title",
    "summary",
]  # fmt: skip

ENTRY_POINT_GROUP = "chunkflow.operators"

#: section key -> ``--help`` heading, in the order ``--help`` prints them; another key is its own heading
SECTION_TITLES: dict[str, str] = {
    "source": "Sources (start a chain: load data or produce tasks)",
    "transform": "Transforms (chained operators on named chunks)",
    "sink": "Sinks (write chunks, meshes, skeletons, metadata)",
    "queue": "Queues and workers (standalone commands)",
    "job": "Segmentation jobs (standalone commands)",
    "view": "Viewing",
}
OTHER = "Other operators"

#: packages whose modules declare ``COMMANDS``; the second item says whether theirs are standalone commands
_PACKAGES = (("chunkflow.operators", False), ("chunkflow.commands", True))
_DECLARATION = re.compile(r"^COMMANDS\s*(?::[^=\n]*)?=\s*(?=\{)", re.M)


@dataclass(frozen=True)
class Operator:
    """A command of the ``chunkflow`` group, as the registry knows it before importing it.

    Parameters
    ----------
    command : str or click.Command
        ``"module:attr"`` (imported on first use) or the command itself.
    section : str
        A key of :data:`SECTION_TITLES` (``"source"``, ``"transform"``, ``"sink"``, ...) or a heading of its own.
    extra : str, optional
        The optional extra it needs (``pip install 'chunkflow[EXTRA]'``); checked before the chain runs.
    standalone : bool
        A command that runs alone (``chunkflow worker ...``), not an operator of a chain.
    """

    command: str | click.Command
    section: str = OTHER
    extra: str | None = None
    standalone: bool = False

    def load(self) -> click.Command:
        """The click command (its module imported on first use)."""
        if isinstance(self.command, str):
            command: click.Command = load_target(self.command, f"command {self.command!r}")
            return command
        return self.command


def register_operator(
    name: str,
    command: str | click.Command,
    *,
    section: str = "transform",
    extra: str | None = None,
    standalone: bool = False,
    replace: bool = False,
) -> None:
    """Add a command to ``chunkflow`` (as an entry point of the ``chunkflow.operators`` group would).

    ``command`` is a click command returning a :class:`chunkflow.pipeline.Stage` (or ``"module:attr"``
    naming one); it is listed by ``chunkflow --help`` under ``section``. An existing name is refused
    unless ``replace``.
    """
    OPERATORS.register(name, Operator(command, section, extra, standalone), replace=replace)


def section_title(operator: Operator) -> str:
    return SECTION_TITLES.get(operator.section, operator.section)


def _as_operator(name: str, obj: Any) -> Operator:
    """An entry point names an :class:`Operator`, or a bare click command (section "Other operators")."""
    import click

    if isinstance(obj, Operator):
        return obj
    if isinstance(obj, click.Command):
        return Operator(obj)
    raise InvalidParameterError(
        f"operator {name!r} is registered as {obj!r}, which is neither an Operator nor a click command; "
        "fix the entry point of the package that provides it"
    )


# ---- the built-in commands, read from the modules' sources -------------------------------------------------
_SOURCES: dict[str, str] = {}


def _source(module: str) -> str | None:
    """The text of ``module``'s source file (cached), or None where it has none (a compiled-only install)."""
    if module not in _SOURCES:
        spec = importlib.util.find_spec(module)
        text = None
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            try:
                with open(spec.origin, encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                text = None
        if text is None:
            return None
        _SOURCES[module] = text
    return _SOURCES[module]


def _literal_after(text: str, start: int) -> str:
    """The ``{...}`` literal starting at ``text[start]``, braces matched (strings of the literal hold none)."""
    depth = 0
    for end in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            return text[start : end + 1]
    raise InvalidParameterError(f"unterminated COMMANDS literal: {text[start : start + 80]!r}")


def _declared(module: str) -> dict[str, dict[str, str]]:
    """``module``'s ``COMMANDS``, read from its source (imported only where there is no source)."""
    text = _source(module)
    if text is None:
        return dict(getattr(importlib.import_module(module), "COMMANDS", {}))
    match = _DECLARATION.search(text)
    if match is None:
        return {}
    value = ast.literal_eval(_literal_after(text, match.end()))
    if not isinstance(value, dict):
        raise InvalidParameterError(f"{module}.COMMANDS must be a dict literal")
    return value


def _module_names(package: str) -> list[str]:
    spec = importlib.util.find_spec(package)
    directories = list(spec.submodule_search_locations or []) if spec is not None else []
    names: set[str] = set()
    for directory in directories:
        for entry in os.listdir(directory):
            stem, dot, suffix = entry.partition(".")
            if dot and suffix in ("py", "pyc") and not stem.startswith("_") and stem != "registry":
                names.add(stem)
    return sorted(names)


def _builtin_operators() -> dict[str, Operator]:
    found: dict[str, Operator] = {}
    for package, standalone in _PACKAGES:
        for stem in _module_names(package):
            module = f"{package}.{stem}"
            for name, declared in _declared(module).items():
                target = f"{module}:{name.replace('-', '_')}"
                found[name] = Operator(target, declared.get("section", OTHER), declared.get("extra"), standalone)
    return found


OPERATORS: Registry[Operator] = Registry("operator", ENTRY_POINT_GROUP, _builtin_operators, check=_as_operator)


# ---- one line of help per command, without importing it -----------------------------------------------------
_SUMMARY = re.compile(
    r'@click\.(?:command|group)\(\s*"([\w-]+)".*?\ndef \w+\(.*?\)[^:\n]*:[^\n]*\n\s+(?:r?"""|\'\'\')\s*([^\n]*)', re.S
)
_FACTORY = re.compile(r'@click\.command\(\s*\w+\s*\).*?\n\s*def \w+\(.*?\)[^:\n]*:[^\n]*\n\s+"""\s*([^\n]*)', re.S)
_SUMMARIES: dict[str, dict[str, str]] = {}


def _module_summaries(module: str) -> dict[str, str]:
    """``{command name: first docstring line}`` for the click commands of ``module``, read from its source
    with regular expressions (no import, no ``ast.parse``: ``--help`` must stay fast)."""
    if module not in _SUMMARIES:
        summaries: dict[str, str] = {}
        text = _source(module) or ""
        for match in _SUMMARY.finditer(text):
            summaries.setdefault(match.group(1), match.group(2).strip().rstrip('".').rstrip("."))
        # commands made by one factory function (``fetch_task = _fetch_command("fetch-task")``) share its docstring
        factory = _FACTORY.search(text)
        if factory is not None:
            for name in re.findall(r'^\w+ = _\w+\(\s*"([\w-]+)"\s*\)', text, re.M):
                summaries.setdefault(name, factory.group(1).strip().rstrip("."))
        _SUMMARIES[module] = summaries
    return _SUMMARIES[module]


def summary(name: str, operator: Operator) -> str:
    """The one-line help of command ``name``: read from its module's source where possible, else from the
    loaded command ("" where it cannot be loaded: ``--help`` lists every command even then)."""
    if isinstance(operator.command, str):
        text = _module_summaries(operator.command.partition(":")[0]).get(name)
        if text is not None:
            return text
    try:
        return operator.load().get_short_help_str(limit=300).rstrip(".")
    except Exception:  # noqa: BLE001 - help must list every command even if one cannot load
        return ""
