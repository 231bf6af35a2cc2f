"""Watershed + mean-affinity agglomeration through waterz (chunkflow 1.2.0's algorithm).

waterz wants C-contiguous float32 affinities shaped (3, Z, Y, X), returns uint64 labels and
relabels its ``fragments`` argument in place; this module hides all three.
"""

from __future__ import annotations

import numpy as np

from chunkflow._quiet import quiet_stdout
from chunkflow.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError

__all__ = ["agglomerate", "watershed", "scoring_function", "as_affinities"]

SCORING_FUNCTIONS = {
    "mean": "OneMinus<MeanAffinity<RegionGraphType, ScoreValue>>",
    **{
        f"quantile-{q}": f"OneMinus<HistogramQuantileAffinity<RegionGraphType, {q}, ScoreValue, 256, false>>"
        for q in range(10, 100, 5)
    },
}


def scoring_function(name: str) -> str:
    """An alias (``mean``, ``quantile-50``, ...) or a waterz C++ scoring-function type, as is."""
    if name in SCORING_FUNCTIONS:
        return SCORING_FUNCTIONS[name]
    if "<" in name:
        return name
    raise InvalidParameterError(
        f"scoring function {name!r} is not one of mean, quantile-10 .. quantile-95, or a waterz C++ type"
    )


def as_affinities(chunk: Chunk) -> np.ndarray:
    """The chunk's array as C-contiguous float32 (3, Z, Y, X); uint8 is read as 0-255."""
    array = chunk.array
    if array.ndim != 4 or array.shape[0] != 3:
        raise IncompatibleChunkError(
            f"affinities must have 3 channels shaped (3, Z, Y, X); chunk {chunk.bbox} has shape {array.shape}"
        )
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array, dtype=np.float32) / np.float32(255.0)
    if array.dtype.kind != "f":
        raise IncompatibleChunkError(f"affinities must be float or uint8, got {array.dtype}")
    return np.ascontiguousarray(array, dtype=np.float32)


def _check_thresholds(low: float, high: float) -> None:
    if not 0.0 <= low < high <= 1.0:
        raise InvalidParameterError(f"affinity thresholds must satisfy 0 <= low ({low}) < high ({high}) <= 1")


def _smallest_uint(labels: np.ndarray) -> np.ndarray:
    if labels.size and labels.max() < 2**32:
        return labels.astype(np.uint32)
    return labels


def agglomerate(
    affs: Chunk,
    threshold: float = 0.7,
    aff_threshold_low: float = 0.0001,
    aff_threshold_high: float = 0.9999,
    scoring: str = "mean",
    fragments: Chunk | None = None,
) -> Chunk:
    """Watershed, then merge neighbouring regions while their score (default ``1 - mean affinity``
    on the shared boundary) is below ``threshold``.

    Parameters
    ----------
    affs : Chunk, (3, Z, Y, X), float32 or uint8
    fragments : Chunk, (Z, Y, X), optional
        Watershed fragments to start from (from :func:`watershed`); computed when absent.

    Returns
    -------
    Chunk, (Z, Y, X) uint32 (uint64 when needed), layer type segmentation
    """
    import waterz

    _check_thresholds(aff_threshold_low, aff_threshold_high)
    array = as_affinities(affs)
    given = None
    if fragments is not None:
        if fragments.bbox != affs.bbox:
            raise IncompatibleChunkError(f"fragments at {fragments.bbox} do not match affinities at {affs.bbox}")
        given = np.array(fragments.array, dtype=np.uint64, order="C")  # waterz relabels it in place
    with quiet_stdout():
        (labels,) = waterz.agglomerate(
            array, [threshold], fragments=given, aff_threshold_low=aff_threshold_low,
            aff_threshold_high=aff_threshold_high, scoring_function=scoring_function(scoring),
        )  # fmt: skip
    return Chunk(_smallest_uint(labels), affs.voxel_offset, affs.voxel_size, "segmentation")


def watershed(affs: Chunk, aff_threshold_low: float = 0.0001, aff_threshold_high: float = 0.9999) -> Chunk:
    """Watershed fragments only (waterz with no merging), for two-stage pipelines."""
    import waterz

    _check_thresholds(aff_threshold_low, aff_threshold_high)
    with quiet_stdout():
        (labels,) = waterz.agglomerate(
            as_affinities(affs), [0.0], aff_threshold_low=aff_threshold_low, aff_threshold_high=aff_threshold_high
        )
    return Chunk(_smallest_uint(labels), affs.voxel_offset, affs.voxel_size, "segmentation")
