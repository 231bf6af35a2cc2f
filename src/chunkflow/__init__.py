"""chunkflow: process 3D microscopy volumes chunk by chunk.

The public API is re-exported here; heavy libraries (torch, cloud-volume, tensorstore) load only
when the functions that need them run.
"""

from __future__ import annotations

from chunkflow.chunk.base import Chunk
from chunkflow.errors import (
    ChunkflowError,
    IncompatibleChunkError,
    InvalidBoundingBoxError,
    InvalidParameterError,
    MissingChunkError,
    ModelError,
    QueueError,
    VolumeFormatError,
    VolumeNotFoundError,
)
from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.task import Task

__version__ = "2.0.0.dev0"

__all__ = [
    "BoundingBox",
    "Chunk",
    "ChunkflowError",
    "IncompatibleChunkError",
    "InvalidBoundingBoxError",
    "InvalidParameterError",
    "MissingChunkError",
    "ModelError",
    "QueueError",
    "Task",
    "Vec3",
    "VolumeFormatError",
    "VolumeNotFoundError",
    "open_volume",
    "create_volume",
    "save_chunk",
]


def __getattr__(name: str):
    if name in ("open_volume", "create_volume", "save_chunk"):
        from chunkflow import volumes

        return getattr(volumes, name)
    raise AttributeError(f"module 'chunkflow' has no attribute {name!r}")
