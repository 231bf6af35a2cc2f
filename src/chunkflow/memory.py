"""Large zero-filled buffers that do not pay one page fault per 4 KiB page.

On virtual machines a page fault is expensive: first-touching a fresh 200 MB ``np.zeros``
array cost 0.8 s here, against 0.1 s for the same memory mapped with ``MAP_POPULATE`` (one
system call fills every page). Inference output buffers are written everywhere, so populating
them up front is never wasted.
"""

from __future__ import annotations

import mmap
import sys

import numpy as np
import numpy.typing

__all__ = ["populated_zeros"]

_THRESHOLD = 16 * 2**20


def populated_zeros(shape: tuple[int, ...], dtype: np.typing.DTypeLike = np.float32) -> np.ndarray:
    """``np.zeros(shape, dtype)``, with its pages populated up front where the OS allows."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod([int(s) for s in shape], dtype=object)) * dtype.itemsize
    populate = getattr(mmap, "MAP_POPULATE", None)
    try:
        if nbytes < _THRESHOLD or populate is None or not sys.platform.startswith("linux"):
            return np.zeros(shape, dtype)
        buffer = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    except (MemoryError, OSError, ValueError, OverflowError):
        from chunkflow.errors import InvalidParameterError

        raise InvalidParameterError(
            f"cannot allocate {nbytes / 2**30:,.1f} GiB of memory for an array of shape {tuple(shape)} ({dtype.name}); "
            "use a smaller chunk (or more tasks)"
        ) from None
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)
