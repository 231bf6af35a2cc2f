"""Meshes of segmentation chunks with zmesh, written as neuroglancer precomputed (legacy) meshes,
PLY or OBJ, on any storage (a local path, ``file://``, ``gs://``, ``s3://``); multi-resolution meshes are
in :mod:`chunkflow.postprocess.multires`.

Precomputed layout (what neuroglancer and cloud-volume read): fragments ``<id>:0:<box>`` in the volume's
mesh directory (``info["mesh"]``), gzip-compressed as cloud-files stores them (``Content-Encoding: gzip``
on a bucket, ``<name>.gz`` on disk), and a manifest ``<id>:0`` = ``{"fragments": [...]}`` per object.
Vertices are in nanometres, in global coordinates. Two ways to mesh a task:

- chunkflow 1.2.0's (the default for a chunk that is just the task): the chunk is meshed as it is and each
  object simplified (``-f``, ``-e``), fragments named ``<id>:0:<x0-x1_y0-y1_z0-z1>`` (the chunk's box in XYZ)
  in ``mesh_err_<e>`` unless the volume names another directory; byte for byte what 1.2.0 wrote.
- seam-free (a chunk loaded with ``--expand-margin-size 1 1 1``, or ``--seam-free``): the task is meshed
  plus one voxel on its high faces, the faces it shares with neighbouring tasks stay open
  (:mod:`chunkflow.postprocess._meshing`) and ``mesh-manifest`` welds every object's fragments into one mesh
  ``<id>:0:merged``, simplified once, so meshes across tasks have no seams (directory ``mesh`` by default).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from chunkflow import files
from chunkflow.chunk.base import Chunk
from chunkflow.errors import InvalidParameterError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.postprocess._layout import MERGED, MESH_FRAGMENT, declare_subdir, fragment_names
from chunkflow.postprocess._meshing import check_labels, merge_fragments, mesh_task

__all__ = ["mesh_chunk", "write_manifests", "mesh_dir", "existing_mesh_dir"]

LEGACY = "neuroglancer_legacy_mesh"
#: objects merged and manifested per batch of reads and writes
BATCH = 256


def mesh_dir(path: str, max_simplification_error: float = 40, seam_free: bool = True) -> str:
    """The legacy mesh directory of the precomputed volume at ``path`` (a plain directory is used as is).

    The volume's ``info["mesh"]`` is used if it has one; else it is set to ``mesh`` (seam-free meshes) or
    to 1.2.0's ``mesh_err_<max_simplification_error>``. Seam-free meshes mark the directory's ``info``
    (``"chunkflow": {"seam_free": true}``) so ``mesh-manifest`` knows to weld them.
    """
    if not files.exists(files.join(path, "info")):
        return str(path)
    default = "mesh" if seam_free else f"mesh_err_{int(max_simplification_error)}"
    directory = declare_subdir(str(path), "mesh", {"@type": LEGACY}, default=default)
    sub_info = files.join(directory, "info")

    def mark(info: Any) -> Any:
        if isinstance(info, dict) and info.get("@type") == LEGACY and seam_free:
            info.setdefault("chunkflow", {})["seam_free"] = True
        return info

    info = files.update_json(sub_info, mark, what="mesh info") if seam_free else files.read_json(sub_info)
    kind = info.get("@type") if isinstance(info, dict) else None
    if kind != LEGACY:
        raise InvalidParameterError(
            f"{directory} holds {kind} (multi-resolution) meshes; add --multires, or mesh into another volume"
        )
    return directory


def existing_mesh_dir(path: str) -> tuple[str, dict[str, Any]]:
    """The mesh directory a volume already names (never changing its ``info``) and that directory's ``info``
    (``{}`` where it has none, as 1.2.0 left it); a plain directory without ``info`` is used as is."""
    info = files.maybe_read_bytes(files.join(path, "info"))
    if info is None:
        return str(path), {}
    volume_info = json.loads(info)
    if not volume_info.get("mesh"):
        raise VolumeNotFoundError(f'{files.display(path)} has no meshes (its info has no "mesh" key); run mesh first')
    directory = files.join(path, str(volume_info["mesh"]))
    sub = files.maybe_read_bytes(files.join(directory, "info"))
    return directory, (json.loads(sub) if sub else {})


def xyz_string(bbox: BoundingBox) -> str:
    """1.2.0's fragment name for a box: ``x0-x1_y0-y1_z0-z1``."""
    return "_".join(f"{a}-{b}" for a, b in zip(bbox.start.xyz, bbox.stop.xyz))


def mesh_like_120(
    chunk: Chunk, res_xyz: np.ndarray, simplification_factor: int, max_simplification_error: float, skip_ids: set[int]
) -> Iterator[tuple[int, Any]]:
    """(id, zmesh mesh) of every object of ``chunk`` as chunkflow 1.2.0 meshed it: the chunk as it is (open
    where it ends), each object simplified by zmesh, vertices offset to the chunk's place in nanometres."""
    import zmesh

    mesher = zmesh.Mesher(tuple(res_xyz.tolist()))
    mesher.mesh(chunk.array)
    offset = np.asarray(chunk.bbox.start.xyz, dtype=np.float32) * res_xyz
    for obj in mesher.ids():
        if int(obj) in skip_ids:
            mesher.erase(obj)
            continue
        mesh = mesher.get_mesh(
            obj,
            normals=False,
            simplification_factor=simplification_factor,
            max_simplification_error=max_simplification_error,
        )
        mesher.erase(obj)
        mesh.vertices[:] += offset
        yield int(obj), mesh
    mesher.clear()


def _drop_dust(chunk: Chunk, dust_size_threshold: int) -> Chunk:
    import fastremap

    ids, counts = fastremap.unique(chunk.array, return_counts=True)
    small = ids[(counts < dust_size_threshold) & (ids != 0)].tolist()
    return chunk.with_array(fastremap.mask(chunk.array, small, in_place=False)) if small else chunk


def mesh_chunk(
    chunk: Chunk,
    output_path: str,
    output_format: str = "precomputed",
    voxel_size: Vec3Like | None = None,
    simplification_factor: int = 100,
    max_simplification_error: int = 8,
    skip_ids: set[int] | None = None,
    dust_size_threshold: int = 0,
    *,
    task_bbox: BoundingBox | None = None,
    volume_bbox: BoundingBox | None = None,
    is_segmentation: bool = False,
    seam_free: bool = True,
    directory: str | None = None,
) -> list[int]:
    """Mesh every object of ``chunk`` (3D labels); returns the ids meshed.

    ``seam_free``: without ``task_bbox``/``volume_bbox`` the chunk is a whole volume (every mesh closed and
    simplified); with them only the task is meshed (the chunk must reach one voxel past its high faces inside
    the volume) and fragments stay open where neighbouring tasks continue them. Else 1.2.0's way
    (:func:`mesh_like_120`). ``directory``: the mesh directory, when the caller resolved it already.
    """
    check_labels(chunk, is_segmentation)
    if output_format not in ("precomputed", "ply", "obj"):
        raise InvalidParameterError(f"mesh format {output_format!r} is not one of precomputed, ply, obj")
    if output_format != "precomputed" and volume_bbox is not None and seam_free:
        raise InvalidParameterError(f"{output_format} files are whole meshes: mesh the whole volume in one chunk")
    if directory is None:
        directory = (
            mesh_dir(output_path, max_simplification_error, seam_free)
            if output_format == "precomputed"
            else str(output_path)
        )
    size = tuple(Vec3.of(voxel_size if voxel_size else chunk.voxel_size or (1, 1, 1)))
    res = np.asarray(tuple(size), dtype=np.float32)[::-1].copy()
    items: dict[str, bytes] = {}
    if seam_free or output_format != "precomputed":
        from cloudvolume import Mesh

        core = task_bbox or chunk.bbox
        for frag in mesh_task(
            chunk,
            tuple(res[::-1].tolist()),
            task_bbox,
            volume_bbox,
            simplification_factor,
            max_simplification_error,
            skip_ids,
            dust_size_threshold,
        ):
            mesh = Mesh(frag.vertices, frag.faces, None, segid=frag.obj)
            if output_format == "precomputed":
                items[f"{frag.obj}:0:{core}"] = mesh.to_precomputed()
            else:
                data = mesh.to_ply() if output_format == "ply" else mesh.to_obj()
                items[f"{frag.obj}.{output_format}"] = data.encode() if isinstance(data, str) else bytes(data)
    else:
        if dust_size_threshold:
            chunk = _drop_dust(chunk, dust_size_threshold)
        name = xyz_string(chunk.bbox)
        for obj, mesh in mesh_like_120(
            chunk, res, simplification_factor, max_simplification_error, {int(i) for i in skip_ids or ()}
        ):
            items[f"{obj}:0:{name}"] = bytes(mesh.to_precomputed())
    files.write_many(directory, items, compress="gzip" if output_format == "precomputed" else None)
    return sorted({int(name.split(":")[0].split(".")[0]) for name in items})


def _voxel_size(volume_path: str, voxel_size: Sequence[float] | None, mip: int) -> np.ndarray:
    if voxel_size:
        return np.asarray(tuple(voxel_size), dtype=np.float32)[::-1].copy()
    info = files.maybe_read_bytes(files.join(volume_path, "info"))
    if info is None:
        raise InvalidParameterError(f"{volume_path} has no info file: give the voxel size to merge its mesh fragments")
    return np.asarray(json.loads(info)["scales"][mip]["resolution"], dtype=np.float32)


def write_manifests(
    volume_path: str,
    prefix: str = "",
    ids: list[int] | None = None,
    merge: bool | None = None,
    simplification_factor: int = 100,
    max_simplification_error: float = 40,
    voxel_size: Sequence[float] | None = None,
    mip: int = 0,
) -> int:
    """Write ``<id>:0`` manifests for every object with fragments ``<id>:0:*`` (ids starting with ``prefix``,
    or in ``ids``) in the mesh directory the volume names (never changing its ``info``). With ``merge``
    (default: where the fragments are seam-free ones) an object with several fragments gets them welded and
    simplified into ``<id>:0:merged``, which its manifest lists alone; else all its fragments are listed,
    as 1.2.0's ``mesh-manifest`` does."""
    from cloudvolume import Mesh

    directory, mesh_info = existing_mesh_dir(volume_path)
    if merge is None:
        merge = bool(mesh_info.get("chunkflow", {}).get("seam_free", False))
    fragments = fragment_names(directory, MESH_FRAGMENT, prefix, ids)
    welding = [obj for obj, names in fragments.items() if merge and len(names) > 1]
    res = _voxel_size(volume_path, voxel_size, mip) if welding else None
    manifests = {obj: names for obj, names in fragments.items() if obj not in set(welding)}
    for start in range(0, len(welding), BATCH):
        batch = welding[start : start + BATCH]
        blobs = files.read_many(directory, [n for obj in batch for n in fragments[obj]])
        merged: dict[str, bytes] = {}
        for obj in batch:
            parts = []
            for name in fragments[obj]:
                blob = blobs[name]
                if blob is None:  # listed a moment ago: removed since
                    raise VolumeNotFoundError(
                        f"mesh fragment {files.join(directory, name)} disappeared; rerun mesh-manifest"
                    )
                parts.append(_decode_fragment(blob, files.join(directory, name)))
            assert res is not None
            vertices, faces = merge_fragments(parts, res, simplification_factor, max_simplification_error)
            merged[f"{obj}:0:{MERGED}"] = Mesh(vertices, faces, None, segid=int(obj)).to_precomputed()
            manifests[obj] = [f"{obj}:0:{MERGED}"]
        files.write_many(directory, merged, compress="gzip")
    items = {f"{obj}:0": json.dumps({"fragments": names}).encode() for obj, names in manifests.items()}
    files.write_many(directory, items, content_type="application/json")
    return len(fragments)


def _decode_fragment(blob: bytes, url: str) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, faces) of one legacy fragment; bytes that are not a mesh are one line naming the file."""
    from cloudvolume import Mesh

    from chunkflow.errors import CorruptFileError

    try:
        mesh = Mesh.from_precomputed(blob)
        vertices, faces = np.asarray(mesh.vertices), np.asarray(mesh.faces)
        if not np.isfinite(vertices).all() or (faces.size and int(faces.max()) >= len(vertices)):
            raise ValueError("non-finite vertices, or faces past the vertices")
    except Exception as exc:  # noqa: BLE001 - cloud-volume raises many kinds for bytes that are not a mesh
        raise CorruptFileError(
            f"mesh fragment {url} is not a precomputed mesh ({type(exc).__name__}); delete it "
            "and rerun mesh for its task (the box in its name)"
        ) from None
    return vertices, faces
