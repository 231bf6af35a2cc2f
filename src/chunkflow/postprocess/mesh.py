"""Meshes of segmentation chunks with zmesh, written as neuroglancer precomputed (legacy) meshes,
PLY or OBJ; multi-resolution meshes are in :mod:`chunkflow.postprocess.multires`.

Precomputed layout (what neuroglancer and cloud-volume read): ``<volume>/mesh/<id>:0:<bbox>``
fragments (one per task an object touches) and a manifest ``<id>:0`` = ``{"fragments": [...]}``.
Vertices are in nanometres, in global coordinates. Given the task's box and the volume's box, the
``mesh`` operator meshes the task plus one voxel on its high faces and leaves the faces shared with
neighbouring tasks open (see :mod:`chunkflow.postprocess._meshing`); ``mesh-manifest``
(``write_manifests``) then welds every object's fragments into one mesh ``<id>:0:merged``,
simplifies it once and points the manifest at it, so meshes across tasks have no seams.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.postprocess._layout import MERGED, MESH_FRAGMENT, declare_subdir, fragments_by_id
from chunkflow.postprocess._meshing import check_labels, merge_fragments, mesh_task
from chunkflow.volumes.base import atomic_path, local_path

__all__ = ["mesh_chunk", "write_manifests", "mesh_dir"]


def mesh_dir(path: str) -> Path:
    """The mesh directory of a precomputed volume (a plain directory path is used as is)."""
    local = local_path(path)
    if (local / "info").exists():
        directory = declare_subdir(local, "mesh", {"@type": "neuroglancer_legacy_mesh"})
        kind = json.loads((directory / "info").read_text()).get("@type")
        if kind != "neuroglancer_legacy_mesh":
            raise InvalidParameterError(f"{directory} holds {kind} (multi-resolution) meshes; add --multires, or mesh "
                                        "into another volume")  # fmt: skip
        return directory
    return local


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
) -> list[int]:
    """Mesh every object of ``chunk`` (3D labels); returns the ids meshed.

    Without ``task_bbox``/``volume_bbox`` the chunk is a whole volume: every mesh is closed and
    simplified. With them, only the task is meshed (the chunk must reach one voxel past its high
    faces inside the volume) and fragments stay open where neighbouring tasks continue them.
    """
    from cloudvolume import Mesh

    check_labels(chunk, is_segmentation)
    if output_format not in ("precomputed", "ply", "obj"):
        raise InvalidParameterError(f"mesh format {output_format!r} is not one of precomputed, ply, obj")
    if output_format != "precomputed" and volume_bbox is not None:
        raise InvalidParameterError(f"{output_format} files are whole meshes: mesh the whole volume in one chunk")
    fragments = mesh_task(chunk, tuple(Vec3.of(voxel_size)) if voxel_size else None, task_bbox, volume_bbox,
                          simplification_factor, max_simplification_error, skip_ids, dust_size_threshold)  # fmt: skip
    out = mesh_dir(output_path) if output_format == "precomputed" else local_path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    core = task_bbox or chunk.bbox
    meshed = []
    for frag in fragments:
        mesh = Mesh(frag.vertices, frag.faces, None, segid=frag.obj)
        if output_format == "precomputed":
            name, data = f"{frag.obj}:0:{core}", mesh.to_precomputed()
        elif output_format == "ply":
            name, data = f"{frag.obj}.ply", mesh.to_ply()
        else:
            name, data = f"{frag.obj}.obj", mesh.to_obj()
        with atomic_path(out / name) as tmp:
            tmp.write_bytes(data.encode() if isinstance(data, str) else bytes(data))
        meshed.append(frag.obj)
    return meshed


def _voxel_size(volume_path: str, voxel_size: Sequence[float] | None, mip: int) -> np.ndarray:
    if voxel_size:
        return np.asarray(tuple(voxel_size), dtype=np.float32)[::-1].copy()
    info = local_path(volume_path) / "info"
    if not info.exists():
        raise InvalidParameterError(f"{volume_path} has no info file: give the voxel size to merge its mesh fragments")
    return np.asarray(json.loads(info.read_text())["scales"][mip]["resolution"], dtype=np.float32)


def write_manifests(
    volume_path: str,
    prefix: str = "",
    ids: list[int] | None = None,
    merge: bool = True,
    simplification_factor: int = 100,
    max_simplification_error: float = 40,
    voxel_size: Sequence[float] | None = None,
    mip: int = 0,
) -> int:
    """Write ``<id>:0`` manifests for every object with fragments ``<id>:0:*`` (ids starting with
    ``prefix``, or in ``ids``). With ``merge`` an object with several fragments gets them welded and
    simplified into ``<id>:0:merged``, which its manifest lists alone; else all fragments are listed."""
    from cloudvolume import Mesh

    directory = mesh_dir(volume_path)
    fragments = fragments_by_id(directory, MESH_FRAGMENT, prefix, ids)
    res = _voxel_size(volume_path, voxel_size, mip) if merge and any(len(e) > 1 for e in fragments.values()) else None
    for obj, entries in fragments.items():
        names = sorted(e.name for e in entries)
        if merge and len(entries) > 1:
            assert res is not None
            meshes = [Mesh.from_precomputed((directory / n).read_bytes()) for n in names]
            vertices, faces = merge_fragments([(m.vertices, m.faces) for m in meshes], res,
                                              simplification_factor, max_simplification_error)  # fmt: skip
            with atomic_path(directory / f"{obj}:0:{MERGED}") as tmp:
                tmp.write_bytes(Mesh(vertices, faces, None, segid=int(obj)).to_precomputed())
            names = [f"{obj}:0:{MERGED}"]
        with atomic_path(directory / f"{obj}:0") as tmp:
            tmp.write_text(json.dumps({"fragments": names}))
    return len(fragments)
