"""chunkflow 1.2.0's ``Cartesian`` and ``BoundingBox`` (``chunkflow.compat.cartesian_coordinate``).

A thin layer over :mod:`chunkflow.geometry`: ``Cartesian`` is a ZYX named tuple with elementwise
arithmetic; ``BoundingBox`` has 1.2.0's names (``minpt``/``maxpt``, ``string``, ``slices`` as a
property, ``from_delta``, ``adjust``, ``decompose``...) and converts to and from our
:class:`chunkflow.geometry.BoundingBox` (``to_geometry()``/``from_geometry()``), and compares equal to it.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import UserList, namedtuple
from dataclasses import dataclass
from math import ceil, floor
from numbers import Number
from typing import Any

import numpy as np

from chunkflow import geometry
from chunkflow.errors import InvalidBoundingBoxError

__all__ = ["Cartesian", "BoundingBox", "BoundingBoxes", "PhysicalBoundingBox", "to_cartesian"]


# 1.2.0's pattern: a box at the end of a name, before an optional known extension
_BOUNDING_BOX_RE = re.compile(
    r"(-?\d+)-(-?\d+)_(-?\d+)-(-?\d+)_(-?\d+)-(-?\d+)(?:\.gz|\.br|\.h5|\.json|\.npy|\.tif|\.csv|\.pkl|\.png|\.jpg)?$"
)


def to_cartesian(x: Any) -> Cartesian | None:
    return None if x is None else Cartesian.from_collection(x)


def _pairs(a: Any, b: Any) -> Any:
    return zip(a, b if not isinstance(b, Number) else (b, b, b))


class Cartesian(namedtuple("Cartesian", ["z", "y", "x"])):
    """A coordinate or offset in Z, Y, X order with elementwise arithmetic."""

    __slots__ = ()

    @classmethod
    def from_collection(cls, col: Any) -> Cartesian:
        items = list(col)
        if len(items) != 3:
            raise InvalidBoundingBoxError(f"expected 3 values (z y x), got {items!r}")
        return cls(*items)

    @property
    def ceil(self) -> Cartesian:
        return Cartesian(*(ceil(v) for v in self))

    @property
    def floor(self) -> Cartesian:
        return Cartesian(*(floor(v) for v in self))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Number):
            return all(v == other for v in self)
        try:
            items: tuple[object, ...] = tuple(other)  # type: ignore[arg-type]
        except TypeError:
            return NotImplemented
        return len(items) == 3 and all(a == b for a, b in zip(self, items))

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __add__(self, other: Any) -> Cartesian:
        return Cartesian(*(a + b for a, b in _pairs(self, other)))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Cartesian:
        return Cartesian(*(a - b for a, b in _pairs(self, other)))

    def __rsub__(self, other: Any) -> Cartesian:
        return Cartesian(*(b - a for a, b in _pairs(self, other)))

    def __mul__(self, other: Any) -> Cartesian:
        return Cartesian(*(a * b for a, b in _pairs(self, other)))

    __rmul__ = __mul__

    def __floordiv__(self, other: Any) -> Cartesian:
        return Cartesian(*(a // b for a, b in _pairs(self, other)))

    def __truediv__(self, other: Any) -> Cartesian:
        return Cartesian(*(a / b for a, b in _pairs(self, other)))

    def __mod__(self, other: Any) -> Cartesian:
        return Cartesian(*(a % b for a, b in _pairs(self, other)))

    def __neg__(self) -> Cartesian:
        return Cartesian(-self.z, -self.y, -self.x)

    # 1.2.0 compares all three axes at once
    def __lt__(self, other: Any) -> bool:
        return all(a < b for a, b in _pairs(self, other))

    def __le__(self, other: Any) -> bool:
        return all(a <= b for a, b in _pairs(self, other))

    def __gt__(self, other: Any) -> bool:
        return all(a > b for a, b in _pairs(self, other))

    def __ge__(self, other: Any) -> bool:
        return all(a >= b for a, b in _pairs(self, other))

    @property
    def vec(self) -> Any:
        from cloudvolume.lib import Vec

        return Vec(*self)

    @property
    def tuple(self) -> tuple[Any, Any, Any]:
        return (self.z, self.y, self.x)

    @property
    def list(self) -> list[Any]:
        return [self.z, self.y, self.x]

    @property
    def inverse(self) -> Cartesian:
        return Cartesian(self.x, self.y, self.z)


def _cart(value: Any) -> Cartesian:
    return value if isinstance(value, Cartesian) else Cartesian.from_collection(value)


@dataclass(frozen=True)
class BoundingBox:
    """A half-open box ``[start, stop)`` in ZYX voxel coordinates (1.2.0's API)."""

    start: Cartesian
    stop: Cartesian

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _cart(self.start))
        object.__setattr__(self, "stop", _cart(self.stop))

    # ---- conversions with our geometry ------------------------------------------------------
    @classmethod
    def from_geometry(cls, box: geometry.BoundingBox) -> BoundingBox:
        return cls(Cartesian(*box.start), Cartesian(*box.stop))

    def to_geometry(self) -> geometry.BoundingBox:
        return geometry.BoundingBox(geometry.Vec3.of(self.start), geometry.Vec3.of(self.stop))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (BoundingBox, geometry.BoundingBox)):
            return tuple(self.start) == tuple(other.start) and tuple(self.stop) == tuple(other.stop)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((tuple(self.start), tuple(self.stop)))

    # ---- constructors -------------------------------------------------------------------------
    @classmethod
    def from_bbox(cls, bbox: Any) -> BoundingBox:
        """From cloud-volume's ``Bbox`` or our :class:`chunkflow.geometry.BoundingBox`."""
        start = getattr(bbox, "minpt", None)
        start = bbox.start if start is None else start
        stop = getattr(bbox, "maxpt", None)
        stop = bbox.stop if stop is None else stop
        return cls(Cartesian.from_collection(start), Cartesian.from_collection(stop))

    @classmethod
    def from_string(cls, string: str) -> BoundingBox | None:
        """Find ``z0-z1_y0-y1_x0-x1`` at the end of ``string`` (after a prefix such as ``Sp1,`` and before a
        file extension, as 1.2.0's pattern); ``None`` where there is none."""
        match = _BOUNDING_BOX_RE.search(string)
        if match is None:
            return None
        z0, z1, y0, y1, x0, x1 = map(int, match.groups())
        return cls(Cartesian(z0, y0, x0), Cartesian(z1, y1, x1))

    @classmethod
    def from_delta(cls, start: Any, plus: Any) -> BoundingBox:
        start = _cart(start)
        return cls(start, start + _cart(plus))

    @classmethod
    def from_list(cls, lst: Any) -> BoundingBox:
        return cls(_cart(lst[:3]), _cart(lst[-3:]))

    @classmethod
    def from_points(cls, arr: np.ndarray) -> BoundingBox:
        arr = np.asarray(arr)
        return cls(_cart(arr.min(axis=0)), _cart(arr.max(axis=0)))

    @classmethod
    def from_slices(cls, tpl: Any) -> BoundingBox:
        return cls(_cart([s.start for s in tpl[-3:]]), _cart([s.stop for s in tpl[-3:]]))

    @classmethod
    def from_center(cls, center: Any, extent: Any, even_size: bool = True) -> BoundingBox:
        center = _cart(center)
        stop = center + extent
        return cls(center - extent, stop if even_size else stop + 1)

    # ---- 1.2.0 properties -----------------------------------------------------------------------
    @property
    def minpt(self) -> Cartesian:
        return self.start

    @property
    def maxpt(self) -> Cartesian:
        return self.stop

    @property
    def string(self) -> str:
        s, e = self.start, self.stop
        return f"{s.z}-{e.z}_{s.y}-{e.y}_{s.x}-{e.x}"

    def __str__(self) -> str:
        return self.string

    def __repr__(self) -> str:
        return f"BoundingBox({self.start}, {self.stop})"

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        return tuple(slice(a, b) for a, b in zip(self.start, self.stop))  # type: ignore[return-value]

    @property
    def shape(self) -> Cartesian:
        return self.stop - self.start

    @property
    def dvid_roi(self) -> list[tuple[Any, ...]]:
        return [self.start.tuple, self.stop.tuple]

    @property
    def cloud_volume_bbox_xyz(self) -> Any:
        from cloudvolume.lib import Bbox

        return Bbox(self.start.inverse, self.stop.inverse)

    @property
    def random_coordinate(self) -> Cartesian:
        return Cartesian(*(random.randrange(a, b) for a, b in zip(self.start, self.stop)))

    @property
    def left_neighbors(self) -> tuple[BoundingBox, BoundingBox, BoundingBox]:
        size = self.shape
        return tuple(  # type: ignore[return-value]
            self.from_delta([s - (size[i] if i == axis else 0) for i, s in enumerate(self.start)], size)
            for axis in range(3)
        )

    # ---- arithmetic and set operations ------------------------------------------------------------
    def __add__(self, other: Any) -> BoundingBox:
        return BoundingBox(self.start + other, self.stop + other)

    __iadd__ = __add__

    def __mul__(self, other: Any) -> BoundingBox:
        return BoundingBox(self.start * other, self.stop * other)

    def __floordiv__(self, other: Any) -> BoundingBox:
        if isinstance(other, BoundingBox):
            return BoundingBox(self.start // other.start, self.stop // other.stop)
        return BoundingBox(self.start // other, self.stop // other)

    def clone(self) -> BoundingBox:
        return BoundingBox(self.start, self.stop)

    def inverse_order(self) -> BoundingBox:
        return BoundingBox(self.start.inverse, self.stop.inverse)

    def adjust(self, size: Any) -> BoundingBox:
        """Grow by a number or 3 values on every side, or by 6 values (-z -y -x +z +y +x) added to
        start and stop."""
        if size is None:
            return self
        if isinstance(size, Number):
            size = (-size, -size, -size, size, size, size)  # type: ignore[operator]
        elif len(size) == 3:
            size = (-size[0], -size[1], -size[2], *size)
        elif len(size) != 6:
            raise InvalidBoundingBoxError(f"adjust takes a number, 3 or 6 values, got {size!r}")
        return BoundingBox(self.start + tuple(size[:3]), self.stop + tuple(size[-3:]))

    def adjust_corner(self, corner_offset: Any) -> BoundingBox:
        if len(corner_offset) != 6:
            raise InvalidBoundingBoxError(f"adjust_corner takes 6 values, got {corner_offset!r}")
        return BoundingBox(self.start + tuple(corner_offset[:3]), self.stop + tuple(corner_offset[-3:]))

    def union(self, other: Any) -> BoundingBox:
        return BoundingBox(
            _cart(np.minimum(self.start, tuple(other.start))), _cart(np.maximum(self.stop, tuple(other.stop)))
        )

    def intersection(self, other: Any) -> BoundingBox:
        return BoundingBox(
            _cart(np.maximum(self.start, tuple(other.start))), _cart(np.minimum(self.stop, tuple(other.stop)))
        )

    def contains(self, point: Any) -> bool:
        """Whether a point lies in the box (1.2.0 included the stop)."""
        if isinstance(point, (BoundingBox, geometry.BoundingBox)):
            return self.to_geometry().contains(BoundingBox.from_bbox(point).to_geometry())
        return all(a <= p <= b for a, p, b in zip(self.start, point, self.stop))

    def is_aligned_with(self, block_shape: Any) -> bool:
        return self.start % _cart(block_shape) == 0 and self.stop % _cart(block_shape) == 0

    def decompose(self, block_size: Any, ignore_unaligned: bool = True) -> BoundingBoxes:
        """Whole blocks of ``block_size`` from the start; what does not fill a block is left out."""
        block = _cart(block_size)
        ranges = [range(a, b - s + 1, s) for a, b, s in zip(self.start, self.stop, block)]
        return BoundingBoxes(BoundingBox.from_delta(Cartesian(*p), block) for p in itertools.product(*ranges))

    def decompose_to_aligned_block_bounding_boxes(self, block_size: Any, bounded: bool = True) -> BoundingBoxes:
        block = _cart(block_size)
        ranges = [range(a, b if bounded else b + s - 1, s) for a, b, s in zip(self.start, self.stop, block)]
        return BoundingBoxes(BoundingBox.from_delta(Cartesian(*p), block) for p in itertools.product(*ranges))

    def decompose_to_unaligned_block_bounding_boxes(self, block_size: Any) -> BoundingBoxes:
        block = _cart(block_size)
        ranges = [range(a, b, s) for a, b, s in zip(self.start, self.stop, block)]
        return BoundingBoxes(
            BoundingBox(Cartesian(*p), _cart(np.minimum(Cartesian(*p) + block, self.stop)))
            for p in itertools.product(*ranges)
        )


class BoundingBoxes(UserList):
    """A list of :class:`BoundingBox` (1.2.0's task lists)."""

    @classmethod
    def from_array(cls, arr: np.ndarray, is_zyx: bool = True) -> BoundingBoxes:
        arr = np.asarray(arr)
        if not is_zyx:
            arr = arr[:, [2, 1, 0, 5, 4, 3]]
        return cls(BoundingBox.from_list(list(row)) for row in arr)

    @property
    def array(self) -> np.ndarray:
        return np.asarray([[*b.start, *b.stop] for b in self.data], dtype=np.int64)

    @classmethod
    def from_file(cls, file_path: str, is_zyx: bool = True) -> BoundingBoxes:
        """A ``.npy`` array or a comma-separated ``.txt`` (``#`` comments), one box per row."""
        if file_path.endswith(".txt"):
            return cls.from_array(np.loadtxt(file_path, dtype=int, delimiter=","), is_zyx=is_zyx)
        return cls.from_array(np.load(file_path), is_zyx=is_zyx)

    def to_file(self, file_name: str) -> None:
        if not file_name.endswith(".npy"):
            raise InvalidBoundingBoxError(f"BoundingBoxes.to_file writes .npy files, got {file_name!r}")
        np.save(file_name, self.array)


class PhysicalBoundingBox(BoundingBox):
    """A box with a voxel size (1.2.0's ``Chunk.physical_bounding_box``)."""

    def __init__(self, start: Any, stop: Any, voxel_size: Any) -> None:
        super().__init__(start, stop)
        object.__setattr__(self, "voxel_size", _cart(voxel_size))

    @classmethod
    def from_bounding_box(cls, bbox: Any, voxel_size: Any) -> PhysicalBoundingBox:
        return cls(bbox.start, bbox.stop, voxel_size)

    @property
    def voxel_bounding_box(self) -> BoundingBox:
        return BoundingBox(self.start, self.stop)

    def to_other_voxel_size(self, voxel_size2: Any) -> PhysicalBoundingBox:
        size2 = _cart(voxel_size2)
        factor = self.voxel_size / size2  # type: ignore[attr-defined]
        start = (self.start * factor).floor
        stop = (self.stop * factor).ceil
        return PhysicalBoundingBox(start, stop, size2)
