"""The chained ``chunkflow`` command: a click group that discovers operators lazily.

Built-in operators are listed in :data:`BUILTIN_OPERATORS` by module, third-party ones come
from the ``chunkflow.operators`` entry-point group. Nothing heavy (torch, cloud-volume,
tensorstore) is imported until an operator runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from typing import Any

import click

from chunkflow.errors import ChunkflowError

__all__ = ["main", "cli", "BUILTIN_OPERATORS"]

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
    "global-cc-task": "global_cc_task",
}  # fmt: skip

ENTRY_POINT_GROUP = "chunkflow.operators"


def _may_have_entry_points() -> bool:
    """A cheap scan of installed distributions' entry_points.txt for our group, so ``--help`` does
    not pay for importlib.metadata (about 17 ms) when no third-party operator is installed."""
    import glob
    import os

    for directory in sys.path:
        if not os.path.isdir(directory):
            continue
        for path in glob.glob(os.path.join(glob.escape(directory), "*.dist-info", "entry_points.txt")) + glob.glob(
            os.path.join(glob.escape(directory), "*.egg-info", "entry_points.txt")
        ):
            try:
                with open(path, encoding="utf-8") as f:
                    if ENTRY_POINT_GROUP in f.read():
                        return True
            except OSError:
                continue
    return False


def _entry_points() -> dict[str, Any]:
    if not _may_have_entry_points():
        return {}
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


class OperatorGroup(click.Group):
    """A chained group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(BUILTIN_OPERATORS) | set(_entry_points())
        return sorted(n for n in names if self._exists(n))

    def _exists(self, name: str) -> bool:
        module = BUILTIN_OPERATORS.get(name)
        if module is None:
            return True
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
            return getattr(mod, name.replace("-", "_"))  # type: ignore[no-any-return]
        ep = _entry_points().get(name)
        return ep.load() if ep is not None else None


@click.group(cls=OperatorGroup, chain=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level", "-l",
    type=click.Choice(["debug", "info", "warning", "error", "critical"], case_sensitive=False),
    default="info", show_default=True, help="Logging verbosity.",
)  # fmt: skip
@click.version_option(package_name="chunkflow")
def cli(log_level: str) -> None:
    """Compose operators on chunks of 3D volumes into one command line.

    \b
    Example:
      chunkflow create-chunk --size 64 128 128 save-h5 -f /tmp/chunk.h5
    """
    logging.basicConfig(
        level=getattr(logging, log_level.upper()), format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


@cli.result_callback()
def _run(stages: list[Any], log_level: str) -> None:
    from chunkflow.pipeline import run_pipeline

    for _ in run_pipeline(list(stages)):
        pass


# commands that are not chain operators; each is a click command in its own module
STANDALONE_COMMANDS = {
    "view": "chunkflow.viewer.cli:view",
    "queue": "chunkflow.queues.cli:queue",
    "worker": "chunkflow.queues.cli:worker",
    "global-connected-components": "chunkflow.segmentation.global_cc_cli:global_connected_components",
}


def _standalone(argv: list[str]) -> click.Command | None:
    first = next((a for a in argv if not a.startswith("-")), None)
    if first not in STANDALONE_COMMANDS or argv[0] != first:
        return None
    module, attr = STANDALONE_COMMANDS[first].split(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    """Console entry point: errors print one line on stderr and exit 1 (2 for usage errors)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _standalone(argv)
    try:
        if command is not None:
            logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
            command.main(argv[1:], prog_name=f"chunkflow {argv[0]}", standalone_mode=False)
        else:
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
        click.echo(f"chunkflow: error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("chunkflow: interrupted", err=True)
        return 130
    return 0
