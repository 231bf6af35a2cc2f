"""Meshes of segmentation chunks with zmesh, written as neuroglancer precomputed (legacy) meshes,
PLY or OBJ.

Precomputed layout (what neuroglancer and cloud-volume read): ``<volume>/mesh/<id>:0:<bbox>``
fragments (one per chunk an object touches) and a manifest ``<id>:0`` = ``{"fragments": [...]}``.
Vertices are in nanometres, in global coordinates. The ``mesh`` operator writes fragments;
``mesh-manifest`` (or ``write_manifests``) gathers every fragment of an id into its manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.geometry import Vec3Like
from chunkflow.postprocess._layout import MESH_FRAGMENT, declare_subdir, fragments_by_id
from chunkflow.volumes.base import atomic_path

__all__ = ["mesh_chunk", "write_manifests", "mesh_dir"]


def mesh_dir(path: str) -> Path:
    """The mesh directory of a precomputed volume (a plain directory path is used as is)."""
    local = Path(path.removeprefix("file://"))
    if (local / "info").exists():
        return declare_subdir(local, "mesh", {"@type": "neuroglancer_legacy_mesh"})
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
) -> list[int]:
    """Mesh every object of ``chunk`` (3D labels); returns the ids meshed."""
    import fastremap
    import zmesh
    from cloudvolume import Mesh

    if chunk.ndim != 3 or chunk.dtype.kind not in "ui":
        raise IncompatibleChunkError(f"meshing needs 3D integer labels; got {chunk.dtype} with shape {chunk.shape}")
    if output_format not in ("precomputed", "ply", "obj"):
        raise InvalidParameterError(f"mesh format {output_format!r} is not one of precomputed, ply, obj")
    size = np.asarray(tuple(voxel_size or chunk.voxel_size), dtype=np.float32)[::-1]  # XYZ
    labels = chunk.array
    drop = set(skip_ids or ())
    if dust_size_threshold:
        ids, counts = fastremap.unique(labels, return_counts=True)
        drop |= set(ids[counts < dust_size_threshold].tolist())
    if drop:
        labels = fastremap.mask(labels, list(drop), in_place=False)
    mesher = zmesh.Mesher(tuple(size.tolist()))
    # zmesh (1.15) takes a C-ordered ZYX array and returns XYZ vertices scaled by the XYZ voxel size;
    # tests check the vertices land inside each object's global box
    mesher.mesh(np.ascontiguousarray(labels))
    offset_nm = np.asarray(chunk.voxel_offset.xyz, dtype=np.float32) * size
    out = mesh_dir(output_path) if output_format == "precomputed" else Path(output_path.removeprefix("file://"))
    out.mkdir(parents=True, exist_ok=True)
    meshed = []
    for obj in mesher.ids():
        m = mesher.get_mesh(obj, normals=False, simplification_factor=simplification_factor,
                            max_simplification_error=max_simplification_error)  # fmt: skip
        mesher.erase(obj)
        if len(m.faces) == 0:
            continue
        mesh = Mesh(m.vertices + offset_nm, m.faces, None, segid=obj)
        if output_format == "precomputed":
            name, data = f"{obj}:0:{chunk.bbox}", mesh.to_precomputed()
        elif output_format == "ply":
            name, data = f"{obj}.ply", mesh.to_ply()
        else:
            name, data = f"{obj}.obj", mesh.to_obj()
        with atomic_path(out / name) as tmp:
            tmp.write_bytes(data.encode() if isinstance(data, str) else bytes(data))
        meshed.append(int(obj))
    mesher.clear()
    return meshed


def write_manifests(volume_path: str, prefix: str = "", ids: list[int] | None = None) -> int:
    """Write ``<id>:0`` manifests listing every fragment ``<id>:0:*`` (of ids starting with ``prefix``,
    or of ``ids`` only)."""
    directory = mesh_dir(volume_path)
    fragments = fragments_by_id(directory, MESH_FRAGMENT, prefix, ids)
    for obj, entries in fragments.items():
        with atomic_path(directory / f"{obj}:0") as tmp:
            tmp.write_text(json.dumps({"fragments": sorted(e.name for e in entries)}))
    return len(fragments)
