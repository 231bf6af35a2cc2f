"""Which optional extra each operator or command needs, and a cheap check that it is installed.

The core install (``pip install chunkflow``) reads and writes volumes, runs chains and queues.
Role-specific libraries are extras (``pip install 'chunkflow[inference]'``). An operator whose
extra is missing still shows in ``chunkflow --help``, but running it fails at once, before any
work is done, with one line naming the extra and the pip command.

The check only asks ``importlib.util.find_spec`` for top-level modules: nothing is imported.
"""

from __future__ import annotations

import importlib.util

from chunkflow.errors import ChunkflowError

__all__ = ["EXTRA_MODULES", "COMMAND_EXTRAS", "MissingExtraError", "missing_modules", "require_extra", "pip_command"]

#: extra -> top-level modules that must be importable (kept in step with pyproject.toml)
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "inference": ("torch", "onnxruntime"),
    "segmentation": ("waterz", "cc3d", "fastremap", "scipy"),
    "segmentation-skimage": ("skimage",),
    "mesh": ("zmesh", "kimimaro"),
    "viewer": ("neuroglancer",),
    "dask": ("dask", "distributed"),
    "dask-jobqueue": ("dask_jobqueue",),
    "plugins": ("cv2", "mrcfile", "nrrd"),
    "plugins-nrrd": ("nrrd",),
}

#: for extras whose modules are a subset of a bigger extra: which extra to name in the message
_EXTRA_TO_INSTALL = {"dask-jobqueue": "dask", "segmentation-skimage": "segmentation", "plugins-nrrd": "plugins"}

#: chained operator or standalone command -> extra. Operators not listed run on the core install.
COMMAND_EXTRAS: dict[str, str] = {
    "inference": "inference",
    "agglomerate": "segmentation",
    "watershed": "segmentation",
    "connected-components": "segmentation",
    "mask-out-objects": "segmentation",
    "relabel": "segmentation",
    "global-cc-task": "segmentation",
    "global-connected-components": "segmentation",
    "agglomerate-volume": "segmentation",
    "clahe": "segmentation-skimage",
    "gaussian-filter": "segmentation",
    "mesh": "mesh",
    "mesh-manifest": "mesh",
    "skeletonize": "mesh",
    "aggregate-skeleton-fragments": "mesh",
    "neuroglancer": "viewer",
    "view": "viewer",
    "save-nrrd": "plugins-nrrd",
}


class MissingExtraError(ChunkflowError, ModuleNotFoundError):
    """An operator needs an optional extra that is not installed."""


def pip_command(extra: str) -> str:
    return f"pip install 'chunkflow[{_EXTRA_TO_INSTALL.get(extra, extra)}]'"


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be found (empty when the extra is installed)."""
    return [m for m in EXTRA_MODULES[extra] if importlib.util.find_spec(m) is None]


def require_extra(command: str, extra: str | None = None) -> None:
    """Raise :class:`MissingExtraError` when ``command`` needs an extra that is not installed.

    ``extra`` defaults to the one :data:`COMMAND_EXTRAS` lists for ``command``; commands not
    listed need nothing beyond the core.
    """
    extra = extra or COMMAND_EXTRAS.get(command)
    if extra is None:
        return
    missing = missing_modules(extra)
    if missing:
        name = _EXTRA_TO_INSTALL.get(extra, extra)
        raise MissingExtraError(
            f"{command!r} needs the {name!r} extra ({', '.join(missing)} not installed); "
            f"install it with: {pip_command(extra)}"
        )


def wants_help(args: list[str]) -> bool:
    """True when the command's own arguments ask for ``--help`` (help works without the extra)."""
    return any(a in ("--help", "-h") for a in args)
