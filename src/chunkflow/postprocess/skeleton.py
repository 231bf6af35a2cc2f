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

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from chunkflow import files
from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError
from chunkflow.postprocess._layout import SKELETON_FRAGMENT, declare_subdir

__all__ = ["skeletonize_chunk", "aggregate_fragments", "skeleton_dir"]

_SKELETON_INFO = {"@type": "neuroglancer_skeletons", "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
                  "vertex_attributes": [{"id": "radius", "data_type": "float32", "num_components": 1}],
                  "spatial_index": None}  # fmt: skip


def skeleton_dir(volume_path: str) -> str:
    """``<volume>/skeletons`` (or the directory the volume's info already names), declared in the volume's
    info; a plain directory without an info is used as the volume. A local path, file://, gs:// or s3://."""
    return declare_subdir(volume_path.removeprefix("file://"), "skeletons", _SKELETON_INFO)


def skeletonize_chunk(
    chunk: Chunk,
    volume_path: str,
    dust_threshold: int = 1000,
    scale: float = 4.0,
    const: float = 500.0,
    is_segmentation: bool = False,
) -> list[int]:
    """Skeletonise every object of ``chunk`` larger than ``dust_threshold`` voxels into fragments;
    returns their ids. Vertices are in global nanometres. An image (a uint8 chunk, or one whose layer
    type is not segmentation) is refused unless ``is_segmentation``: its intensities are not objects."""
    import kimimaro

    from chunkflow.postprocess._meshing import NON_LABEL_LAYERS

    if chunk.ndim != 3 or chunk.dtype.kind not in "ui":
        raise IncompatibleChunkError(f"skeletons need 3D integer labels; got {chunk.dtype} with shape {chunk.shape}")
    if not (is_segmentation or chunk.layer_type == "segmentation") and (
        chunk.layer_type in NON_LABEL_LAYERS or chunk.dtype.itemsize == 1
    ):
        raise IncompatibleChunkError(
            f"the chunk is a {chunk.dtype} {chunk.layer_type.replace('_', ' ')}, not a segmentation: skeletonizing it "
            "would make one object per intensity; skeletonize a segmentation, or pass --is-segmentation if these are labels"
        )
    directory = files.join(skeleton_dir(volume_path), "fragments")
    skeletons = kimimaro.skeletonize(
        np.asfortranarray(chunk.array.T),
        teasar_params={"scale": scale, "const": const},
        anisotropy=chunk.voxel_size.xyz,
        dust_threshold=dust_threshold,
        progress=False,
        parallel=1,
    )
    offset_nm = np.asarray(chunk.voxel_offset.xyz, dtype=np.float32) * np.asarray(
        chunk.voxel_size.xyz, dtype=np.float32
    )
    fragments = {}
    for obj, skeleton in skeletons.items():
        skeleton.vertices += offset_nm
        skeleton.id = obj
        fragments[f"{obj}:{chunk.bbox}"] = bytes(skeleton.to_precomputed())
    files.write_many(directory, fragments)
    return sorted(int(k) for k in skeletons)


def _merge(obj: str, fragments: dict[str, bytes | None], directory: str) -> bytes:
    from cloudvolume import Skeleton

    from chunkflow.errors import CorruptFileError

    fix = "delete it and rerun skeletonize for its task (the box in its name)"
    parts = []
    for name in sorted(fragments):
        data = fragments[name]
        where = files.join(directory, "fragments", name)
        if data is None:
            raise CorruptFileError(f"skeleton fragment {where} went missing while merging; rerun the aggregation")
        try:
            parts.append(Skeleton.from_precomputed(data, segid=int(obj)))
        except Exception as exc:  # noqa: BLE001 - cloud-volume raises many kinds for bytes that are not a skeleton
            raise CorruptFileError(
                f"skeleton fragment {where} is not a precomputed skeleton ({type(exc).__name__}); {fix}"
            ) from None
    merged = Skeleton.simple_merge(parts).consolidate() if len(parts) > 1 else parts[0]
    merged.id = int(obj)
    return bytes(merged.to_precomputed())


def _fragments(directory: str, prefix: str, ids: list[int] | None) -> dict[str, list[str]]:
    """Fragment names under ``directory/fragments`` grouped by object id (ids starting with ``prefix``, or in ``ids``)."""
    wanted = None if ids is None else {str(i) for i in ids}
    groups: dict[str, list[str]] = defaultdict(list)
    for name in files.list_names(files.join(directory, "fragments"), recursive=False):
        match = SKELETON_FRAGMENT.match(name)
        if match and match.group(1).startswith(prefix) and (wanted is None or match.group(1) in wanted):
            groups[match.group(1)].append(name)
    return groups


def _read_object(directory: str, names: list[str]) -> dict[str, bytes | None]:
    return files.read_many(files.join(directory, "fragments"), names)


def aggregate_fragments(
    volume_path: str,
    prefix: str = "",
    ids: list[int] | None = None,
    shard: bool = False,
    shard_numbers: Iterable[int] | None = None,
) -> int:
    """Merge the fragments of every object (whose id starts with ``prefix``, or in ``ids``) into
    ``skeletons/<id>``, or with ``shard`` into the shard files of the given shards (default all);
    vertices shared by two fragments are fused. Returns the number of objects."""
    directory = skeleton_dir(volume_path)
    fragments = _fragments(directory, prefix if not shard else "", ids if not shard else None)
    if not shard:
        for obj, names in fragments.items():
            files.write_bytes(files.join(directory, obj), _merge(obj, _read_object(directory, names), directory))
        return len(fragments)
    return _write_shards(directory, fragments, shard_numbers)


def _write_shards(directory: str, fragments: dict[str, list[str]], shard_numbers: Iterable[int] | None) -> int:
    from cloudvolume.datasource.precomputed.sharding import (
        ShardingSpecification,
        compute_shard_params_for_hashed,
        synthesize_shard_files,
    )

    def add_sharding(info: dict) -> dict:
        if "sharding" not in info or not info["sharding"]:  # the first caller fixes the spec; the rest keep it
            shard_bits, minishard_bits, preshift_bits = compute_shard_params_for_hashed(len(fragments))
            info["sharding"] = {"@type": "neuroglancer_uint64_sharded_v1", "hash": "murmurhash3_x86_128",
                                "preshift_bits": preshift_bits, "minishard_bits": minishard_bits,
                                "shard_bits": shard_bits, "minishard_index_encoding": "gzip",
                                "data_encoding": "gzip"}  # fmt: skip
        return info

    info = files.update_json(files.join(directory, "info"), add_sharding, what="skeleton info")
    spec = ShardingSpecification.from_dict(info["sharding"])
    by_shard: dict[int, list[str]] = defaultdict(list)
    for obj in fragments:
        by_shard[int(spec.compute_shard_location(int(obj)).shard_number, 16)].append(obj)
    wanted = set(by_shard) if shard_numbers is None else set(shard_numbers) & set(by_shard)
    for number in sorted(wanted):
        data = {int(obj): _merge(obj, _read_object(directory, fragments[obj]), directory) for obj in by_shard[number]}
        files.write_many(directory, dict(synthesize_shard_files(spec, data).items()))
    return sum(len(by_shard[n]) for n in wanted)
