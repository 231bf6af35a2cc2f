"""Skeletons of segmentation chunks with kimimaro, as precomputed skeletons (readable by
cloud-volume and neuroglancer).

Like meshes, skeletons are made chunk by chunk: ``skeletonize`` writes one fragment per object per
chunk (``<volume>/skeletons/fragments/<id>:<bbox>``), so parallel workers never write the same file;
``aggregate-skeleton-fragments`` (``aggregate_fragments``) then merges every object's fragments into
``<volume>/skeletons/<id>``, joining the pieces where they meet at chunk faces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError
from chunkflow.postprocess._layout import SKELETON_FRAGMENT, declare_subdir, fragments_by_id
from chunkflow.volumes.base import atomic_path

__all__ = ["skeletonize_chunk", "aggregate_fragments", "skeleton_dir"]

_SKELETON_INFO = {"@type": "neuroglancer_skeletons", "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
                  "vertex_attributes": [{"id": "radius", "data_type": "float32", "num_components": 1}],
                  "spatial_index": None}  # fmt: skip


def skeleton_dir(volume_path: str) -> Path:
    """``<volume>/skeletons``, declared in the volume's info (a plain directory is used as the volume)."""
    directory = declare_subdir(Path(volume_path.removeprefix("file://")), "skeletons", _SKELETON_INFO)
    (directory / "fragments").mkdir(exist_ok=True)
    return directory


def skeletonize_chunk(chunk: Chunk, volume_path: str, dust_threshold: int = 1000, scale: float = 4.0,
                      const: float = 500.0) -> list[int]:  # fmt: skip
    """Skeletonise every object of ``chunk`` larger than ``dust_threshold`` voxels into fragments;
    returns their ids. Vertices are in global nanometres."""
    import kimimaro

    if chunk.ndim != 3 or chunk.dtype.kind not in "ui":
        raise IncompatibleChunkError(f"skeletons need 3D integer labels; got {chunk.dtype} with shape {chunk.shape}")
    directory = skeleton_dir(volume_path) / "fragments"
    skeletons = kimimaro.skeletonize(
        np.asfortranarray(chunk.array.T), teasar_params={"scale": scale, "const": const},
        anisotropy=chunk.voxel_size.xyz, dust_threshold=dust_threshold, progress=False, parallel=1,
    )  # fmt: skip
    offset_nm = np.asarray(chunk.voxel_offset.xyz, dtype=np.float32) * np.asarray(chunk.voxel_size.xyz, dtype=np.float32)
    for obj, skeleton in skeletons.items():
        skeleton.vertices += offset_nm
        skeleton.id = obj
        with atomic_path(directory / f"{obj}:{chunk.bbox}") as tmp:
            tmp.write_bytes(skeleton.to_precomputed())
    return sorted(int(k) for k in skeletons)


def aggregate_fragments(volume_path: str, prefix: str = "", ids: list[int] | None = None) -> int:
    """Merge the fragments of every object (whose id starts with ``prefix``, or in ``ids``) into
    ``skeletons/<id>``; vertices shared by two fragments are fused. Returns the number of objects."""
    from cloudvolume import Skeleton

    directory = skeleton_dir(volume_path)
    fragments = fragments_by_id(directory / "fragments", SKELETON_FRAGMENT, prefix, ids)
    for obj, entries in fragments.items():
        parts = [Skeleton.from_precomputed(Path(p).read_bytes(), segid=int(obj)) for p in sorted(e.path for e in entries)]
        merged = Skeleton.simple_merge(parts).consolidate() if len(parts) > 1 else parts[0]
        merged.id = int(obj)
        with atomic_path(directory / obj) as tmp:
            tmp.write_bytes(merged.to_precomputed())
    return len(fragments)
