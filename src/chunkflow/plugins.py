"""User plugins: a Python file defining ``execute(*chunks, args=...)`` (chunkflow 1.2.0's contract)."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import InvalidParameterError, VolumeNotFoundError
from chunkflow.task import Task

__all__ = ["load_plugin", "run_plugin", "parse_args"]


def load_plugin(path: str) -> Callable[..., Any]:
    file = Path(path)
    if not file.is_file():
        raise VolumeNotFoundError(f"plugin file {path!r} does not exist; pass the path of a .py file")
    spec = importlib.util.spec_from_file_location(f"chunkflow_plugin_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:
        raise InvalidParameterError(f"plugin {path!r} failed to import: {type(exc).__name__}: {exc}") from None
    execute = getattr(module, "execute", None) or getattr(module, "exec", None)
    if not callable(execute):
        raise InvalidParameterError(f"plugin {path!r} defines no execute(*chunks, args=...) function")
    return execute  # type: ignore[no-any-return]


def parse_args(args: str | None) -> dict[str, Any] | str | None:
    """``'a=3;b=(1,2)'`` becomes ``{'a': 3, 'b': (1, 2)}``; other strings pass through."""
    if args is None or "=" not in args:
        return args
    parsed: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in args.split(";"))):
        key, _, value = item.partition("=")
        try:
            parsed[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            parsed[key.strip()] = value.strip()
    return parsed


def run_plugin(execute: Callable[..., Any], task: Task, inputs: list[str], outputs: list[str], args: str | None) -> None:
    chunks = [task[name] for name in inputs]
    parsed = parse_args(args)
    if isinstance(parsed, dict):
        result = execute(*chunks, **parsed)
    elif parsed is not None:
        result = execute(*chunks, args=parsed)
    else:
        result = execute(*chunks)
    results = list(result) if isinstance(result, (list, tuple)) else ([] if result is None else [result])
    if len(results) != len(outputs):
        raise InvalidParameterError(
            f"plugin returned {len(results)} value(s) but -o names {len(outputs)} ({','.join(outputs) or 'none'})"
        )
    for name, value in zip(outputs, results):
        if isinstance(value, np.ndarray):
            like = chunks[0] if chunks else None
            value = like.with_array(value) if like is not None and like.spatial_shape == value.shape[-3:] else Chunk(value)
        task[name] = value
