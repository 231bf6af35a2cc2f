"""Connected components (cc3d) and object masking / relabelling (fastremap).

cc3d accepts C- or F-contiguous arrays and returns the same order; we hand it C order.
"""

from __future__ import annotations

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError

__all__ = ["connected_components", "mask_out_objects", "relabel", "foreground"]


def _check_connectivity(connectivity: int) -> None:
    if connectivity not in (6, 18, 26):
        raise InvalidParameterError(f"connectivity {connectivity} is not one of 6, 18, 26")


def _spatial(chunk: Chunk) -> np.ndarray:
    array = chunk.array
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise IncompatibleChunkError(
                f"connected components need one channel; chunk {chunk.bbox} has {array.shape[0]}"
            )
        array = array[0]
    return array


def foreground(chunk: Chunk, threshold: float | None) -> np.ndarray:
    """Labels to run components on: a segmentation as is, else ``value > threshold``."""
    array = _spatial(chunk)
    if chunk.is_segmentation or (threshold is None and array.dtype.kind in "ub"):
        if array.dtype.kind == "f":
            raise IncompatibleChunkError(
                f"segmentation chunk {chunk.bbox} is float ({array.dtype}); labels must be integers"
            )
        return np.ascontiguousarray(array)
    if threshold is None:
        raise InvalidParameterError(f"chunk {chunk.bbox} is a {chunk.layer_type} ({array.dtype}); pass --threshold")
    return np.ascontiguousarray(array > threshold)


def connected_components(
    chunk: Chunk, threshold: float | None = None, connectivity: int = 6, dtype: str | np.dtype | None = None
) -> Chunk:
    """Label connected components.

    Image or probability input: components of the foreground ``value > threshold``. A
    segmentation (or integer labels without a threshold): each label is split into its
    connected pieces. Labels are consecutive from 1, in ``dtype``; by default (``None``) chunkflow
    1.2.0's: cc3d's choice, the smallest of uint16, uint32 and uint64 that holds the most labels the
    chunk could have (uint16 for most chunks).
    """
    import cc3d

    _check_connectivity(connectivity)
    mask = foreground(chunk, threshold)
    out_dtype = None if dtype is None else np.dtype(dtype)
    if out_dtype is not None and out_dtype.name not in ("uint16", "uint32", "uint64"):
        raise InvalidParameterError(f"connected components dtype {out_dtype} is not uint16, uint32 or uint64")
    if mask.dtype == np.bool_:
        mask = mask.view(np.uint8)  # what 1.2.0 gave cc3d (its threshold was uint8): cc3d's dtype choice depends on it
    labels = cc3d.connected_components(mask, connectivity=connectivity, out_dtype=out_dtype)  # type: ignore[call-overload]
    return Chunk(labels, chunk.voxel_offset, chunk.voxel_size, "segmentation")


def mask_out_objects(
    chunk: Chunk, dust_size_threshold: int | None = None, selected_obj_ids: list[int] | None = None
) -> Chunk:
    """Zero objects smaller than ``dust_size_threshold`` voxels; keep only ``selected_obj_ids`` if given."""
    import fastremap

    labels = _labels(chunk).copy()
    if selected_obj_ids:
        labels = fastremap.mask_except(labels, list(selected_obj_ids), in_place=True)
    if dust_size_threshold:
        ids, counts = fastremap.unique(labels, return_counts=True)
        small = ids[(counts < dust_size_threshold) & (ids != 0)]
        if len(small):
            labels = fastremap.mask(labels, small.tolist(), in_place=True)
    return chunk.with_array(labels)


def relabel(chunk: Chunk) -> Chunk:
    """Renumber labels consecutively from 1 (0 stays 0), in the smallest unsigned dtype ≥ uint32."""
    import fastremap

    labels, _ = fastremap.renumber(_labels(chunk), preserve_zero=True, in_place=False)
    if labels.dtype.itemsize < 4:
        labels = labels.astype(np.uint32)
    return chunk.with_array(labels)


def _labels(chunk: Chunk) -> np.ndarray:
    array = _spatial(chunk)
    if array.dtype.kind not in "ui":
        raise IncompatibleChunkError(f"chunk {chunk.bbox} holds {array.dtype}, not integer labels")
    return np.ascontiguousarray(array)
