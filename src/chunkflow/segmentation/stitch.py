"""Agglomeration over overlapping chunks, stitched into one seam-free segmentation.

Method (the same per-block functions run as independent tasks in :mod:`chunkflow.jobs.agglomerate`):

1. Cut the volume into *cores* (the output tiling) and grow each by ``margin`` into a *chunk*, so
   neighbouring chunks overlap by ``2 * margin``. Agglomerate every chunk on its own
   (:func:`agglomerate_block`); the core's labels are renumbered ``1..n`` (local ids). The margin
   gives decisions near a core's faces the context the whole-volume run would have had.
2. Each voxel keeps the label of its own core's chunk.
3. At every face between two cores, look at the face-adjacent voxel pairs (x in core A, y in
   core B). Both chunks contain both voxels. Join A's label of x with B's label of y where *both*
   chunks put x and y in one segment (``A(x) == A(y)`` and ``B(x) == B(y)``), over at least
   ``min_contact`` pairs (:func:`match_faces`). Requiring both views keeps one chunk's local merge
   error from spreading.
4. Union-find over the joins gives consecutive global ids (:func:`merge_blocks`); relabel the
   cores (:func:`relabel_block`).

A block keeps only its core labels and, per face, the two planes across it (its *face slabs*),
so the matching and relabelling never need more than one block's data at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.segmentation.agglomerate import agglomerate

__all__ = ["chunked_agglomerate", "face_pairs", "agglomerate_block", "match_faces", "merge_blocks",
           "relabel_block", "BlockSegmentation", "check_margin"]  # fmt: skip


@dataclass
class BlockSegmentation:
    """One core's agglomeration: local ids ``1..count`` and the slabs across its inner faces.

    ``faces[(axis, side)]`` (side ``+1`` or ``-1``) is a (2, A, B) uint32 array: the two planes
    across that face of the core (the last core plane and the first margin plane for ``+1``; the
    last margin plane and the first core plane for ``-1``), over the core's extent in the other
    axes, in this block's local ids (0 where the chunk's label does not occur in the core).
    """

    labels: np.ndarray  # (Z, Y, X) uint32, the core
    count: int
    faces: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)


def check_margin(margin: Vec3Like) -> Vec3:
    m = Vec3.of(margin)
    if any(v < 1 for v in m):
        raise InvalidParameterError(f"margin {tuple(m)} must be at least 1 voxel in every axis")
    return m


def face_slab(core: BoundingBox, axis: int, side: int) -> BoundingBox:
    """The two planes across the ``side`` face of ``core`` along ``axis``."""
    start, stop = list(core.start), list(core.stop)
    plane = core.stop[axis] if side > 0 else core.start[axis]
    start[axis], stop[axis] = plane - 1, plane + 1
    return BoundingBox(Vec3.of(start), Vec3.of(stop))


def agglomerate_block(
    affs: Chunk, core: BoundingBox, threshold: float = 0.7, **agglomerate_options: object
) -> BlockSegmentation:
    """Agglomerate ``affs`` (the core grown by the margin, clipped to the volume) and keep the core.

    Parameters
    ----------
    affs : Chunk, (3, Z, Y, X), float32 or uint8, covering ``core`` plus margin
    core : BoundingBox, the part of ``affs`` this block owns
    """
    import fastremap

    seg = agglomerate(affs, threshold, **agglomerate_options)  # type: ignore[arg-type]
    core_labels = seg.cutout(core).array
    ids = fastremap.unique(core_labels)
    ids = ids[ids != 0]
    table = {int(i): n for n, i in enumerate(ids.tolist(), start=1)}
    local = fastremap.remap(core_labels, table, preserve_missing_labels=True, in_place=False).astype(np.uint32)
    faces = {}
    for axis in range(3):
        for side in (-1, 1):
            slab = face_slab(core, axis, side)
            if seg.bbox.contains(slab):
                faces[(axis, side)] = np.moveaxis(_local_ids(seg.cutout(slab).array, ids), axis, 0).copy()
    return BlockSegmentation(local, len(ids), faces)


def _local_ids(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position + 1 of each value in the sorted ``ids``; 0 where it is not one of them."""
    if not len(ids):
        return np.zeros(values.shape, np.uint32)
    index = np.searchsorted(ids, values)
    found = ids[np.minimum(index, len(ids) - 1)] == values
    return np.where(found, index + 1, 0).astype(np.uint32)


def match_faces(a: np.ndarray, b: np.ndarray, min_contact: int = 1) -> np.ndarray:
    """Local-id pairs (A's id, B's id) to join across the face between cores A (before) and B (after).

    ``a`` is A's ``+1`` face slab, ``b`` is B's ``-1`` face slab of the same face: (2, A, B) each.
    """
    agree = (a[0] == a[1]) & (b[0] == b[1]) & (a[0] != 0) & (b[1] != 0)
    if not agree.any():
        return np.zeros((0, 2), np.uint64)
    pairs, counts = np.unique(
        np.stack([a[0][agree], b[1][agree]], axis=1).astype(np.uint64), axis=0, return_counts=True
    )
    return pairs[counts >= min_contact]


def face_pairs(seg_a: Chunk, seg_b: Chunk, core_a: BoundingBox, axis: int, min_contact: int = 1) -> np.ndarray:
    """Label pairs (A's label, B's label) to join across the +``axis`` face of ``core_a``.

    ``seg_a``/``seg_b`` are the two chunks' segmentations; both must contain the face slabs.
    """
    slab = face_slab(core_a, axis, 1)
    a = np.moveaxis(seg_a.cutout(slab).array, axis, 0)
    b = np.moveaxis(seg_b.cutout(slab).array, axis, 0)
    return match_faces(a, b, min_contact)


def merge_blocks(counts: list[int], pairs: list[tuple[int, int, np.ndarray]]) -> np.ndarray:
    """Global ids for every block's local ids.

    Parameters
    ----------
    counts : local id count of each block, in block order
    pairs : ``(block_a, block_b, local_pairs)`` with ``local_pairs`` (M, 2) from :func:`match_faces`

    Returns
    -------
    table : ndarray (sum(counts) + 1,) uint32/uint64; block k's local id i has global id
        ``table[offsets[k] + i]`` with ``offsets = cumsum([0] + counts)[:-1]``; ``table[0] == 0``.
    """
    from chunkflow.segmentation.unionfind import merge_consecutive

    offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    joined = [np.zeros((0, 2), np.int64)]
    for block_a, block_b, local in pairs:
        if len(local):
            local = local.astype(np.int64)
            joined.append(np.stack([local[:, 0] + offsets[block_a], local[:, 1] + offsets[block_b]], axis=1))
    return merge_consecutive(int(offsets[-1]), np.concatenate(joined))


def block_offsets(counts: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])[:-1]


def relabel_block(labels: np.ndarray, table: np.ndarray, offset: int, count: int) -> np.ndarray:
    """Map a block's local ids (``0..count``) to global ids through :func:`merge_blocks`'s table."""
    from chunkflow.segmentation.unionfind import lookup_relabel

    return lookup_relabel(labels, table, offset, count)


def chunked_agglomerate(
    affs: Chunk,
    core_size: Vec3Like,
    margin: Vec3Like,
    threshold: float = 0.7,
    min_contact: int = 1,
    **agglomerate_options: object,
) -> Chunk:
    """Agglomerate ``affs`` chunk by chunk (cores of ``core_size`` grown by ``margin``) and stitch.

    All in this process; :mod:`chunkflow.jobs.agglomerate` runs the same steps as tasks.
    Returns a uint32/uint64 segmentation of the whole box, consecutive ids from 1.
    """
    m = check_margin(margin)
    bbox = affs.bbox
    cores = bbox.split(core_size)
    index = {core.start: k for k, core in enumerate(cores)}
    blocks = [agglomerate_block(affs.cutout(core.grow(m).intersection(bbox)), core, threshold, **agglomerate_options)
              for core in cores]  # fmt: skip
    pairs = []
    for k, core in enumerate(cores):
        for axis in range(3):
            step = [0, 0, 0]
            step[axis] = core.size[axis]
            j = index.get(core.start + Vec3.of(step))
            if j is not None:
                pairs.append((k, j, match_faces(blocks[k].faces[(axis, 1)], blocks[j].faces[(axis, -1)], min_contact)))
    counts = [b.count for b in blocks]
    table = merge_blocks(counts, pairs)
    offsets = block_offsets(counts)
    out = np.zeros(bbox.shape, dtype=table.dtype)
    for k, core in enumerate(cores):
        out[core.slices(bbox)] = relabel_block(blocks[k].labels, table, int(offsets[k]), counts[k])
    return Chunk(out, bbox.start, affs.voxel_size, "segmentation")
