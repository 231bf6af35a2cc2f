"""Watershed + mean-affinity agglomeration through waterz (chunkflow 1.2.0's algorithm).

waterz wants C-contiguous float32 affinities shaped (3, Z, Y, X), returns uint64 labels and
relabels its ``fragments`` argument in place; this module hides all three.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from chunkflow._quiet import quiet_stdout
from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError

__all__ = [
    "agglomerate",
    "agglomerate_thresholds",
    "waterz_buffers",
    "watershed",
    "scoring_function",
    "as_affinities",
    "SCORING_FUNCTIONS",
]

_QUANTILE = "OneMinus<HistogramQuantileAffinity<RegionGraphType, {q}, ScoreValue, 256, {init}>>"

#: Scoring functions by name. A merge happens while the score (1 - a statistic of the affinities on
#: the boundary between two regions) is below the threshold. The names are those of waterz users'
#: scripts (funlib/lsd, dacapo): ``hist_quant_Q`` is the Q-th percentile of the boundary's affinities
#: from a 256-bin histogram; ``_initmax`` starts each boundary from the maximum affinity between
#: its fragments instead of all of them (waterz's ``InitWithMax``). ``quantile-Q`` (any Q from 10
#: to 95 in steps of 5) is chunkflow's older spelling of ``hist_quant_Q``.
#:
#: When to use which: ``mean`` (the default, chunkflow 1.2.0's) for clean affinities; a median
#: (``hist_quant_50``) when boundaries carry a few spuriously high affinities (leaks through
#: thin membranes): it ignores them, so it merges fewer wrong pairs at the same threshold; a high
#: quantile (``hist_quant_75``/``_90``) when true boundaries are patchy (missed membrane pixels)
#: and splits dominate; a low one (``hist_quant_10``/``_25``) to be conservative about merges.
#: Sweep thresholds for each (``agglomerate --thresholds ... --sweep-output``) and pick by ARE/VI.
SCORING_FUNCTIONS = {
    "mean": "OneMinus<MeanAffinity<RegionGraphType, ScoreValue>>",
    **{f"quantile-{q}": _QUANTILE.format(q=q, init="false") for q in range(10, 100, 5)},
    **{f"hist_quant_{q}": _QUANTILE.format(q=q, init="false") for q in (10, 25, 50, 75, 90)},
    **{f"hist_quant_{q}_initmax": _QUANTILE.format(q=q, init="true") for q in (10, 25, 50, 75, 90)},
}


def scoring_function(name: str) -> str:
    """A name of :data:`SCORING_FUNCTIONS` (``mean``, ``hist_quant_50``, ...) or a waterz C++
    scoring-function type, as is."""
    if name in SCORING_FUNCTIONS:
        return SCORING_FUNCTIONS[name]
    if "<" in name:
        return name
    raise InvalidParameterError(
        f"scoring function {name!r} is not one of mean, hist_quant_10/25/50/75/90[_initmax], "
        "quantile-10 .. quantile-95, or a waterz C++ type"
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
            array,
            [threshold],
            fragments=given,
            aff_threshold_low=aff_threshold_low,
            aff_threshold_high=aff_threshold_high,
            scoring_function=scoring_function(scoring),
        )
    return Chunk(_smallest_uint(np.asarray(labels)), affs.voxel_offset, affs.voxel_size, "segmentation")


def agglomerate_thresholds(
    affs: Chunk,
    thresholds: list[float],
    aff_threshold_low: float = 0.0001,
    aff_threshold_high: float = 0.9999,
    scoring: str = "mean",
    fragments: Chunk | None = None,
) -> Iterator[tuple[float, Chunk]]:
    """One watershed and one agglomeration run for several thresholds: yields ``(threshold,
    segmentation)`` in increasing threshold order, each segmentation its own array.

    waterz merges up to each threshold in turn, continuing from the previous one, so all the
    thresholds cost about as much as the highest alone.
    """
    for threshold, labels in waterz_buffers(
        affs, thresholds, aff_threshold_low, aff_threshold_high, scoring, fragments
    ):
        out = _smallest_uint(labels)
        # waterz reuses its buffer for the next threshold: every yielded array must be our own
        yield threshold, Chunk(out.copy() if out is labels else out, affs.voxel_offset, affs.voxel_size, "segmentation")


def waterz_buffers(
    affs: Chunk,
    thresholds: list[float],
    aff_threshold_low: float = 0.0001,
    aff_threshold_high: float = 0.9999,
    scoring: str = "mean",
    fragments: Chunk | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """Like :func:`agglomerate_thresholds`, but yields waterz's own uint64 buffer, which the next
    step overwrites: use or copy it before asking for the next threshold. Threshold 0 gives the
    watershed fragments."""
    import waterz

    _check_thresholds(aff_threshold_low, aff_threshold_high)
    ordered = sorted({float(t) for t in thresholds})
    if not ordered:
        raise InvalidParameterError("give at least one agglomeration threshold")
    given = None
    if fragments is not None:
        if fragments.bbox != affs.bbox:
            raise IncompatibleChunkError(f"fragments at {fragments.bbox} do not match affinities at {affs.bbox}")
        given = np.array(fragments.array, dtype=np.uint64, order="C")
    results = waterz.agglomerate(
        as_affinities(affs),
        ordered,
        fragments=given,
        aff_threshold_low=aff_threshold_low,
        aff_threshold_high=aff_threshold_high,
        scoring_function=scoring_function(scoring),
    )
    for threshold in ordered:
        with quiet_stdout():  # only around waterz's own work, so the caller may print between thresholds
            labels = np.asarray(next(results))
        yield threshold, labels


def watershed(affs: Chunk, aff_threshold_low: float = 0.0001, aff_threshold_high: float = 0.9999) -> Chunk:
    """Watershed fragments only (waterz with no merging), for two-stage pipelines."""
    import waterz

    _check_thresholds(aff_threshold_low, aff_threshold_high)
    with quiet_stdout():
        (labels,) = waterz.agglomerate(
            as_affinities(affs), [0.0], aff_threshold_low=aff_threshold_low, aff_threshold_high=aff_threshold_high
        )
    return Chunk(_smallest_uint(np.asarray(labels)), affs.voxel_offset, affs.voxel_size, "segmentation")
