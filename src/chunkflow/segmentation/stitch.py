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
4. A hierarchical union-find over the joins (:mod:`chunkflow.segmentation.hierarchy`: 2x2x2 groups of
   blocks, then groups of groups, passing up only the ids on a group's outer faces) gives each block
   its own table local id -> consecutive global id; relabel the cores through it. :func:`merge_blocks`,
   one union-find over every block's joins, is the single-task reference it equals (same partition).

A block keeps only its core labels and, per face, the two planes across it (its *face slabs*),
so the matching and relabelling never need more than one block's data at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.segmentation.agglomerate import agglomerate
from chunkflow.segmentation.hierarchy import hierarchical_tables, linear_index

__all__ = ["chunked_agglomerate", "agglomerate_block", "match_faces", "merge_blocks",
           "BlockSegmentation", "check_margin", "block_contacts"]  # fmt: skip


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


def merge_blocks(counts: list[int], pairs: list[tuple[int, int, np.ndarray]]) -> np.ndarray:
    """Global ids for every block's local ids: one union-find over every block's joins.

    The single-task reference for the bounded merge (benchmarks and tests); its memory grows with the
    number of fragments of the whole volume, which is why the jobs do not use it.

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
    blocks = [
        agglomerate_block(affs.cutout(core.grow(m).intersection(bbox)), core, threshold, **agglomerate_options)
        for core in cores
    ]
    grid_shape = tuple(bbox.size.ceildiv(Vec3.of(core_size)))
    grid = [_triple((core.start - bbox.start) // Vec3.of(core_size)) for core in cores]
    contacts = {}
    for k, core in enumerate(cores):
        found = []
        for axis in range(3):
            step = [0, 0, 0]
            step[axis] = core.size[axis]
            j = index.get(core.start + Vec3.of(step))
            if j is not None:
                found.append(
                    (
                        linear_index(grid_shape, grid[j]),
                        match_faces(blocks[k].faces[(axis, 1)], blocks[j].faces[(axis, -1)], min_contact),
                    )
                )
        contacts[grid[k]] = block_contacts(linear_index(grid_shape, grid[k]), found)
    tables = hierarchical_tables(grid_shape, {grid[k]: b.count for k, b in enumerate(blocks)}, contacts)
    n = max((int(t.max()) for t in tables.values() if len(t)), default=0)
    out = np.zeros(bbox.shape, dtype=np.uint32 if n < 2**32 else np.uint64)
    for k, core in enumerate(cores):
        out[core.slices(bbox)] = tables[grid[k]][blocks[k].labels]
    return Chunk(out, bbox.start, affs.voxel_size, "segmentation")


def block_contacts(block: int, pairs: list[tuple[int, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """A block's contacts for :mod:`chunkflow.segmentation.hierarchy` from its +face pairs.

    ``pairs``: ``(neighbour index, (M, 2) pairs from match_faces)`` per +face, in axis order.
    Returns ``(ends, ids)``: (K, 2) int64 block indices and (K, 2) int64 local ids.
    """
    ends = [np.zeros((0, 2), np.int64)] + [np.tile(np.array([block, j], np.int64), (len(p), 1)) for j, p in pairs]
    ids = [np.zeros((0, 2), np.int64)] + [p.astype(np.int64).reshape(-1, 2) for _, p in pairs]
    return np.concatenate(ends), np.concatenate(ids)


def _triple(v: Vec3) -> tuple[int, int, int]:
    return (int(v[0]), int(v[1]), int(v[2]))
