"""chunkflow 1.2.0's ``chunkflow.chunk.segmentation.Segmentation``: a chunk of object ids."""

from __future__ import annotations

from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk as CoreChunk
from chunkflow.compat.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError

__all__ = ["Segmentation"]


class Segmentation(Chunk):
    """A 3D integer chunk whose layer type is ``segmentation``."""

    def __init__(self, array: Any, voxel_offset: Any = None, voxel_size: Any = None, layer_type: str | None = None):
        super().__init__(array, voxel_offset=voxel_offset, voxel_size=voxel_size, layer_type="segmentation")
        if self.array.ndim != 3 or not np.issubdtype(self.array.dtype, np.integer):
            raise IncompatibleChunkError(
                f"a segmentation is a 3D integer array, got {self.array.dtype} {self.array.shape}"
            )

    @classmethod
    def from_chunk(cls, chunk: CoreChunk) -> Segmentation:
        return cls(chunk.array, voxel_offset=chunk.voxel_offset, voxel_size=chunk.voxel_size)

    def evaluate(self, groundtruth: Any, size_threshold: int = 1000) -> dict[str, Any]:
        """1.2.0's scores against ``groundtruth`` (a chunk or an array of the same shape): Rand index,
        adjusted Rand index and Fowlkes-Mallows index over all voxels (0 included), variation of
        information over voxels non-zero in both, and the edit distance ``(false merges, false splits)``
        counting overlaps larger than ``size_threshold`` voxels."""
        gt = np.asarray(groundtruth.array if isinstance(groundtruth, Chunk) else groundtruth)
        if gt.shape != self.array.shape:
            raise IncompatibleChunkError(f"ground truth shape {gt.shape} differs from the segmentation's {self.shape}")
        seg_ids, seg = np.unique(self.array.ravel(), return_inverse=True)
        gt_ids, truth = np.unique(gt.ravel(), return_inverse=True)
        table = _table(seg, truth, len(gt_ids))
        scores: dict[str, Any] = dict(_pair_scores(table))
        keep = (self.array.ravel() != 0) & (gt.ravel() != 0)
        scores["variation_of_information"] = _variation_of_information(_table(seg[keep], truth[keep], len(gt_ids)))
        scores["edit_distance"] = _edit_distance(table, seg_ids, gt_ids, size_threshold)
        return scores

    def remap(self, base_id: int = 0) -> int:
        """Renumber ids 1..N (0 stays 0) as uint64, add ``base_id`` to the non-zero ones, in place;
        returns the new largest id."""
        import fastremap

        array, _ = fastremap.renumber(np.array(self.array, copy=True), preserve_zero=True, in_place=True)
        array = array.astype(np.uint64)
        if base_id > 0:
            array[array > 0] += np.uint64(base_id)
        self.array = array
        return int(array.max())

    def mask_fragments(self, voxel_num_threshold: int) -> None:
        """Set objects of at most ``voxel_num_threshold`` voxels to 0, in place."""
        import fastremap

        ids, counts = fastremap.unique(self.array, return_counts=True)
        self.array = fastremap.mask(self.array, ids[counts <= voxel_num_threshold])

    def mask_except(self, selected_obj_ids: Any) -> None:
        """Keep only the given ids (a list, a set or a string ``'3,4,5'``), in place."""
        import fastremap

        if selected_obj_ids is None:
            return
        if isinstance(selected_obj_ids, str):
            selected_obj_ids = [int(i) for i in selected_obj_ids.split(",")]
        self.array = fastremap.mask_except(self.array, list(selected_obj_ids))


def _table(rows: np.ndarray, cols: np.ndarray, num_cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse contingency table: the (row, col) pairs present and their counts."""
    pairs, counts = np.unique(rows.astype(np.int64) * num_cols + cols, return_counts=True)
    return pairs // num_cols, pairs % num_cols, counts.astype(np.float64)


def _pair_scores(table: tuple[np.ndarray, np.ndarray, np.ndarray]) -> dict[str, float]:
    rows, cols, counts = table
    n = counts.sum()

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) / 2).sum())

    both = pairs(counts)
    same_seg, same_gt = pairs(np.bincount(rows, counts)), pairs(np.bincount(cols, counts))
    total = n * (n - 1) / 2
    expected = same_seg * same_gt / total if total else 0.0
    denominator = (same_seg + same_gt) / 2 - expected
    return {
        "rand_index": (total + 2 * both - same_seg - same_gt) / total if total else 1.0,
        "adjusted_rand_index": (both - expected) / denominator if denominator else 1.0,
        "fowlkes_mallows_index": both / np.sqrt(same_seg * same_gt) if same_seg * same_gt else 1.0,
    }


def _variation_of_information(table: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
    rows, cols, counts = table
    if counts.sum() == 0:
        return 0.0
    p = counts / counts.sum()
    p_rows, p_cols = np.bincount(rows, p)[rows], np.bincount(cols, p)[cols]
    # H(seg | gt) + H(gt | seg), in bits
    return float(-(p * (np.log2(p / p_cols) + np.log2(p / p_rows))).sum())


def _edit_distance(
    table: tuple[np.ndarray, np.ndarray, np.ndarray], seg_ids: np.ndarray, gt_ids: np.ndarray, size_threshold: int
) -> tuple[int, int]:
    """1.2.0's (gala's) ``(false merges, false splits)``: per non-zero segment, the ground-truth objects it
    overlaps by more than ``size_threshold`` voxels (0 excluded), minus one, summed. gala slices its
    column sums (a 1 x N matrix) by rows, so its false splits are always 0; 1.2.0 reported that."""
    rows, cols, counts = table
    big = (counts > size_threshold) & (seg_ids[rows] != 0) & (gt_ids[cols] != 0)
    per_seg = np.bincount(rows[big], minlength=len(seg_ids))[seg_ids != 0]
    return int((per_seg - 1).sum()), 0
