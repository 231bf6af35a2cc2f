"""Skeletons of segmentation chunks with kimimaro, as precomputed skeletons (readable by
cloud-volume and neuroglancer).

Like meshes, skeletons are made chunk by chunk: ``skeletonize`` writes one fragment per object per
chunk (``<volume>/skeletons/fragments/<id>:<bbox>``), so parallel workers never write the same file;
``aggregate-skeleton-fragments`` (``aggregate_fragments``) then merges every object's fragments into
``<volume>/skeletons/<id>``, joining the pieces where they meet at chunk faces. With ``shard=True`` the
merged skeletons go into ``neuroglancer_uint64_sharded_v1`` shard files instead (cloud-volume's shard
writer; the spec is fixed from the number of objects at the first call, and ``shard_numbers`` lets
several processes write different shards).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError
from chunkflow.postprocess._layout import SKELETON_FRAGMENT, declare_subdir, fragments_by_id
from chunkflow.volumes.base import atomic_path, local_path

__all__ = ["skeletonize_chunk", "aggregate_fragments", "skeleton_dir"]

_SKELETON_INFO = {"@type": "neuroglancer_skeletons", "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
                  "vertex_attributes": [{"id": "radius", "data_type": "float32", "num_components": 1}],
                  "spatial_index": None}  # fmt: skip


def skeleton_dir(volume_path: str) -> Path:
    """``<volume>/skeletons``, declared in the volume's info (a plain directory is used as the volume)."""
    directory = declare_subdir(local_path(volume_path), "skeletons", _SKELETON_INFO)
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
    offset_nm = np.asarray(chunk.voxel_offset.xyz, dtype=np.float32) * np.asarray(
        chunk.voxel_size.xyz, dtype=np.float32
    )
    for obj, skeleton in skeletons.items():
        skeleton.vertices += offset_nm
        skeleton.id = obj
        with atomic_path(directory / f"{obj}:{chunk.bbox}") as tmp:
            tmp.write_bytes(skeleton.to_precomputed())
    return sorted(int(k) for k in skeletons)


def _merge(obj: str, entries: list) -> bytes:
    from cloudvolume import Skeleton

    parts = [Skeleton.from_precomputed(Path(p).read_bytes(), segid=int(obj)) for p in sorted(e.path for e in entries)]
    merged = Skeleton.simple_merge(parts).consolidate() if len(parts) > 1 else parts[0]
    merged.id = int(obj)
    return bytes(merged.to_precomputed())


def aggregate_fragments(volume_path: str, prefix: str = "", ids: list[int] | None = None, shard: bool = False,
                        shard_numbers: Iterable[int] | None = None) -> int:  # fmt: skip
    """Merge the fragments of every object (whose id starts with ``prefix``, or in ``ids``) into
    ``skeletons/<id>``, or with ``shard`` into the shard files of the given shards (default all);
    vertices shared by two fragments are fused. Returns the number of objects."""
    directory = skeleton_dir(volume_path)
    fragments = fragments_by_id(directory / "fragments", SKELETON_FRAGMENT, prefix if not shard else "",
                                ids if not shard else None)  # fmt: skip
    if not shard:
        for obj, entries in fragments.items():
            with atomic_path(directory / obj) as tmp:
                tmp.write_bytes(_merge(obj, entries))
        return len(fragments)
    return _write_shards(directory, fragments, shard_numbers)


def _write_shards(directory: Path, fragments: dict, shard_numbers: Iterable[int] | None) -> int:
    from cloudvolume.datasource.precomputed.sharding import (
        ShardingSpecification,
        compute_shard_params_for_hashed,
        synthesize_shard_files,
    )

    info = json.loads((directory / "info").read_text())
    if "sharding" not in info or not info["sharding"]:
        shard_bits, minishard_bits, preshift_bits = compute_shard_params_for_hashed(len(fragments))
        info["sharding"] = {"@type": "neuroglancer_uint64_sharded_v1", "hash": "murmurhash3_x86_128",
                            "preshift_bits": preshift_bits, "minishard_bits": minishard_bits, "shard_bits": shard_bits,
                            "minishard_index_encoding": "gzip", "data_encoding": "gzip"}  # fmt: skip
        with atomic_path(directory / "info") as tmp:
            tmp.write_text(json.dumps(info))
    spec = ShardingSpecification.from_dict(info["sharding"])
    by_shard: dict[int, list[str]] = defaultdict(list)
    for obj in fragments:
        by_shard[int(spec.compute_shard_location(int(obj)).shard_number, 16)].append(obj)
    wanted = set(by_shard) if shard_numbers is None else set(shard_numbers) & set(by_shard)
    for number in sorted(wanted):
        data = {int(obj): _merge(obj, fragments[obj]) for obj in by_shard[number]}
        for name, blob in synthesize_shard_files(spec, data).items():
            with atomic_path(directory / name) as tmp:
                tmp.write_bytes(blob)
    return sum(len(by_shard[n]) for n in wanted)
