"""Section contrast normalization and CLAHE of uint8 EM images.

``normalize_contrast`` is chunkflow 1.2.0's ``normalize-contrast`` (itself igneous's
``ContrastNormalizationTask``): per section, a histogram of the intensities without pure black
(0), clamping values ``lower``/``upper`` where the cumulative count passes
``lower_clip_fraction`` and ``1 - upper_clip_fraction``, then the lookup table
``clip(round((v - lower) * maxval / (upper - lower)), minval, maxval)``. A section with
``lower == upper`` is left as it is.

Over a volume cut into tasks, the histograms must be those of whole sections, not of each
chunk, or neighbouring chunks get different tables and a seam. So it runs in three stages:
``write_levels_fragment`` per task (the per-section histograms of its chunk; tasks must not
overlap), ``aggregate_levels`` once (sums them into ``<levels>/<z>``, igneous's
``LuminanceLevelsTask`` file format: JSON with ``levels``), then ``normalize_contrast(chunk,
levels=read_levels(...))`` per task. 1.2.0's ``--levels-path`` files and igneous's
``<layer>/levels/<mip>/`` directories are read as they are. Unlike igneous, every voxel is
counted (no random sampling), so the result does not depend on how the volume was cut.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from chunkflow import files
from chunkflow.chunk.base import Chunk
from chunkflow.errors import CorruptFileError, IncompatibleChunkError, InvalidParameterError, VolumeNotFoundError

__all__ = ["section_histograms", "clamping_values", "lookup_table", "normalize_contrast", "write_levels_fragment",
           "aggregate_levels", "read_levels", "clahe"]  # fmt: skip

_FRAGMENTS = "fragments"


def _check_image(chunk: Chunk, what: str) -> None:
    if chunk.ndim != 3 or chunk.dtype != np.uint8:
        raise IncompatibleChunkError(f"{what} needs a 3D uint8 image; got {chunk.dtype} with shape {chunk.shape}")


def section_histograms(chunk: Chunk) -> np.ndarray:
    """Intensity counts of every section: (Z, 256) uint64, row ``i`` is global z ``offset.z + i``."""
    _check_image(chunk, "a luminance histogram")
    array = chunk.array.reshape(chunk.shape[0], -1)
    keys = np.arange(chunk.shape[0], dtype=np.int64)[:, None] * 256 + array
    return np.bincount(keys.ravel(), minlength=256 * chunk.shape[0]).reshape(-1, 256).astype(np.uint64)


def clamping_values(
    histogram: np.ndarray, lower_clip_fraction: float = 0.01, upper_clip_fraction: float = 0.01
) -> tuple[int, int]:
    """igneous's ``find_section_clamping_values``: the last level whose cumulative fraction (pure
    black left out) is still at most ``lower_clip_fraction`` (resp. ``1 - upper_clip_fraction``)."""
    counts = np.array(histogram, dtype=np.uint64)
    counts[0] = 0  # pure black carries no information in EM
    cdf = np.cumsum(counts)
    total = float(cdf[-1])
    if total == 0:
        return 0, 0

    def last_below(fraction: float) -> int:
        above = np.flatnonzero(cdf.astype(np.float64) / total > fraction)
        return len(cdf) - 1 if len(above) == 0 else max(int(above[0]) - 1, 0)

    return last_below(lower_clip_fraction), last_below(1.0 - upper_clip_fraction)


def lookup_table(lower: int, upper: int, minval: int = 1, maxval: int = 255) -> np.ndarray | None:
    """The 256-entry uint8 table for clamping values ``lower``/``upper``; ``None`` when they are equal."""
    if lower == upper:
        return None
    table = np.arange(0, 256, dtype=np.float32)
    table = (table - float(lower)) * (maxval / (float(upper) - float(lower)))
    np.clip(table, minval, maxval, out=table)
    return np.round(table).astype(np.uint8)


def _check_fractions(lower: float, upper: float, minval: int, maxval: int) -> None:
    if not (0 <= lower <= 1 and 0 <= upper <= 1 and lower + upper <= 1):
        raise InvalidParameterError(f"clip fractions {lower} and {upper} must lie in [0, 1] and add up to at most 1")
    if not 0 <= minval <= maxval <= 255:
        raise InvalidParameterError(f"minval {minval} and maxval {maxval} must satisfy 0 <= minval <= maxval <= 255")


def normalize_contrast(
    chunk: Chunk,
    lower_clip_fraction: float = 0.01,
    upper_clip_fraction: float = 0.01,
    minval: int = 1,
    maxval: int = 255,
    per_section: bool = True,
    levels: Mapping[int, np.ndarray] | None = None,
) -> Chunk:
    """Stretch each section's (or, with ``per_section=False``, the chunk's) intensities between its
    clamping values.

    Parameters
    ----------
    chunk : Chunk, (Z, Y, X) uint8
    levels : mapping global z -> (256,) counts, optional
        Whole-section histograms (:func:`read_levels`); computed from the chunk itself when absent.

    Returns
    -------
    Chunk, (Z, Y, X) uint8, a new array
    """
    _check_image(chunk, "normalize-contrast")
    _check_fractions(lower_clip_fraction, upper_clip_fraction, minval, maxval)
    out = chunk.array.copy()
    if not per_section and levels is None:
        table = lookup_table(
            *clamping_values(section_histograms(chunk).sum(axis=0), lower_clip_fraction, upper_clip_fraction),
            minval,
            maxval,
        )
        return chunk.with_array(table[out] if table is not None else out)
    own = section_histograms(chunk) if levels is None else None
    z0 = chunk.voxel_offset[0]
    for i in range(chunk.shape[0]):
        histogram = own[i] if own is not None else levels[z0 + i]  # type: ignore[index]
        table = lookup_table(*clamping_values(histogram, lower_clip_fraction, upper_clip_fraction), minval, maxval)
        if table is not None:
            out[i] = table[out[i]]
    return chunk.with_array(out)


def _root(levels_path: str | Path) -> str:
    """The levels directory as a :mod:`chunkflow.files` URL (a local path, file://, gs:// or s3://)."""
    return files.check_url(str(levels_path)).removeprefix("file://")


def write_levels_fragment(chunk: Chunk, levels_path: str | Path) -> str:
    """Stage 1 (per task): the chunk's per-section histograms as ``<levels>/fragments/<bbox>``."""
    histograms = section_histograms(chunk)
    url = files.join(_root(levels_path), _FRAGMENTS, str(chunk.bbox))
    files.write_bytes(
        url,
        json.dumps(
            {
                "z_start": chunk.voxel_offset[0],
                "levels": histograms.tolist(),
                "voxels_per_section": chunk.shape[1] * chunk.shape[2],
            }
        ).encode(),
    )
    return url


def aggregate_levels(levels_path: str | Path) -> int:
    """Stage 2 (once): sum every fragment into ``<levels>/<z>`` (igneous's format); returns the
    number of sections written."""
    root = _root(levels_path)
    fragments = sorted(
        files.join(root, _FRAGMENTS, name)
        for name in files.list_names(files.join(root, _FRAGMENTS), recursive=False)
        if not name.startswith(".") and not name.endswith("/")
    )
    if not fragments:
        raise VolumeNotFoundError(
            f"no luminance-level fragments in {files.join(root, _FRAGMENTS)}; run compute-luminance-levels first"
        )
    sums: dict[int, np.ndarray] = {}
    area: dict[int, int] = {}
    for fragment in fragments:
        z_start, histograms, voxels = _read_fragment(fragment)
        for i, counts in enumerate(histograms):
            z = z_start + i
            sums[z] = sums.get(z, np.zeros(256, np.uint64)) + counts
            area[z] = area.get(z, 0) + voxels
    for z, counts in sums.items():
        files.write_bytes(
            files.join(root, str(z)),
            json.dumps(
                {
                    "levels": counts.tolist(),
                    "patch_size": None,
                    "num_patches": 0,
                    "coverage_ratio": 1.0,
                    "voxels": area[z],
                }
            ).encode(),
        )
    return len(sums)


def read_levels(levels_path: str | Path, zs: range) -> dict[int, np.ndarray]:
    """The whole-section histograms ``<levels>/<z>`` of sections ``zs``."""
    root = _root(levels_path)
    levels = {}
    for z in zs:
        path = files.join(root, str(z))
        record = files.read_json(
            path,
            f"luminance levels of section {z}",
            "run compute-luminance-levels over the volume and aggregate-luminance-levels first",
        )
        levels[z] = _histogram(record.get("levels") if isinstance(record, dict) else None, path, _LEVELS_FIX)
    return levels


_LEVELS_FIX = "delete it and rerun aggregate-luminance-levels (or fix --levels-path)"
_FRAGMENT_FIX = "delete it and rerun compute-luminance-levels for its box"


def _histogram(counts: object, path: str | Path, fix: str, what: str = "luminance levels file") -> np.ndarray:
    """``counts`` as a (256,) uint64 histogram; a corrupt or foreign levels file is refused naming ``path``."""
    if not (
        isinstance(counts, list)
        and len(counts) == 256
        and all(
            isinstance(c, (int, float))
            and not isinstance(c, bool)
            and math.isfinite(c)
            and c >= 0
            and c == int(c)
            and c < 2**63
            for c in counts
        )
    ):
        raise CorruptFileError(
            f"{what} {path} does not hold a histogram ('levels': 256 non-negative integer counts); {fix}"
        )
    return np.asarray([int(c) for c in counts], dtype=np.uint64)


def _read_fragment(path: str | Path) -> tuple[int, list[np.ndarray], int]:
    """(first z, per-section histograms, voxels per section) of a stage-1 fragment."""
    record = files.read_json(path, "luminance-level fragment", _FRAGMENT_FIX)
    ok = (
        isinstance(record, dict)
        and isinstance(record.get("levels"), list)
        and all(
            isinstance(record.get(key), int) and not isinstance(record.get(key), bool)
            for key in ("z_start", "voxels_per_section")
        )
        and record["voxels_per_section"] >= 0
    )
    if not ok:
        raise CorruptFileError(
            f"luminance-level fragment {path} is not one compute-luminance-levels wrote (JSON with "
            f"z_start, levels, voxels_per_section); {_FRAGMENT_FIX}"
        )
    return (
        record["z_start"],
        [_histogram(c, path, _FRAGMENT_FIX, "luminance-level fragment") for c in record["levels"]],
        record["voxels_per_section"],
    )


def clahe(chunk: Chunk, kernel_size: int | None = None, clip_limit: float = 0.01, nbins: int = 256) -> Chunk:
    """Contrast-limited adaptive histogram equalization of each section (scikit-image's
    ``equalize_adapthist`` in 2D), back to uint8. Tiles are relative to the chunk, so chunks of
    one volume do not join seamlessly; run it on whole sections, or before cutting."""
    from skimage.exposure import equalize_adapthist

    _check_image(chunk, "clahe")
    if not 0 < clip_limit <= 1:
        raise InvalidParameterError(f"clip limit {clip_limit} must lie in (0, 1]")
    if kernel_size is not None and kernel_size < 2:
        raise InvalidParameterError(f"kernel size {kernel_size} must be at least 2 pixels")
    out = np.empty_like(chunk.array)
    for i, section in enumerate(chunk.array):
        equalized = equalize_adapthist(section, kernel_size=kernel_size, clip_limit=clip_limit, nbins=nbins)
        out[i] = np.round(equalized * 255.0).astype(np.uint8)
    return chunk.with_array(out)
