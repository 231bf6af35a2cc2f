"""Seam-free meshing of one task of a segmentation volume, shared by legacy and multi-resolution meshes.

Marching cubes (zmesh) puts each cube between 8 voxel centres; a task owns the cubes whose low corner
lies in its box, so it meshes its box plus one voxel on the high faces (the neighbour's first layer).
Neighbouring tasks then compute the vertices on the shared layer of voxel centres identically, and
their fragments join without gaps or walls (igneous's ``high_padding=1``). Faces on the volume's own
edges are closed with one layer of zeros, as zmesh does for a whole array. Objects that touch an open
face are returned unsimplified: they are simplified once per object after their fragments are welded
(:func:`merge_fragments`), so task borders carry no more vertices than any other plane.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError
from chunkflow.geometry import BoundingBox, Vec3

NON_LABEL_LAYERS = ("image", "affinity_map", "probability_map")


@dataclass
class Fragment:
    """One object's mesh in one task: ``vertices`` (N, 3) float32 XYZ nanometres, ``faces`` (M, 3) uint32."""

    obj: int
    vertices: np.ndarray
    faces: np.ndarray
    raw: bool  # unsimplified because it touches an open task face


def check_labels(chunk: Chunk, is_segmentation: bool = False) -> None:
    """Refuse chunks that are not labels: floats, 4D, and images unless the user says they are labels."""
    if chunk.ndim != 3 or chunk.dtype.kind not in "ui":
        raise IncompatibleChunkError(f"meshing needs 3D integer labels; got {chunk.dtype} with shape {chunk.shape}")
    if is_segmentation or chunk.layer_type == "segmentation":
        return
    if chunk.layer_type in NON_LABEL_LAYERS or chunk.dtype.itemsize == 1:
        raise IncompatibleChunkError(
            f"the chunk is a {chunk.dtype} {chunk.layer_type.replace('_', ' ')}, not a segmentation: meshing it "
            "would make one object per intensity; mesh a segmentation, or pass --is-segmentation if these are labels"
        )


def task_region(chunk: Chunk, task_bbox: BoundingBox | None, volume_bbox: BoundingBox | None):
    """(core, region, pad_low, pad_high): the task's box, the box meshed (core + 1 voxel on high faces
    inside the volume) and which faces are closed (on the volume's edges)."""
    core = task_bbox or chunk.bbox
    volume = volume_bbox or core
    core = core.intersection(volume) or core
    stop = (core.stop + 1).minimum(volume.stop)  # one voxel past the high faces, not past the volume
    region = BoundingBox(core.start, stop)
    if not chunk.bbox.contains(region):
        raise IncompatibleChunkError(
            f"meshing task {core} needs the segmentation of {region} (one voxel past its high faces, so fragments "
            f"of neighbouring tasks join) but the chunk is {chunk.bbox}; load it with --expand-margin-size 1 1 1"
        )
    pad_low = tuple(int(a <= b) for a, b in zip(core.start, volume.start))
    pad_high = tuple(int(a >= b) for a, b in zip(region.stop, volume.stop))
    return core, region, pad_low, pad_high


def voxel_size_xyz(chunk: Chunk, voxel_size: Sequence[float] | None) -> np.ndarray:
    return np.asarray(tuple(voxel_size or chunk.voxel_size), dtype=np.float32)[::-1].copy()


def mesh_task(
    chunk: Chunk,
    voxel_size: Sequence[float] | None = None,
    task_bbox: BoundingBox | None = None,
    volume_bbox: BoundingBox | None = None,
    simplification_factor: int = 100,
    max_simplification_error: float = 40,
    skip_ids: set[int] | None = None,
    dust_size_threshold: int = 0,
) -> Iterator[Fragment]:
    """Mesh every object of the task ``task_bbox`` (default: the chunk) of a volume ``volume_bbox``
    (default: the task, i.e. a whole volume in one task: every mesh closed and simplified)."""
    import fastremap
    import zmesh

    core, region, pad_low, pad_high = task_region(chunk, task_bbox, volume_bbox)
    res = voxel_size_xyz(chunk, voxel_size)
    labels = chunk.cutout(region).array
    # objects on a face shared with a neighbouring task stay unsimplified until their fragments are
    # welded; the others are finished here (zmesh's own simplification, as for a whole volume)
    on_open_faces: set[int] = set()
    for axis in range(3):
        for closed, layer in ((pad_low[axis], 0), (pad_high[axis], labels.shape[axis] - 1)):
            if not closed:
                index = [slice(None)] * 3
                index[axis] = slice(layer, layer + 1)
                on_open_faces |= set(fastremap.unique(labels[tuple(index)]).tolist())
    drop = {int(i) for i in (skip_ids or ())}
    if dust_size_threshold:  # only objects wholly inside the task: the others' size is not known here
        ids, counts = fastremap.unique(labels, return_counts=True)
        drop |= set(ids[counts < dust_size_threshold].tolist()) - on_open_faces
    if drop:
        labels = fastremap.mask(labels, list(drop), in_place=False)
    if any(pad_low) or any(pad_high):
        labels = np.pad(labels, list(zip(pad_low, pad_high)))
    mesher = zmesh.Mesher(tuple(res.tolist()))
    mesher.mesh(labels.T)  # an XYZ view (no copy): zmesh returns vertices in the array's axis order
    origin = np.asarray((region.start - Vec3.of(pad_low)).xyz, dtype=np.float32) * res
    for obj in mesher.ids():
        raw = int(obj) in on_open_faces or simplification_factor <= 0
        mesh = mesher.get(
            obj,
            reduction_factor=0 if raw else simplification_factor,
            max_error=max_simplification_error,
            voxel_centered=True,
        )
        mesher.erase(obj)
        if len(mesh.faces) == 0:
            continue
        yield Fragment(int(obj), (mesh.vertices + origin).astype(np.float32), mesh.faces.astype(np.uint32), raw)
    mesher.clear()


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """One sortable key per (N, 3) integer row, in the rows' lexicographic order: an int64 packing where the
    rows' ranges fit in 62 bits (sorting those is several times faster than sorting rows), else a row view."""
    if len(rows):
        low = rows.min(axis=0)
        span = (rows.max(axis=0) - low + 1).astype(np.float64)
        if float(np.prod(span)) < 2.0**62:
            shifted = (rows - low).astype(np.int64)
            return (shifted[:, 0] * int(span[1]) + shifted[:, 1]) * int(span[2]) + shifted[:, 2]
    rows = np.ascontiguousarray(rows.astype(np.int64))
    return rows.view([("a", np.int64), ("b", np.int64), ("c", np.int64)]).reshape(-1)


def weld(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fuse vertices at the same position (to 1e-3 nm) and drop faces that become degenerate or repeated."""
    keys = np.round(vertices.astype(np.float64) * 1000).astype(np.int64)
    _, index, inverse = np.unique(_row_keys(keys), return_index=True, return_inverse=True)
    faces = inverse.reshape(-1)[faces]
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    _, first = np.unique(_row_keys(np.sort(faces, axis=1)), return_index=True)
    return vertices[index], faces[np.sort(first)].astype(np.uint32)


def simplify(vertices: np.ndarray, faces: np.ndarray, res: np.ndarray, factor: int, max_error: float):
    """zmesh's quadric simplification (the one ``Mesher.get`` applies) of a marching-cubes mesh in
    nanometres; vertices must lie on the half-voxel grid (they do before any simplification)."""
    import zmesh

    if factor <= 0 or len(faces) == 0:
        return vertices, faces
    # Mesher.simplify packs vertex / voxel * 2 into integers by truncation: hand it exact half-voxel
    # multiples plus a quarter step so float rounding never truncates to the wrong integer
    quarter = res / 8
    snapped = np.round(vertices / (res / 2)) * (res / 2) + quarter
    mesher = zmesh.Mesher(tuple(res.tolist()))
    out = mesher.simplify(
        zmesh.Mesh(snapped.astype(np.float32), faces, None),
        reduction_factor=factor,
        max_error=max_error * float(np.linalg.norm(res)) / float(res.min()),
    )
    return (out.vertices - quarter).astype(np.float32), out.faces.astype(np.uint32)


def weld_fragments(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One object's fragments from several tasks welded into one mesh (shared border vertices fused)."""
    offsets = np.cumsum([0] + [len(v) for v, _ in parts[:-1]])
    vertices = np.concatenate([v for v, _ in parts]).astype(np.float32)
    faces = np.concatenate([f.astype(np.int64) + o for (_, f), o in zip(parts, offsets)])
    return weld(vertices, faces)


def merge_fragments(parts: list[tuple[np.ndarray, np.ndarray]], res: np.ndarray, factor: int, max_error: float):
    """One object's fragments from several tasks welded into one mesh and simplified once."""
    return simplify(*weld_fragments(parts), res, factor, max_error)
