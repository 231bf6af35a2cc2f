"""User plugins: a Python file defining ``execute(*inputs, **args)`` (chunkflow 1.2.0's contract).

``plugin -f NAME`` looks for ``NAME.py`` among the plugins shipped in this folder, then in each folder
of ``CHUNKFLOW_PLUGIN_DIR`` (separated by ``os.pathsep``), then as a path; ``-f path/to/file.py`` (a
name with a folder in it) is a path. Inputs are named chunks of the task; ``bbox`` is the task's box
(as 1.2.0's ``chunkflow.lib.cartesian_coordinate.BoundingBox``) and ``None`` passes ``None``. Arguments
``-a 'a=3;b=(1,2)'`` become keywords; an argument without ``=`` is passed as ``args=``. A returned
ndarray is placed like 1.2.0 places it: at the first input chunk's offset, moved by half the
difference in shape where the plugin cropped symmetrically, with its voxel size.

Third-party packages can also add whole operators through the ``chunkflow.operators`` entry-point
group: an :class:`chunkflow.operators.registry.Operator` wrapping a click command that returns a
:class:`chunkflow.pipeline.Stage` (see :mod:`chunkflow.operators.registry`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.compat.chunk import as_120, as_core
from chunkflow.compat.synapses import Synapses
from chunkflow.errors import ChunkflowError, InvalidParameterError, VolumeNotFoundError
from chunkflow.task import Task

__all__ = ["find_plugin", "load_plugin", "run_plugin", "parse_args", "PluginError", "SHIPPED_PLUGIN_DIR"]

log = logging.getLogger(__name__)

SHIPPED_PLUGIN_DIR = Path(__file__).parent


class PluginError(ChunkflowError, RuntimeError):
    """A plugin failed to import, raised, or returned something chunkflow cannot store."""


def find_plugin(name: str) -> Path:
    """The plugin file ``name`` stands for (see the module docstring for the search order)."""
    file_name = name if name.endswith(".py") else f"{name}.py"
    candidates: list[Path] = []
    if os.sep not in name and "/" not in name:
        candidates.append(SHIPPED_PLUGIN_DIR / file_name)
        for folder in filter(None, os.environ.get("CHUNKFLOW_PLUGIN_DIR", "").split(os.pathsep)):
            candidates.append(Path(folder).expanduser() / file_name)
    candidates.append(Path(file_name).expanduser())
    for path in candidates:
        if path.is_file() and path.name != "__init__.py":
            return path
    raise VolumeNotFoundError(
        f"plugin {name!r} does not exist (looked in: {', '.join(str(p) for p in candidates)}); "
        "give a path to a .py file or set CHUNKFLOW_PLUGIN_DIR"
    )


def load_plugin(name: str) -> Callable[..., Any]:
    """The ``execute`` (or 1.2.0's older ``exec``) function of the plugin ``name``."""
    import importlib.util

    file = find_plugin(name)
    spec = importlib.util.spec_from_file_location(f"chunkflow_plugin_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except ModuleNotFoundError as exc:
        raise PluginError(
            f"plugin {name!r} ({file}) needs the package {exc.name!r}; install it (pip install ...)"
        ) from None
    except Exception as exc:
        raise PluginError(f"plugin {name!r} ({file}) failed to import: {type(exc).__name__}: {exc}") from None
    execute = getattr(module, "execute", None) or getattr(module, "exec", None)
    if not callable(execute):
        raise PluginError(f"plugin {name!r} ({file}) defines no execute(*chunks, ...) function")
    execute.__chunkflow_plugin__ = name
    return execute


def parse_args(args: str | None) -> dict[str, Any] | str | None:
    """``'a=3;b=(1,2)'`` becomes ``{'a': 3, 'b': (1, 2)}``; other strings pass through."""
    if args is None or "=" not in args:
        return args
    from chunkflow.lib.utils import str_to_dict

    return str_to_dict(args)


def _input(task: Task, name: str) -> Any:
    if name == "None":
        return None
    if name == "bbox" and "bbox" not in task:
        if task.bbox is None:
            raise InvalidParameterError(
                "plugin -i bbox: this task has no bounding box; start the chain with generate-tasks"
            )
        from chunkflow.lib.cartesian_coordinate import BoundingBox

        return BoundingBox.from_geometry(task.bbox)
    return as_120(task[name])  # a plugin is 1.2.0 code: it sees 1.2.0's Chunk (the same array)


def place_array(array: np.ndarray, like: Chunk | None, task: Task) -> Chunk:
    """1.2.0's placement of an ndarray a plugin returned: at ``like``'s offset moved by half the shape
    difference (a symmetric crop), with its voxel size; without an input chunk, at the task's box."""
    if like is not None:
        offset = [o + (i - n) // 2 for o, i, n in zip(like.voxel_offset, like.spatial_shape, array.shape[-3:])]
        return Chunk(array, voxel_offset=offset, voxel_size=like.voxel_size)
    return Chunk(array, voxel_offset=task.bbox.start if task.bbox is not None else None)


_STORABLE = (Chunk, np.ndarray, dict, list, Synapses)


def run_plugin(
    execute: Callable[..., Any], task: Task, inputs: list[str], outputs: list[str], args: str | None
) -> None:
    """Call the plugin on the task's inputs and store what it returns under ``outputs``."""
    name = getattr(execute, "__chunkflow_plugin__", getattr(execute, "__module__", "plugin"))
    values = [_input(task, n) for n in inputs]
    parsed = parse_args(args)
    keywords = parsed if isinstance(parsed, dict) else ({} if parsed is None else {"args": parsed})
    try:
        result = execute(*values, **keywords)
    except ChunkflowError:
        raise
    except Exception as exc:
        log.debug("plugin %s raised", name, exc_info=True)
        raise PluginError(f"plugin {name!r} raised {type(exc).__name__}: {exc}") from None
    if isinstance(result, (list, tuple)):
        results = list(result)
    else:
        results = [] if result is None and not outputs else [result]
    if len(results) != len(outputs):
        raise PluginError(
            f"plugin {name!r} returned {len(results)} value(s) but -o names {len(outputs)} "
            f"({','.join(outputs) or 'none'})"
        )
    like = next((v for v in values if isinstance(v, Chunk)), None)
    for out_name, value in zip(outputs, results):
        if isinstance(value, np.ndarray):
            value = place_array(value, like, task)
        elif isinstance(value, Chunk):
            value = as_core(value)
        elif value is not None and not isinstance(value, _STORABLE) and not hasattr(value, "points"):
            raise PluginError(
                f"plugin {name!r} returned a {type(value).__name__} for {out_name!r}; a plugin returns "
                "chunks, arrays, point clouds, synapses, dicts or None"
            )
        task[out_name] = value
