"""A :class:`Chunk`: an ndarray placed in global voxel space.

Arrays are 3D ``(Z, Y, X)`` or channels-first 4D ``(C, Z, Y, X)`` (a 2D ``(Y, X)`` array becomes one
section, ``(1, Y, X)``, as in chunkflow 1.2.0). The array is held as given: no copies are made unless a
method says so. Most libraries downstream (waterz, cc3d, torch) want C order; :meth:`Chunk.contiguous`
returns a C-contiguous chunk, copying only if needed.

A chunk is array-like (chunkflow 1.2.0's API): ``np.asarray(chunk)`` is its array, numpy ufuncs and
operators return a chunk with the same placement (``255 - chunk``), basic slicing that keeps the three
spatial axes returns a chunk placed at the slice's start, and attributes a chunk does not have are the
array's (``chunk.sum()``). ``array``, ``voxel_offset``, ``voxel_size`` and ``layer_type`` may be
assigned; each assignment is checked like the constructor's argument.
"""

from __future__ import annotations

from numbers import Number
from typing import Any, Self

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from chunkflow.errors import IncompatibleChunkError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like

__all__ = ["Chunk", "LAYER_TYPES", "box_of", "infer_layer_type", "plain"]

LAYER_TYPES = ("image", "affinity_map", "probability_map", "segmentation", "unknown")


def infer_layer_type(array: np.ndarray) -> str:
    """chunkflow 1.2.0's guess from dtype and channels: uint8 3D image; other integer or bool 3D
    segmentation; float32 with 3 channels affinity map; float32 within [0, 1] probability map.
    (1.2.0 tests the probability map before the affinity map, so a 3-channel float32 map within [0, 1]
    was a probability map there; here it is an affinity map.)"""
    if array.ndim == 3 and array.dtype == np.uint8:
        return "image"
    if array.ndim == 3 and (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_):
        return "segmentation"
    if array.dtype == np.float32:
        if array.ndim == 4 and array.shape[0] == 3:
            return "affinity_map"
        if array.size and float(array.min()) >= 0.0 and float(array.max()) <= 1.0:
            return "probability_map"
    return "unknown"


def _as_array(value: Any) -> np.ndarray:
    array = value.array if isinstance(value, Chunk) else np.asarray(value)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim not in (3, 4):
        raise IncompatibleChunkError(f"a chunk array must be 3D (Z, Y, X) or 4D (C, Z, Y, X), got shape {array.shape}")
    if 0 in array.shape:
        raise IncompatibleChunkError(f"a chunk array must not be empty, got shape {array.shape}")
    return array


def _as_offset(value: Vec3Like | None) -> Vec3:
    if value is None:
        return Vec3(0, 0, 0)
    if not isinstance(value, (Vec3, int, np.integer)):
        items = list(value)
        if len(items) == 4:  # 1.2.0 accepted (0, z, y, x) for 4D arrays
            if items[0] != 0:
                raise IncompatibleChunkError(f"a 4-element voxel offset must start with 0 (channels), got {items}")
            items = items[1:]
        value = items
    return Vec3.of(value)


def _as_size(value: Vec3Like | None) -> Vec3:
    if value is None:
        return Vec3(1, 1, 1)
    size = Vec3.of(value)
    if any(v <= 0 for v in size):
        raise IncompatibleChunkError(f"voxel size {tuple(size)} must be positive in every axis")
    return size


def _check_layer_type(value: str) -> str:
    if value not in LAYER_TYPES:
        raise IncompatibleChunkError(f"layer type {value!r} is not one of {', '.join(LAYER_TYPES)}")
    return value


_FIELDS = {"array": _as_array, "voxel_offset": _as_offset, "voxel_size": _as_size, "layer_type": _check_layer_type}


class Chunk(NDArrayOperatorsMixin):
    """An ndarray with a global ``voxel_offset`` (ZYX), a ``voxel_size`` (ZYX, nm) and a layer type.

    Parameters
    ----------
    array : ndarray, shape (Z, Y, X) or (C, Z, Y, X) (or (Y, X): one section); or a Chunk
    voxel_offset : Vec3-like, optional
        Global coordinate of ``array[..., 0, 0, 0]`` (default 0, or the given chunk's). A 4-element
        offset ``(0, z, y, x)`` is accepted.
    voxel_size : Vec3-like, optional
        Physical size of one voxel, nanometres (default 1 1 1, or the given chunk's).
    layer_type : str, optional
        One of ``image``, ``affinity_map``, ``probability_map``, ``segmentation``, ``unknown``;
        default: guessed from dtype and channels (:func:`infer_layer_type`).
    """

    __hash__ = None  # type: ignore[assignment]

    # assignments are converted by __setattr__ (a Vec3-like offset becomes a Vec3)
    array: np.ndarray
    voxel_offset: Vec3
    voxel_size: Vec3
    layer_type: str

    def __init__(
        self,
        array: Any,
        voxel_offset: Vec3Like | None = None,
        voxel_size: Vec3Like | None = None,
        layer_type: str | None = None,
    ) -> None:
        if isinstance(array, Chunk):
            voxel_offset = array.voxel_offset if voxel_offset is None else voxel_offset
            voxel_size = array.voxel_size if voxel_size is None else voxel_size
            layer_type = array.layer_type if layer_type is None else layer_type
            array = array.array
        self.array = array
        self.voxel_offset = voxel_offset  # type: ignore[assignment]
        self.voxel_size = voxel_size  # type: ignore[assignment]
        self.layer_type = infer_layer_type(self.array) if layer_type is None else layer_type

    def __setattr__(self, name: str, value: Any) -> None:
        check = _FIELDS.get(name)
        if name == "layer_type" and value is None:
            value = infer_layer_type(self.array)
        object.__setattr__(self, name, value if check is None else check(value))  # type: ignore[operator]

    def __getattr__(self, name: str) -> Any:
        # only reached when normal lookup fails: the array's public attributes (sum, mean, reshape...)
        if name.startswith("_") or name == "array" or "array" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self.__dict__["array"], name)

    def _placed(self, array: np.ndarray, voxel_offset: Vec3Like | None = None, layer_type: str | None = None) -> Self:
        """A chunk of this class with a new array, without running a subclass's constructor checks."""
        new = object.__new__(type(self))
        object.__setattr__(new, "array", _as_array(array))
        object.__setattr__(new, "voxel_offset", self.voxel_offset if voxel_offset is None else _as_offset(voxel_offset))
        object.__setattr__(new, "voxel_size", self.voxel_size)
        object.__setattr__(new, "layer_type", self.layer_type if layer_type is None else _check_layer_type(layer_type))
        return new

    # ---- geometry -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        return self.array.shape[-3:]

    @property
    def num_channels(self) -> int:
        return 1 if self.array.ndim == 3 else int(self.array.shape[0])

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return int(self.array.ndim)

    @property
    def bbox(self) -> BoundingBox:
        return box_of(self)

    # ---- layer type (declared; where unknown, 1.2.0's guess from dtype and channels) -------
    def _is(self, kind: str) -> bool:
        if self.layer_type != "unknown":
            return self.layer_type == kind
        array = self.array
        if kind == "image":
            return array.ndim == 3 and array.dtype == np.uint8
        if kind == "segmentation":
            return array.ndim == 3 and array.dtype != np.uint8 and array.dtype.kind in "iub"
        if kind == "affinity_map":
            return array.ndim == 4 and array.shape[0] == 3 and array.dtype == np.float32
        return array.dtype == np.float32 and float(array.min()) >= 0.0 and float(array.max()) <= 1.0

    @property
    def is_image(self) -> bool:
        return self._is("image")

    @property
    def is_segmentation(self) -> bool:
        return self._is("segmentation")

    @property
    def is_affinity_map(self) -> bool:
        return self._is("affinity_map")

    @property
    def is_probability_map(self) -> bool:
        return self._is("probability_map")

    def with_array(self, array: np.ndarray, **changes: Any) -> Self:
        """A chunk with the same placement and a new array (and optionally other fields)."""
        new = self._placed(array, changes.pop("voxel_offset", None), changes.pop("layer_type", None))
        if "voxel_size" in changes:
            new.voxel_size = changes.pop("voxel_size")
        if changes:
            raise TypeError(f"with_array() got unexpected fields {sorted(changes)}")
        return new

    def cutout(self, bbox: Any) -> Chunk:
        """The part of this chunk inside the global ``bbox`` (a view, no copy).

        ``bbox`` is a :class:`BoundingBox`, a 1.2.0 ``BoundingBox`` or a tuple of global slices
        (three, or four with the channel axis first).
        """
        bbox = _as_box(bbox)
        if not box_of(self).contains(bbox):
            raise IncompatibleChunkError(
                f"cannot cut out {bbox} from chunk at {box_of(self)}: it is not inside the chunk"
            )
        return self._placed(self.array[(..., *bbox.slices(box_of(self)))], bbox.start)

    def crop_margin(self, margin_size: Any = None, output_bbox: Any = None) -> Chunk:
        """Drop a margin (a view): ``margin_size`` is 3 values (every side) or 6 (-z -y -x +z +y +x),
        or give ``output_bbox`` to crop to that box."""
        if margin_size is None:
            if output_bbox is None:
                raise IncompatibleChunkError("crop_margin needs margin_size (3 or 6 values) or output_bbox")
            return self.cutout(output_bbox)
        if isinstance(margin_size, (int, np.integer)):
            margin_size = (margin_size,) * 3
        margin = [int(m) for m in margin_size]
        if len(margin) == 3:
            margin = margin * 2
        if len(margin) != 6:
            raise IncompatibleChunkError(f"margin {tuple(margin_size)} must have 3 or 6 values (-z -y -x +z +y +x)")
        box = box_of(self)
        return self.cutout(BoundingBox(box.start + margin[:3], box.stop - margin[3:]))

    def paste(self, other: Chunk) -> None:
        """Write the overlapping part of ``other`` into this chunk, in place."""
        mine, theirs = box_of(self), box_of(other)
        overlap = mine.intersection(theirs)
        if overlap is None:
            return
        self.array[(..., *overlap.slices(mine))] = other.array[(..., *overlap.slices(theirs))]

    def blend(self, other: Chunk) -> None:
        """Add the overlapping part of ``other`` into this chunk, in place."""
        mine, theirs = box_of(self), box_of(other)
        overlap = mine.intersection(theirs)
        if overlap is None:
            return
        self.array[(..., *overlap.slices(mine))] += other.array[(..., *overlap.slices(theirs))]

    def contiguous(self) -> Chunk:
        """A C-contiguous chunk (the same object where it already is)."""
        if self.array.flags.c_contiguous:
            return self
        return self.with_array(np.ascontiguousarray(self.array))

    def same_placement(self, other: Chunk) -> bool:
        return box_of(self) == box_of(other)

    def __repr__(self) -> str:
        return (
            f"Chunk(shape={self.shape}, dtype={self.dtype}, bbox={box_of(self)}, "
            f"voxel_size={tuple(self.voxel_size)}, layer_type={self.layer_type!r})"
        )

    # ---- numpy interop ----------------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self.array.dtype:
            return self.array.astype(dtype)
        return self.array.copy() if copy else self.array

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out", ())
        for x in inputs + out:
            if not isinstance(x, (np.ndarray, Number, Chunk, np.generic, list, tuple)):
                return NotImplemented
        arrays = tuple(x.array if isinstance(x, Chunk) else x for x in inputs)
        if out:
            kwargs["out"] = tuple(x.array if isinstance(x, Chunk) else x for x in out)
        result = getattr(ufunc, method)(*arrays, **kwargs)
        if method == "at":
            return None
        if out and len(out) == 1 and isinstance(out[0], Chunk):
            return out[0]  # in place (chunk *= 2): the same chunk, as numpy returns the same array
        if isinstance(result, tuple):
            return tuple(self._wrap(r) for r in result)
        return self._wrap(result)

    def _wrap(self, result: Any) -> Any:
        """Place an ndarray result like this chunk where its spatial shape is this chunk's (the layer
        type is guessed again, as in 1.2.0); anything else is returned as it is."""
        if isinstance(result, np.ndarray) and result.ndim in (3, 4) and result.shape[-3:] == self.spatial_shape:
            return Chunk(result, self.voxel_offset, self.voxel_size)
        return result

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: Any) -> Any:
        result = self.array[index]
        offset = _sliced_offset(index, self.array.shape, self.voxel_offset)
        if offset is None or not isinstance(result, np.ndarray) or result.ndim not in (3, 4) or 0 in result.shape:
            return result
        return self._placed(result, offset)

    def __setitem__(self, index: Any, value: Any) -> None:
        self.array[index] = value.array if isinstance(value, Chunk) else value

    def __eq__(self, other: object) -> Any:
        if isinstance(other, Chunk):
            return bool(
                self.voxel_offset == other.voxel_offset
                and self.voxel_size == other.voxel_size
                and self.layer_type == other.layer_type
                and self.array.dtype == other.array.dtype
                and np.array_equal(self.array, other.array)
            )
        if isinstance(other, (Number, np.ndarray, np.generic)):
            return self.array == other  # elementwise, as 1.2.0
        return NotImplemented

    def __ne__(self, other: object) -> Any:
        if isinstance(other, Chunk):
            return not self.__eq__(other)
        if isinstance(other, (Number, np.ndarray, np.generic)):
            return self.array != other
        return NotImplemented


def plain(chunk: Chunk) -> Chunk:
    """``chunk`` as this class itself, not a subclass that presents its geometry otherwise (no copy)."""
    if type(chunk) is Chunk:
        return chunk
    return Chunk(chunk.array, box_of(chunk).start, chunk.voxel_size, chunk.layer_type)


def box_of(chunk: Chunk) -> BoundingBox:
    """The global box of ``chunk`` (what :attr:`Chunk.bbox` is; a subclass may present ``bbox`` otherwise)."""
    return BoundingBox.from_shape(chunk.array.shape, chunk.voxel_offset)


def _as_box(value: Any) -> BoundingBox:
    if isinstance(value, BoundingBox):
        return value
    if isinstance(value, tuple) and value and all(isinstance(s, slice) for s in value):
        spatial = value[-3:]
        return BoundingBox(Vec3.of(tuple(s.start for s in spatial)), Vec3.of(tuple(s.stop for s in spatial)))
    start, stop = getattr(value, "start", None), getattr(value, "stop", None)
    if start is None or stop is None:  # cloud-volume's Bbox
        start, stop = getattr(value, "minpt", None), getattr(value, "maxpt", None)
    if start is None or stop is None:
        raise IncompatibleChunkError(f"cannot cut out {value!r}: give a BoundingBox or a tuple of slices")
    return BoundingBox(Vec3.of(tuple(start)[-3:]), Vec3.of(tuple(stop)[-3:]))


def _sliced_offset(index: Any, shape: tuple[int, ...], offset: Vec3) -> Vec3 | None:
    """The global offset of ``array[index]`` where ``index`` is basic slicing that keeps the three
    spatial axes (an integer may pick a channel); ``None`` for anything else."""
    items = index if isinstance(index, tuple) else (index,)
    if any(i is Ellipsis for i in items):
        at = next(n for n, i in enumerate(items) if i is Ellipsis)
        fill = len(shape) - (len(items) - 1)
        items = items[:at] + (slice(None),) * fill + items[at + 1 :]
    if len(items) > len(shape):
        return None
    items = items + (slice(None),) * (len(shape) - len(items))
    spatial = items[-3:]
    if len(shape) == 4 and not isinstance(items[0], (slice, int, np.integer)):
        return None
    if not all(isinstance(s, slice) and s.step in (None, 1) for s in spatial):
        return None
    starts = [s.indices(n)[0] for s, n in zip(spatial, shape[-3:])]
    return offset + starts
