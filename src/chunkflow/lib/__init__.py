"""chunkflow 1.2.0's ``chunkflow.lib`` paths, for user code and plugins written against it.

:mod:`chunkflow.lib.cartesian_coordinate` has 1.2.0's ``Cartesian`` and ``BoundingBox``;
:func:`load_source` imports a Python file as a module.
"""

from __future__ import annotations

import importlib.util
import types

__all__ = ["load_source"]


def load_source(fname: str) -> types.ModuleType:
    """Import the Python file ``fname`` as a module (1.2.0's helper)."""
    spec = importlib.util.spec_from_file_location("Model", fname)
    if spec is None or spec.loader is None:
        from chunkflow.errors import VolumeNotFoundError

        raise VolumeNotFoundError(f"cannot import {fname!r}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
