"""The chained ``chunkflow`` command: a click group that discovers operators lazily.

Built-in operators are listed in :data:`BUILTIN_OPERATORS` by module, third-party ones come
from the ``chunkflow.operators`` entry-point group. Nothing heavy (torch, cloud-volume,
tensorstore) is imported until an operator runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from chunkflow.errors import ChunkflowError

__all__ = ["main", "cli", "BUILTIN_OPERATORS", "STANDALONE_COMMANDS"]

# command name -> module under chunkflow.operators defining it (attribute = name with _ for -)
BUILTIN_OPERATORS: dict[str, str] = {
    "create-chunk": "create_chunk",
    "load-h5": "h5", "save-h5": "h5",
    "load-tif": "tif", "save-tif": "tif",
    "load-npy": "npy", "save-npy": "npy",
    "load-png": "png", "save-pngs": "png",
    "create-info": "precomputed", "load-precomputed": "precomputed", "save-precomputed": "precomputed",
    "load-zarr": "zarr", "save-zarr": "zarr",
    "crop-margin": "crop_margin",
    "threshold": "threshold",
    "normalize-intensity": "normalize_intensity",
    "normalize-contrast": "normalize_contrast", "compute-luminance-levels": "normalize_contrast",
    "aggregate-luminance-levels": "normalize_contrast", "clahe": "clahe",
    "copy-var": "variables", "delete-var": "variables",
    "plugin": "plugin",
    "inference": "inference",
    "agglomerate": "agglomerate", "watershed": "agglomerate",
    "connected-components": "connected_components",
    "mask-out-objects": "mask_out_objects", "relabel": "mask_out_objects",
    "evaluate-segmentation": "evaluate_segmentation",
    "generate-tasks": "generate_tasks",
    "fetch-task-from-sqs": "fetch_task", "fetch-task": "fetch_task", "fetch-task-from-file": "fetch_task",
    "delete-task-in-queue": "fetch_task",
    "skip-task-by-file": "done_markers", "mark-complete": "done_markers",
    "downsample": "downsample", "downsample-upload": "downsample",
    "mesh": "mesh", "mesh-manifest": "mesh",
    "skeletonize": "skeletonize", "aggregate-skeleton-fragments": "skeletonize",
    "mask": "mask",
    "neuroglancer": "neuroglancer",
    "global-cc-task": "staged_task", "staged-task": "staged_task",
    # chunkflow 1.2.0 operators (compatibility)
    "create-bbox": "task_control", "adjust-bbox": "task_control", "skip-none": "task_control",
    "skip-all-zero": "task_control", "skip-task-by-blocks-in-volume": "task_control", "cleanup": "task_control",
    "channel-voting": "chunk_ops", "gaussian-filter": "chunk_ops", "multiply": "chunk_ops", "quantize": "chunk_ops",
    "normalize-section-shang": "chunk_ops",
    "load-json": "io120", "save-nrrd": "io120", "load-skeleton": "io120", "save-swc": "io120",
    "save-points": "io120", "load-synapses": "io120", "save-synapses": "io120", "download-mesh": "io120",
    "log-summary": "io120", "napari": "io120", "setup-env": "setup_env",
}  # fmt: skip

ENTRY_POINT_GROUP = "chunkflow.operators"


def _entry_points() -> dict[str, Any]:
    """Third-party operators: name -> entry point (nothing imported until one is used)."""
    from chunkflow.registry import may_have_entry_points

    if not may_have_entry_points(ENTRY_POINT_GROUP):
        return {}
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


# commands that are not chain operators; each is a click command in a module of chunkflow.commands
STANDALONE_COMMANDS: dict[str, str] = {
    "view": "chunkflow.commands.view:view",
    "queue": "chunkflow.commands.queue:queue",
    "worker": "chunkflow.commands.queue:worker",
    "global-connected-components": "chunkflow.commands.global_cc:global_connected_components",
    "agglomerate-volume": "chunkflow.commands.agglomerate_volume:agglomerate_volume",
    "run": "chunkflow.commands.run:run",
    "plan": "chunkflow.commands.plan:plan",
}

# help sections: (title, names); an operator in none of them is listed under "Other operators"
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Sources (start a chain: load data or produce tasks)", (
        "create-chunk", "load-h5", "load-tif", "load-npy", "load-png", "load-precomputed", "load-zarr",
        "generate-tasks", "fetch-task", "fetch-task-from-sqs", "fetch-task-from-file", "create-bbox",
        "load-json", "load-skeleton", "load-synapses", "download-mesh",
    )),
    ("Transforms (chained operators on named chunks)", (
        "inference", "agglomerate", "watershed", "connected-components", "threshold", "normalize-intensity",
        "normalize-contrast", "normalize-section-shang", "clahe", "crop-margin", "mask", "mask-out-objects",
        "relabel", "downsample", "plugin", "copy-var", "delete-var", "evaluate-segmentation", "skip-task-by-file",
        "skip-all-zero", "skip-none", "skip-task-by-blocks-in-volume", "channel-voting", "gaussian-filter",
        "multiply", "quantize", "adjust-bbox", "cleanup", "log-summary", "global-cc-task", "staged-task",
        "compute-luminance-levels", "aggregate-luminance-levels", "setup-env",
    )),
    ("Sinks (write chunks, meshes, skeletons, metadata)", (
        "save-h5", "save-tif", "save-npy", "save-pngs", "save-precomputed", "save-zarr", "create-info",
        "downsample-upload", "mesh", "mesh-manifest", "skeletonize", "aggregate-skeleton-fragments",
        "save-nrrd", "save-points", "save-swc", "save-synapses", "mark-complete", "delete-task-in-queue",
    )),
    ("Queues and workers (standalone commands)", ("queue", "worker", "run", "plan")),
    ("Segmentation jobs (standalone commands)", ("global-connected-components", "agglomerate-volume")),
    ("Viewing", ("view", "neuroglancer", "napari")),
)


class OperatorGroup(click.Group):
    """The one ``chunkflow`` group: chained operators plus standalone commands, imported on first use.

    A chain is any sequence of operators. A standalone command (``view``, ``queue``, ``worker``,
    segmentation jobs) must be the only command of its invocation; it runs in a child context of
    this group, so group options (``-l/--log-level``) and ``-h`` apply to it.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(BUILTIN_OPERATORS) | set(STANDALONE_COMMANDS) | set(_entry_points())
        return sorted(n for n in names if self._exists(n))

    def _exists(self, name: str) -> bool:
        module = BUILTIN_OPERATORS.get(name)
        if module is None:
            target = STANDALONE_COMMANDS.get(name)
            if target is None:
                return True
            return importlib.util.find_spec(target.split(":")[0]) is not None
        return importlib.util.find_spec(f"chunkflow.operators.{module}") is not None

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = BUILTIN_OPERATORS.get(name)
        if module is not None:
            try:
                mod = importlib.import_module(f"chunkflow.operators.{module}")
            except ModuleNotFoundError as exc:
                if exc.name == f"chunkflow.operators.{module}":
                    return None
                raise
            return getattr(mod, name.replace("-", "_"))
        target = STANDALONE_COMMANDS.get(name)
        if target is not None:
            module_name, attr = target.split(":")
            return getattr(importlib.import_module(module_name), attr)
        ep = _entry_points().get(name)
        return ep.load() if ep is not None else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Commands by section, with their one-line help, without importing any operator module."""
        names = self.list_commands(ctx)
        placed: set[str] = set()
        for title, members in SECTIONS:
            rows = [(n, _short_help(n)) for n in members if n in names]
            placed.update(n for n, _ in rows)
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
        rest = [(n, _short_help(n)) for n in names if n not in placed]
        if rest:
            with formatter.section("Other operators"):
                formatter.write_dl(rest)

    def invoke(self, ctx: click.Context) -> Any:
        args = [*ctx._protected_args, *ctx.args]
        if args and args[0] in STANDALONE_COMMANDS:
            # a standalone command runs alone, as a child of this group (group options already applied)
            ctx.invoke(self.callback, **ctx.params) if self.callback is not None else None
            _require_extra(args[0], args[1:])  # PKG (issue 17): a missing extra fails here, before any work
            command = self.get_command(ctx, args[0])
            if command is None:
                ctx.fail(f"No such command {args[0]!r}.")
            with command.make_context(args[0], args[1:], parent=ctx) as sub_ctx:
                return command.invoke(sub_ctx)
        return super().invoke(ctx)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None:
            _require_extra(name, rest)  # PKG (issue 17): a missing extra fails while the chain is parsed
        return name, command, rest


def _require_extra(name: str, args: list[str]) -> None:
    """PKG (issue 17): one line naming the missing extra and the pip command (``--help`` still works)."""
    from chunkflow import _extras

    if not _extras.wants_help(args):
        _extras.require_extra(name)


def _short_help(name: str) -> str:
    """One line per command for ``--help``, read from the module's source without importing it."""
    target = STANDALONE_COMMANDS.get(name)
    module = target.split(":")[0] if target else (f"chunkflow.operators.{BUILTIN_OPERATORS[name]}" if name in BUILTIN_OPERATORS else None)
    if module is None:
        return ""
    summary = _command_summaries(module).get(name)
    if summary is None:  # a command made by a factory function: import its module (operators import lazily)
        try:
            command = cli.get_command(click.Context(cli), name)
        except Exception:  # noqa: BLE001 - help must list every command even if one cannot load
            command = None
        summary = command.get_short_help_str(limit=300).rstrip(".") if command is not None else ""
    return summary


_SUMMARY_CACHE: dict[str, dict[str, str]] = {}


def _command_summaries(module: str) -> dict[str, str]:
    """``{command name: first docstring line}`` for the click commands of ``module``, read from its source
    with a regular expression (no import, no ``ast``: ``--help`` lists ~80 commands and must stay fast)."""
    if module in _SUMMARY_CACHE:
        return _SUMMARY_CACHE[module]
    import re

    summaries: dict[str, str] = {}
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.origin and spec.origin.endswith(".py"):
        try:
            with open(spec.origin, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            text = ""
        pattern = re.compile(
            r'@click\.(?:command|group)\(\s*"([\w-]+)".*?\ndef \w+\(.*?\)[^:\n]*:[^\n]*\n\s+(?:r?"""|\'\'\')\s*([^\n]*)',
            re.S,
        )
        for match in pattern.finditer(text):
            summaries.setdefault(match.group(1), match.group(2).strip().rstrip('".').rstrip("."))
        # commands made by one factory function (``fetch_task = _fetch_command("fetch-task")``) share its docstring
        factory = re.search(r'@click\.command\(\s*\w+\s*\).*?\n\s*def \w+\(.*?\)[^:\n]*:[^\n]*\n\s+"""\s*([^\n]*)', text, re.S)
        if factory is not None:
            for name in re.findall(r'^\w+ = _\w+\(\s*"([\w-]+)"\s*\)', text, re.M):
                summaries.setdefault(name, factory.group(1).strip().rstrip("."))
    _SUMMARY_CACHE[module] = summaries
    return summaries


@click.group(cls=OperatorGroup, chain=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level", "-l",
    type=click.Choice(["debug", "info", "warning", "error", "critical"], case_sensitive=False),
    default="info", show_default=True, help="Logging verbosity.",
)  # fmt: skip
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Log lines as text, or one JSON object per line (for log collectors).",
)  # fmt: skip
@click.version_option(package_name="chunkflow")
def cli(log_level: str, log_format: str) -> None:
    """Compose operators on chunks of 3D volumes into one command line.

    \b
    Example:
      chunkflow create-chunk --size 64 128 128 save-h5 -f /tmp/chunk.h5
    """
    from chunkflow.logs import configure_logging

    configure_logging(log_level, log_format)


@cli.result_callback()
def _run(stages: list[Any], log_level: str, log_format: str) -> None:
    from chunkflow.pipeline import run_pipeline

    for _ in run_pipeline(list(stages)):
        pass


def main(argv: list[str] | None = None) -> int:
    """Console entry point: errors print one line on stderr and exit 1 (2 for usage errors)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(argv, prog_name="chunkflow", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("chunkflow: aborted", err=True)
        return 130
    except ChunkflowError as exc:
        from chunkflow.redact import redact

        click.echo(f"chunkflow: error: {redact(str(exc))}", err=True)  # no password or token of a URL in logs
        return 1
    except KeyboardInterrupt:
        click.echo("chunkflow: interrupted", err=True)
        return 130
    return 0
