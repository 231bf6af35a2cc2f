"""The chunkflow error tree.

Every error subclasses both :class:`ChunkflowError` and the builtin it refines, so callers
may catch either. The CLI catches :class:`ChunkflowError` once, prints its message as one
line on stderr and exits 1. Messages say what was given, what was expected and what to do.
"""

from __future__ import annotations

__all__ = [
    "ChunkflowError",
    "InvalidBoundingBoxError",
    "InvalidParameterError",
    "VolumeNotFoundError",
    "VolumeFormatError",
    "IncompatibleChunkError",
    "MissingChunkError",
    "QueueError",
    "ModelError",
    "CorruptFileError",
    "StorageError",
    "ConditionalWriteError",
]


class ChunkflowError(Exception):
    """Base class of all errors chunkflow raises on bad input."""


class InvalidBoundingBoxError(ChunkflowError, ValueError):
    """A bounding box string or extent is malformed, empty or negative."""


class InvalidParameterError(ChunkflowError, ValueError):
    """An operator parameter is out of range or inconsistent with another."""


class VolumeNotFoundError(ChunkflowError, FileNotFoundError):
    """A file or volume does not exist where it was asked for."""


class VolumeFormatError(ChunkflowError, ValueError):
    """A file or volume exists but cannot be read or cannot store what was asked (corrupt, dtype)."""


class IncompatibleChunkError(ChunkflowError, ValueError):
    """Shapes, dtypes, offsets or channels of chunks or volumes do not match."""


class MissingChunkError(ChunkflowError, KeyError):
    """An operator asked for a named chunk the task does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; we want the plain line
        return str(self.args[0]) if self.args else ""


class QueueError(ChunkflowError, RuntimeError):
    """A task queue cannot be reached, created or parsed."""


class ModelError(ChunkflowError, ValueError):
    """A ConvNet model or its weights cannot be loaded or give the wrong output."""


class CorruptFileError(VolumeFormatError):
    """A file chunkflow reads back (a manifest, a marker, a work file, an ``info``) is truncated or foreign."""


class StorageError(ChunkflowError, OSError):
    """A store cannot be used: the bucket does not exist, no credentials, the endpoint does not answer."""


class ConditionalWriteError(StorageError):
    """A conditional write (create-if-absent, compare-and-swap) cannot be done on this store, or kept losing."""
