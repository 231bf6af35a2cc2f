"""Skeletons of segmentation chunks with kimimaro, written as precomputed skeletons
(``<volume>/skeletons/<id>``, readable by cloud-volume and neuroglancer)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError
from chunkflow.volumes.base import atomic_path

__all__ = ["skeletonize_chunk"]

_SKELETON_INFO = {"@type": "neuroglancer_skeletons", "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
                  "vertex_attributes": [{"id": "radius", "data_type": "float32", "num_components": 1}],
                  "spatial_index": None}  # fmt: skip


def skeletonize_chunk(chunk: Chunk, volume_path: str, dust_threshold: int = 1000, scale: float = 4.0,
                      const: float = 500.0) -> list[int]:  # fmt: skip
    """Skeletonise every object of ``chunk`` larger than ``dust_threshold`` voxels; returns their ids."""
    import kimimaro

    if chunk.ndim != 3 or chunk.dtype.kind not in "ui":
        raise IncompatibleChunkError(f"skeletons need 3D integer labels; got {chunk.dtype} with shape {chunk.shape}")
    root = Path(volume_path.removeprefix("file://"))
    info_path = root / "info"
    if info_path.exists():
        info = json.loads(info_path.read_text())
        if info.get("skeletons") != "skeletons":
            info["skeletons"] = "skeletons"
            with atomic_path(info_path) as tmp:
                tmp.write_text(json.dumps(info))
    directory = root / "skeletons"
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "info").exists():
        with atomic_path(directory / "info") as tmp:
            tmp.write_text(json.dumps(_SKELETON_INFO))
    skeletons = kimimaro.skeletonize(
        np.asfortranarray(chunk.array.T), teasar_params={"scale": scale, "const": const},
        anisotropy=chunk.voxel_size.xyz, dust_threshold=dust_threshold, progress=False, parallel=1,
    )  # fmt: skip
    offset_nm = np.asarray(chunk.voxel_offset.xyz, dtype=np.float32) * np.asarray(chunk.voxel_size.xyz, dtype=np.float32)
    for obj, skeleton in skeletons.items():
        skeleton.vertices += offset_nm
        skeleton.id = obj
        with atomic_path(directory / str(obj)) as tmp:
            tmp.write_bytes(skeleton.to_precomputed())
    return sorted(int(k) for k in skeletons)
