"""Outputs and work files of staged jobs: created before any task, written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import Vec3, Vec3Like
from chunkflow.volumes.base import atomic_path

__all__ = ["save_npz", "existing_output", "open_or_create", "storage_block"]


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]


def existing_output(url: str, like_url: str, dtype: str, block_size: Vec3Like) -> bool:
    """Whether ``url`` already holds a volume the job can write into (same box and dtype); a volume
    whose storage blocks do not divide the task block is refused before anything is written."""
    from chunkflow.errors import ChunkflowError
    from chunkflow.volumes import open_volume

    source = open_volume(like_url)
    try:
        existing = open_volume(url)
    except (ChunkflowError, OSError):
        return False
    if existing.bbox != source.bbox or np.dtype(existing.dtype) != np.dtype(dtype):
        return False
    stored = Vec3.of(existing.block_size)
    if any(b % s for b, s in zip(Vec3.of(block_size), stored)):
        raise InvalidParameterError(
            f"output {url} is stored in blocks of {tuple(stored)}, which do not divide the task block "
            f"{tuple(Vec3.of(block_size))}; pick a block size that is a multiple of {tuple(stored)}"
        )
    return True


def open_or_create(url: str, like_url: str, dtype: str, block_size: Vec3Like, layer_type: str = "segmentation") -> None:
    """Create ``url`` the size of ``like_url`` unless :func:`existing_output` finds it there."""
    from chunkflow.volumes import create_volume, open_volume

    if existing_output(url, like_url, dtype, block_size):
        return
    source = open_volume(like_url)
    create_volume(url, volume_size=source.bbox.size, voxel_offset=source.bbox.start, voxel_size=source.voxel_size,
                  dtype=dtype, layer_type=layer_type, block_size=storage_block(block_size))  # fmt: skip


def storage_block(task_block: Vec3Like) -> tuple[int, int, int]:
    """The output's storage block for tasks of ``task_block``: halved along every even axis of 64 or
    more, so a task's write is several blocks that the volume library encodes in parallel (writing a
    256x512x512 uint32 Zarr in 64x128x128 blocks took 0.41 s against 1.06 s in 128x256x256 blocks),
    and still aligned to every task."""
    return tuple(b // 2 if b >= 64 and b % 2 == 0 else b for b in Vec3.of(task_block))  # type: ignore[return-value]
