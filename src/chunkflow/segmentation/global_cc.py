"""Seam-free connected components of a volume, block by block: the pure per-block steps.

The job that runs them as stages (:mod:`chunkflow.jobs.global_cc`):

1. ``label``   (one task per block): :func:`label_block` (threshold, ``cc3d`` inside the block,
   local ids ``1..count``) and :func:`block_faces` (the block's six boundary planes with their
   labels and foreground values). The labels themselves are not stored.
2. ``pairs``   (one task per block): for each +z/+y/+x face, the plane on either side is assembled
   from the faces of the blocks around it (:func:`gather_plane`, grown by one voxel in the other
   axes so edge and corner contacts are seen) and :func:`plane_contacts` lists the labels that
   touch under the connectivity.
3. ``merge``   (one task): union-find over all contacts, consecutive global ids
   (:func:`chunkflow.segmentation.unionfind.merge_consecutive`).
4. ``relabel`` (one task per block): :func:`label_block` again (cheaper than storing and
   re-reading the labels), then :func:`chunkflow.segmentation.unionfind.lookup_relabel`.

Each block's input is read twice and its output written once; no work volume.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3

__all__ = ["label_block", "block_faces", "face_box", "gather_plane", "plane_contacts", "check_connectivity"]


def check_connectivity(connectivity: int) -> None:
    if connectivity not in (6, 18, 26):
        raise InvalidParameterError(f"connectivity {connectivity} is not one of 6, 18, 26")


def label_block(chunk: Chunk, threshold: float | None, connectivity: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Connected components inside one block.

    Returns
    -------
    labels : ndarray, (Z, Y, X) uint32, local ids ``1..count``
    foreground : ndarray, (Z, Y, X), what was labelled (bool, or the segmentation's labels)
    count : int
    """
    import cc3d

    from chunkflow.segmentation.components import foreground

    check_connectivity(connectivity)
    fg = foreground(chunk, threshold)
    labels, count = cc3d.connected_components(fg, connectivity=connectivity, out_dtype=np.uint32, return_N=True)  # type: ignore[call-overload]
    return labels, fg, int(count)


def face_box(block: BoundingBox, axis: int, side: int) -> BoundingBox:
    """The block's own boundary plane on ``side`` (+1 or -1) of ``axis``, one voxel thick."""
    start, stop = list(block.start), list(block.stop)
    if side > 0:
        start[axis] = stop[axis] - 1
    else:
        stop[axis] = start[axis] + 1
    return BoundingBox(Vec3.of(start), Vec3.of(stop))


def block_faces(block: BoundingBox, labels: np.ndarray, fg: np.ndarray) -> dict[str, np.ndarray]:
    """The six boundary planes (one voxel thick, 3D) as ``{"labels_<axis><side>": ..., "fg_<axis><side>": ...}``."""
    faces = {}
    for axis in range(3):
        for side in (-1, 1):
            box = face_box(block, axis, side)
            key = f"{axis}{'+' if side > 0 else '-'}"
            faces[f"labels_{key}"] = np.ascontiguousarray(labels[box.slices(block)])
            faces[f"fg_{key}"] = np.ascontiguousarray(fg[box.slices(block)])
    return faces


def gather_plane(
    region: BoundingBox, pieces: Iterable[tuple[BoundingBox, np.ndarray]], dtype: np.dtype | type
) -> np.ndarray:
    """Paste ``(box, array)`` pieces into an array covering ``region`` (zeros where none falls)."""
    out = np.zeros(region.shape, dtype=dtype)
    for box, array in pieces:
        overlap = box.intersection(region)
        if overlap is not None:
            out[overlap.slices(region)] = array[overlap.slices(box)]
    return out


def _in_plane_offsets(connectivity: int) -> list[tuple[int, int]]:
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    if connectivity == 6:
        return [(0, 0)]
    if connectivity == 18:
        return [o for o in offsets if abs(o[0]) + abs(o[1]) <= 1]
    return offsets


def plane_contacts(
    before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray], connectivity: int
) -> np.ndarray:
    """Label pairs that touch across two adjacent planes.

    Parameters
    ----------
    before, after : (labels, foreground), each (A, B): the planes on either side of a face, with
        labels unique across blocks; two voxels join when both are labelled and their foreground
        values are equal (a segmentation's labels, or True for a thresholded map).

    Returns
    -------
    pairs : ndarray, (M, 2), uint64, unique rows
    """
    found = [np.zeros((0, 2), np.uint64)]
    (la, fa), (lb, fb) = before, after
    for dy, dx in _in_plane_offsets(connectivity):
        a_rows = slice(max(0, -dy), la.shape[0] - max(0, dy))
        a_cols = slice(max(0, -dx), la.shape[1] - max(0, dx))
        b_rows = slice(max(0, dy), lb.shape[0] - max(0, -dy))
        b_cols = slice(max(0, dx), lb.shape[1] - max(0, -dx))
        a, b = la[a_rows, a_cols], lb[b_rows, b_cols]
        touch = (a != 0) & (b != 0) & (fa[a_rows, a_cols] == fb[b_rows, b_cols])
        if touch.any():
            found.append(unique_pairs(a[touch], b[touch]))
    return unique_pairs(*np.concatenate(found).T)


def unique_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unique rows of ``(a, b)`` as (M, 2) uint64; fast (1D) when both fit in 32 bits."""
    a, b = a.astype(np.uint64, copy=False), b.astype(np.uint64, copy=False)
    if not len(a):
        return np.zeros((0, 2), np.uint64)
    if int(a.max()) < 2**32 and int(b.max()) < 2**32:
        packed = np.unique((a << np.uint64(32)) | b)
        return np.stack([packed >> np.uint64(32), packed & np.uint64(2**32 - 1)], axis=1)
    return np.unique(np.stack([a, b], axis=1), axis=0)
