"""Agglomeration over overlapping chunks, stitched into one seam-free segmentation.

Method (the same stages run as independent tasks on a queue):

1. Cut the volume into *cores* (the output tiling) and grow each by ``margin`` into a *chunk*, so
   neighbouring chunks overlap by ``2 * margin``. Agglomerate every chunk on its own; its labels
   are offset into a range no other chunk uses. The margin gives decisions near a core's faces
   the context the whole-volume run would have had.
2. Each voxel keeps the label of its own core's chunk.
3. At every face between two cores, look at the face-adjacent voxel pairs (x in core A, y in
   core B). Both chunks contain both voxels. Join A's label of x with B's label of y where *both*
   chunks put x and y in one segment (``A(x) == A(y)`` and ``B(x) == B(y)``), over at least
   ``min_contact`` pairs. Requiring both views keeps one chunk's local merge error from spreading.
4. Union-find over the joins gives consecutive global ids; relabel the cores.
"""

from __future__ import annotations

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.segmentation.agglomerate import agglomerate

__all__ = ["chunked_agglomerate", "face_pairs"]


def face_pairs(
    seg_a: Chunk, seg_b: Chunk, core_a: BoundingBox, axis: int, min_contact: int = 1
) -> np.ndarray:
    """Label pairs (A's label, B's label) to join across the +``axis`` face of ``core_a``.

    ``seg_a``/``seg_b`` are the two chunks' segmentations; both must contain the face slabs.
    """
    start, stop = list(core_a.start), list(core_a.stop)
    start[axis], stop[axis] = core_a.stop[axis] - 1, core_a.stop[axis] + 1
    slab = BoundingBox(Vec3.of(start), Vec3.of(stop))
    a = np.moveaxis(seg_a.cutout(slab).array, axis, 0)
    b = np.moveaxis(seg_b.cutout(slab).array, axis, 0)
    agree = (a[0] == a[1]) & (b[0] == b[1]) & (a[0] != 0) & (b[1] != 0)
    if not agree.any():
        return np.zeros((0, 2), np.uint64)
    pairs, counts = np.unique(np.stack([a[0][agree], b[1][agree]], axis=1).astype(np.uint64), axis=0, return_counts=True)
    return pairs[counts >= min_contact]


def chunked_agglomerate(
    affs: Chunk,
    core_size: Vec3Like,
    margin: Vec3Like,
    threshold: float = 0.7,
    min_contact: int = 1,
    **agglomerate_options: object,
) -> Chunk:
    """Agglomerate ``affs`` chunk by chunk (cores of ``core_size`` grown by ``margin``) and stitch.

    Returns a uint32/uint64 segmentation of the whole box, consecutive ids from 1.
    """
    import fastremap

    from chunkflow.segmentation.unionfind import merge_pairs

    m = Vec3.of(margin)
    if any(v < 1 for v in m):
        raise InvalidParameterError(f"margin {tuple(m)} must be at least 1 voxel in every axis")
    bbox = affs.bbox
    cores = bbox.split(core_size)
    segs: dict[BoundingBox, Chunk] = {}
    next_id = 0
    for core in cores:
        box = core.grow(m).intersection(bbox)
        seg = agglomerate(affs.cutout(box), threshold, **agglomerate_options)  # type: ignore[arg-type]
        labels = seg.array.astype(np.uint64)
        labels[labels != 0] += np.uint64(next_id)
        next_id = int(labels.max()) if labels.size else next_id
        segs[core] = seg.with_array(labels)
    pairs = [np.zeros((0, 2), np.uint64)]
    by_start = {core.start: core for core in cores}
    for core in cores:
        for axis in range(3):
            step = [0, 0, 0]
            step[axis] = core.size[axis]
            neighbour = by_start.get(core.start + Vec3.of(step))
            if neighbour is not None:
                pairs.append(face_pairs(segs[core], segs[neighbour], core, axis, min_contact))
    core_labels = [fastremap.unique(segs[c].cutout(c).array) for c in cores]
    mapping = merge_pairs(np.concatenate(core_labels), np.concatenate(pairs))
    mapping[0] = 0
    dtype = np.uint32 if len(mapping) < 2**32 else np.uint64
    out = np.zeros(bbox.shape, dtype=dtype)
    for core in cores:
        out[core.slices(bbox)] = fastremap.remap(segs[core].cutout(core).array, mapping, preserve_missing_labels=False)
    return Chunk(out, bbox.start, affs.voxel_size, "segmentation")
