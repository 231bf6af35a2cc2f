"""Multi-resolution meshes (``neuroglancer_multilod_draco``), sharded or not, readable by neuroglancer
and cloud-volume.

Two stages, like igneous's forge and merge:

1. ``mesh --multires`` (:func:`mesh_task_fragments`): each task meshes its box plus one voxel on the high
   faces (open where neighbouring tasks continue; :mod:`chunkflow.postprocess._meshing`) and writes
   every object's fragment into ONE file per task, ``mesh/fragments/<task bbox>.frags`` (an ``.npz``:
   arrays ``v<id>`` (N, 3) float32 nanometres XYZ, ``f<id>`` (M, 3) uint32, and ``raw``: the ids left
   unsimplified because they continue in a neighbouring task; the others are simplified by zmesh here).
2. ``mesh-manifest`` (:func:`write_multires`): per object, the fragments are welded (they share their
   border vertices exactly) and, where unsimplified, simplified once by zmesh: the finest level of
   detail. Coarser levels halve the triangles per level (zmesh's fast quadric simplification), each
   level is cut into an octree grid (cells of ``chunk_shape * 2**k`` voxels, zmesh ``chunk_mesh``),
   Draco-encoded (DracoPy) and written as ``<id>`` + ``<id>.index``,
   or, sharded, gathered into ``<shard>.shard`` files by cloud-volume's shard writer, one shard per
   call if asked (``shard_numbers``) so shards can be written in parallel.
"""

from __future__ import annotations

import functools
import io
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from chunkflow import files
from chunkflow.chunk.base import Chunk
from chunkflow.errors import CorruptFileError, InvalidParameterError, StorageError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox
from chunkflow.postprocess._layout import declare_subdir
from chunkflow.postprocess._meshing import check_labels, mesh_task, simplify, weld_fragments

__all__ = ["mesh_task_fragments", "write_multires", "multires_dir"]

MULTILOD = "neuroglancer_multilod_draco"
VERTEX_BITS = 16


def _volume_info(volume_path: str) -> dict[str, Any]:
    data = files.maybe_read_bytes(files.join(volume_path, "info"))
    if data is None:
        raise VolumeNotFoundError(
            f"no precomputed volume at {volume_path}: multi-resolution meshes live in a "
            "segmentation volume (save it with save-precomputed first)"
        )
    return dict(json.loads(data))


def multires_dir(volume_path: str, sharded: bool = False, mip: int = 0) -> str:
    """``<volume>/<info["mesh"]>`` (``mesh`` if the volume names none) declared as multi-resolution (vertices in
    voxels of ``mip``, the transform scales them to nanometres); refuses a directory holding legacy meshes."""
    info = _volume_info(volume_path)
    res = info["scales"][mip]["resolution"]
    sub = {"@type": MULTILOD, "vertex_quantization_bits": VERTEX_BITS, "lod_scale_multiplier": 1.0,
           "transform": [res[0], 0, 0, 0, 0, res[1], 0, 0, 0, 0, res[2], 0], "mip": mip,
           "chunkflow": {"sharded": sharded}}  # fmt: skip
    directory = declare_subdir(str(volume_path), "mesh", sub)
    _check_multires(directory, files.read_json(files.join(directory, "info"), "mesh info"), sharded)
    return directory


def _check_multires(directory: str, existing: dict[str, Any], sharded: bool) -> None:
    if existing.get("@type") != MULTILOD:
        raise InvalidParameterError(
            f"{directory} holds {existing.get('@type')} meshes; multi-resolution meshes "
            "need their own mesh directory: remove it or mesh into another volume"
        )
    if existing.get("chunkflow", {}).get("sharded", bool(existing.get("sharding"))) != sharded:
        raise InvalidParameterError(
            f"{directory} was started {'with' if not sharded else 'without'} --shard; "
            "use the same --shard for every task of a volume"
        )


def mesh_task_fragments(
    chunk: Chunk,
    volume_path: str,
    task_bbox: BoundingBox | None = None,
    volume_bbox: BoundingBox | None = None,
    sharded: bool = False,
    mip: int = 0,
    skip_ids: set[int] | None = None,
    dust_size_threshold: int = 0,
    is_segmentation: bool = False,
    simplification_factor: int = 100,
    max_simplification_error: float = 40,
    directory: str | None = None,
) -> list[int]:
    """Stage 1: this task's fragments, all objects in one file (finished objects simplified, those on
    faces shared with neighbouring tasks unsimplified) plus a small ``.ids`` list of them; returns the ids.
    ``directory``: the mesh directory, when the caller resolved it already (:func:`multires_dir`)."""
    check_labels(chunk, is_segmentation)
    directory = directory or multires_dir(volume_path, sharded, mip)
    info = _mesh_info(directory)
    res_zyx = tuple(info["transform"][i] for i in (10, 5, 0))
    arrays: dict[str, np.ndarray] = {}
    raw = []
    for frag in mesh_task(
        chunk,
        res_zyx,
        task_bbox,
        volume_bbox,
        simplification_factor,
        max_simplification_error,
        skip_ids,
        dust_size_threshold,
    ):
        arrays[f"v{frag.obj}"], arrays[f"f{frag.obj}"] = frag.vertices, frag.faces
        if frag.raw:
            raw.append(frag.obj)
    arrays["raw"] = np.asarray(raw, dtype=np.uint64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    ids = sorted(int(k[1:]) for k in arrays if k[0] == "v")
    name = f"{task_bbox or chunk.bbox}"
    # the fragments first: an .ids file names a task file that is whole
    files.write_bytes(files.join(directory, "fragments", f"{name}.frags"), buffer.getvalue())
    files.write_bytes(files.join(directory, "fragments", f"{name}.ids"), json.dumps(ids).encode())
    return ids


def _mesh_info(directory: str) -> dict[str, Any]:
    return dict(files.read_json(files.join(directory, "info"), "mesh info"))


def _fragment_index(directory: str) -> dict[int, list[str]]:
    """Which task files hold fragments of which object (reads only the small ``.ids`` lists, in parallel)."""
    base = files.join(directory, "fragments")
    names = set(files.list_names(base))
    lists = sorted(n for n in names if n.endswith(".ids") and n[: -len(".ids")] + ".frags" in names)
    where: dict[int, list[str]] = defaultdict(list)
    for name, data in sorted(files.read_many(base, lists).items()):
        if data is None:
            continue
        for obj in json.loads(data):
            where[int(obj)].append(files.join(base, name[: -len(".ids")] + ".frags"))
    for name in sorted(n for n in names if n.endswith(".frags") and n[: -len(".frags")] + ".ids" not in names):
        path = files.join(base, name)  # written before the .ids lists existed: read its zip directory
        try:
            keys = _open_fragments(path)[0].files
        except Exception as exc:  # noqa: BLE001 - not a zip, truncated
            raise _corrupt_fragments(path, exc) from None
        for key in keys:
            if key[0] == "v":
                where[int(key[1:])].append(path)
    return where


def _morton(positions: np.ndarray) -> np.ndarray:
    code = np.zeros(len(positions), dtype=np.uint64)
    for bit in range(21):
        for axis in range(3):
            code |= ((positions[:, axis].astype(np.uint64) >> np.uint64(bit)) & np.uint64(1)) << np.uint64(
                3 * bit + axis
            )
    return code


def _encode(
    vertices: np.ndarray, faces: np.ndarray, origin: np.ndarray, cell: np.ndarray, position: np.ndarray, level: int
) -> bytes:
    import DracoPy

    if len(faces) == 0:
        return b""
    top = 2**VERTEX_BITS - 1
    stored = np.clip(np.round(((vertices - origin) / cell - position) * top), 0, top)
    return bytes(
        DracoPy.encode(
            stored.astype(np.float32),
            faces,
            quantization_bits=VERTEX_BITS,
            compression_level=level,
            quantization_range=top,
            quantization_origin=np.zeros(3),
            create_metadata=True,
        )
    )


def multires_mesh(
    parts: list[tuple[np.ndarray, np.ndarray]],
    obj: int,
    res: np.ndarray,
    num_lods: int = 3,
    min_chunk_size: int = 128,
    simplification_factor: int = 100,
    max_simplification_error: float = 40,
    draco_level: int = 7,
    raw: bool = True,
) -> tuple[bytes, bytes] | None:
    """(fragment data, manifest) of one object from its task fragments (nm; ``raw``: some unsimplified),
    or None for an empty mesh."""
    import zmesh
    from cloudvolume.datasource.precomputed.mesh.multilod import MultiLevelPrecomputedMeshManifest

    welded = weld_fragments(parts)
    if len(welded[1]) == 0:
        return None
    lod0 = simplify(*welded, res, simplification_factor, max_simplification_error) if raw else welded
    origin = np.floor(lod0[0].min(axis=0) / res)
    shape = np.maximum(np.ceil(lod0[0].max(axis=0) / res - origin), 1)
    levels = 1 + max(0, min(num_lods - 1, int(math.floor(np.log2(shape / min_chunk_size).min()))))
    chunk_shape = np.ceil(shape / 2 ** (levels - 1))
    lods = [lod0]
    for k in range(1, levels):
        coarse = zmesh.simplify_fqmr(
            zmesh.Mesh(lod0[0].copy(), lod0[1].copy(), None),
            target_count=max(len(lod0[1]) // 2**k, 4),
            aggressiveness=5.5,
        )
        lods.append((coarse.vertices, coarse.faces))
    cells: list[dict[tuple[int, ...], Any]] = []
    for k, (vertices, faces) in enumerate(lods):
        mesh = zmesh.Mesh(vertices / res, faces, None)
        if k == levels - 1:
            cells.append({(0, 0, 0): mesh})
        else:
            cells.append(zmesh.chunk_mesh(mesh, tuple((chunk_shape * 2**k).tolist()), tuple(origin.tolist())))
    for k in range(levels - 1):  # neuroglancer descends from parents: every fragment needs one
        for key in list(cells[k]):
            cells[k + 1].setdefault(tuple(i // 2 for i in key), None)
    positions: list[np.ndarray] = []
    offsets: list[int] = []
    data: list[bytes] = []
    for k in range(levels):
        grid = np.array(sorted(cells[k]), dtype=np.int64).reshape(-1, 3)
        grid = grid[np.argsort(_morton(grid), kind="stable")]
        cell = chunk_shape * 2**k
        for position in grid:
            mesh = cells[k][tuple(int(i) for i in position)]
            blob = b"" if mesh is None else _encode(mesh.vertices, mesh.faces, origin, cell, position, draco_level)
            data.append(blob)
            offsets.append(len(blob))
        positions.append(grid)
    manifest = MultiLevelPrecomputedMeshManifest(
        segment_id=obj,
        chunk_shape=chunk_shape,
        grid_origin=origin,
        num_lods=levels,
        lod_scales=[2**k for k in range(levels)],
        vertex_offsets=[[0, 0, 0]] * levels,
        num_fragments_per_lod=[len(p) for p in positions],
        fragment_positions=positions,
        fragment_offsets=offsets,
    )
    return b"".join(data), manifest.to_binary()


def _build(job: tuple[int, list[str], np.ndarray, dict[str, Any]]) -> tuple[bytes, bytes] | None:
    """One object's multi-resolution mesh from the task files holding it (runs in worker processes)."""
    obj, paths, res, options = job
    parts, raw = [], False
    for path in paths:
        try:
            frags, raw_ids = _open_fragments(path)
            parts.append((frags[f"v{obj}"], frags[f"f{obj}"]))
        except Exception as exc:  # noqa: BLE001 - a member that does not decompress or is not an array
            raise _corrupt_fragments(path, exc) from None
        raw = raw or obj in raw_ids
    return multires_mesh(parts, obj, res, raw=raw, **options)


def _corrupt_fragments(path: str, exc: BaseException) -> CorruptFileError:
    if isinstance(exc, (CorruptFileError, VolumeNotFoundError, StorageError)):
        return exc  # type: ignore[return-value]
    return CorruptFileError(
        f"mesh fragment file {path} is damaged ({type(exc).__name__}: {str(exc)[:80]}); "
        "rerun mesh --multires for its task"
    )


@functools.lru_cache(maxsize=64)
def _open_fragments(path: str) -> tuple[Any, frozenset[int]]:
    """A task's fragment file, read and opened once per process (its zip directory lists thousands of objects)."""
    frags = np.load(io.BytesIO(files.read_bytes(path, "mesh fragment file", "rerun mesh --multires for its task")))
    return frags, frozenset(int(i) for i in frags["raw"])


def _sharding_spec(num_labels: int) -> dict[str, Any]:
    from cloudvolume.datasource.precomputed.sharding import compute_shard_params_for_hashed

    shard_bits, minishard_bits, preshift_bits = compute_shard_params_for_hashed(num_labels)
    return {
        "@type": "neuroglancer_uint64_sharded_v1",
        "hash": "murmurhash3_x86_128",
        "preshift_bits": preshift_bits,
        "minishard_bits": minishard_bits,
        "shard_bits": shard_bits,
        "minishard_index_encoding": "gzip",
        "data_encoding": "raw",
    }


def existing_multires_dir(volume_path: str) -> tuple[str, dict[str, Any]] | None:
    """The volume's mesh directory and its info where it holds multi-resolution meshes, else None."""
    key = _volume_info(volume_path).get("mesh")
    if not key:
        return None
    directory = files.join(volume_path, str(key))
    data = files.maybe_read_bytes(files.join(directory, "info"))
    info = json.loads(data) if data else {}
    return (directory, info) if info.get("@type") == MULTILOD else None


def write_multires(
    volume_path: str,
    shard_numbers: Iterable[int] | None = None,
    prefix: str = "",
    num_lods: int = 3,
    min_chunk_size: int = 128,
    simplification_factor: int = 100,
    max_simplification_error: float = 40,
    draco_level: int = 7,
    workers: int = 1,
) -> int:
    """Stage 2: merge the task fragments of every object (of the given shards, or ids starting with
    ``prefix`` when unsharded) into multi-resolution meshes; returns the number of objects written.
    The first call on a sharded volume fixes the shard spec from the number of objects (compare-and-swap:
    concurrent calls agree on one spec)."""
    from cloudvolume.datasource.precomputed.sharding import ShardingSpecification, synthesize_shard_files

    _open_fragments.cache_clear()  # task files may have been rewritten since an earlier call
    found = existing_multires_dir(volume_path)
    if found is None:
        raise InvalidParameterError(f"{volume_path} has no multi-resolution mesh fragments; run mesh --multires first")
    directory, info = found
    res = np.asarray([info["transform"][i] for i in (0, 5, 10)], dtype=np.float32)
    where = _fragment_index(directory)
    sharded = info.get("chunkflow", {}).get("sharded", False)
    if sharded and "sharding" not in info:

        def add_spec(current: Any) -> Any:
            if isinstance(current, dict) and "sharding" not in current:
                current["sharding"] = _sharding_spec(len(where))
            return current

        info = files.update_json(files.join(directory, "info"), add_spec, what="mesh info")
    options = dict(num_lods=num_lods, min_chunk_size=min_chunk_size, simplification_factor=simplification_factor,
                   max_simplification_error=max_simplification_error, draco_level=draco_level)  # fmt: skip

    def build_all(objs: list[int]) -> Iterator[tuple[int, tuple[bytes, bytes] | None]]:
        if workers <= 1 or len(objs) < 2:
            yield from zip(objs, map(_build, [(obj, where[obj], res, options) for obj in objs]))
            return
        from concurrent.futures import ProcessPoolExecutor

        # objects in the most task files (the largest) first, one per call: no worker is left with a
        # batch of large objects at the end while the other idles
        objs = sorted(objs, key=lambda obj: -len(where[obj]))
        jobs = [(obj, where[obj], res, options) for obj in objs]
        with ProcessPoolExecutor(workers) as pool:
            yield from zip(objs, pool.map(_build, jobs, chunksize=1))

    if not sharded:
        done = 0
        pending: dict[str, bytes] = {}
        for obj, built in build_all(sorted(o for o in where if str(o).startswith(prefix))):
            if built is None:
                continue
            pending[str(obj)], pending[f"{obj}.index"] = built
            done += 1
            if len(pending) >= 512:  # parallel puts on a bucket, bounded memory
                files.write_many(directory, pending)
                pending = {}
        files.write_many(directory, pending)
        return done
    spec = ShardingSpecification.from_dict(info["sharding"])
    by_shard: dict[int, list[int]] = defaultdict(list)
    for obj in where:
        by_shard[int(spec.compute_shard_location(obj).shard_number, 16)].append(obj)
    wanted = set(by_shard) if shard_numbers is None else set(shard_numbers)
    done = 0
    for shard in sorted(wanted & set(by_shard)):
        data, offsets = {}, {}
        for obj, built in build_all(by_shard[shard]):
            if built is not None:
                data[obj], offsets[obj] = built[0] + built[1], len(built[1])
        files.write_many(directory, synthesize_shard_files(spec, data, offsets))
        done += len(data)
    return done


def shard_count(volume_path: str) -> int:
    """Number of shard files a sharded multi-resolution mesh directory has room for (2**shard_bits)."""
    found = existing_multires_dir(volume_path)
    mesh_info = found[1] if found else {}
    return 2 ** mesh_info["sharding"]["shard_bits"] if "sharding" in mesh_info else 0
