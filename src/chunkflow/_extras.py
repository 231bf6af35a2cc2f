"""The optional extras, and a cheap check that the one a command needs is installed.

The core install (``pip install chunkflow``) reads and writes volumes, runs chains and queues.
Role-specific libraries are extras (``pip install 'chunkflow[inference]'``). An operator whose
extra is missing still shows in ``chunkflow --help``, but running it fails at once, before any
work is done, with one line naming the extra and the pip command.

Each command declares its extra next to its code (``COMMANDS`` in its module, read by
:mod:`chunkflow.operators.registry`). The check only asks ``importlib.util.find_spec`` for
top-level modules: nothing is imported.
"""

from __future__ import annotations

import importlib.util

from chunkflow.errors import ChunkflowError

__all__ = ["EXTRA_MODULES", "MissingExtraError", "missing_modules", "require_extra", "pip_command"]

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


class MissingExtraError(ChunkflowError, ModuleNotFoundError):
    """An operator needs an optional extra that is not installed."""


def pip_command(extra: str) -> str:
    return f"pip install 'chunkflow[{_EXTRA_TO_INSTALL.get(extra, extra)}]'"


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be found (empty when the extra is installed)."""
    return [m for m in EXTRA_MODULES[extra] if importlib.util.find_spec(m) is None]


def require_extra(command: str, extra: str | None) -> None:
    """Raise :class:`MissingExtraError` when ``extra`` (the one ``command`` needs; None: only the core)
    is not installed."""
    if extra is None:
        return
    if extra not in EXTRA_MODULES:
        raise ChunkflowError(
            f"{command!r} declares the extra {extra!r}, which chunkflow does not have ({', '.join(EXTRA_MODULES)}); "
            "fix the declaration of the package that provides it"
        )
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
