"""Immutable, typed geometry: :class:`Vec3` and half-open :class:`BoundingBox` in ZYX order.

XYZ order appears only at the edges where a format demands it (precomputed ``info``,
neuroglancer) and is converted there with :meth:`Vec3.xyz` / :meth:`Vec3.from_xyz`.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import SupportsInt, Union

from chunkflow.errors import InvalidBoundingBoxError

__all__ = ["Vec3", "BoundingBox", "Vec3Like"]

Vec3Like = Union["Vec3", Iterable[SupportsInt], int]


@dataclass(frozen=True, slots=True)
class Vec3:
    """Three integers in Z, Y, X order."""

    z: int
    y: int
    x: int

    def __post_init__(self) -> None:
        for name in ("z", "y", "x"):
            value = getattr(self, name)
            if not isinstance(value, int):
                object.__setattr__(self, name, _as_int(value))

    @classmethod
    def of(cls, value: Vec3Like) -> Vec3:
        """Parse a Vec3, a scalar (broadcast) or any 3-sequence of integers."""
        if isinstance(value, Vec3):
            return value
        if isinstance(value, SupportsInt) and not hasattr(value, "__len__"):
            v = _as_int(value)
            return cls(v, v, v)
        items = list(value)  # type: ignore[arg-type]
        if len(items) != 3:
            raise InvalidBoundingBoxError(f"expected 3 integers (z y x), got {items!r}")
        return cls(*(_as_int(i) for i in items))

    @classmethod
    def from_xyz(cls, value: Iterable[SupportsInt]) -> Vec3:
        x, y, z = (_as_int(i) for i in value)
        return cls(z, y, x)

    @property
    def xyz(self) -> tuple[int, int, int]:
        return (self.x, self.y, self.z)

    def __iter__(self) -> Iterator[int]:
        return iter((self.z, self.y, self.x))

    def __len__(self) -> int:
        return 3

    def __getitem__(self, i: int) -> int:
        return (self.z, self.y, self.x)[i]

    def _zip(self, other: Vec3Like, op) -> Vec3:
        o = Vec3.of(other)
        return Vec3(op(self.z, o.z), op(self.y, o.y), op(self.x, o.x))

    def __add__(self, other: Vec3Like) -> Vec3:
        return self._zip(other, int.__add__)

    __radd__ = __add__

    def __sub__(self, other: Vec3Like) -> Vec3:
        return self._zip(other, int.__sub__)

    def __rsub__(self, other: Vec3Like) -> Vec3:
        return Vec3.of(other) - self

    def __mul__(self, other: Vec3Like) -> Vec3:
        return self._zip(other, int.__mul__)

    __rmul__ = __mul__

    def __floordiv__(self, other: Vec3Like) -> Vec3:
        return self._zip(other, int.__floordiv__)

    def __neg__(self) -> Vec3:
        return Vec3(-self.z, -self.y, -self.x)

    def ceildiv(self, other: Vec3Like) -> Vec3:
        return self._zip(other, lambda a, b: -(-a // b))

    def maximum(self, other: Vec3Like) -> Vec3:
        return self._zip(other, max)

    def minimum(self, other: Vec3Like) -> Vec3:
        return self._zip(other, min)

    def prod(self) -> int:
        return self.z * self.y * self.x

    def __str__(self) -> str:
        return f"{self.z} {self.y} {self.x}"

    # chunkflow 1.2.0 code compares offsets and sizes with tuples (``chunk.voxel_offset == (0, 0, 0)``);
    # equal values hash alike, as tuples do.
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Vec3):
            return (self.z, self.y, self.x) == (other.z, other.y, other.x)
        if isinstance(other, (tuple, list)):
            return len(other) == 3 and (self.z, self.y, self.x) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.z, self.y, self.x))


def _as_int(value: object) -> int:
    """An exact integer from ints, numpy integers or integral floats; anything else is refused."""
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        if isinstance(value, float) and value.is_integer():
            return int(value)
    raise InvalidBoundingBoxError(f"expected an integer, got {value!r}")


_BBOX_RE = re.compile(r"^\s*(-?\d+)-(-?\d+)_(-?\d+)-(-?\d+)_(-?\d+)-(-?\d+)\s*$")


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """A half-open box ``[start, stop)`` in voxel coordinates, ZYX order.

    Its string form ``z0-z1_y0-y1_x0-x1`` is chunkflow's task id and file-name convention.
    Empty boxes (any ``stop <= start``) are refused.
    """

    start: Vec3
    stop: Vec3

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", Vec3.of(self.start))
        object.__setattr__(self, "stop", Vec3.of(self.stop))
        if any(b <= a for a, b in zip(self.start, self.stop)):
            raise InvalidBoundingBoxError(
                f"bounding box {self._raw_str()} is empty or inverted; every stop must exceed its start"
            )

    @classmethod
    def from_size(cls, start: Vec3Like, size: Vec3Like) -> BoundingBox:
        size3 = Vec3.of(size)
        if any(s <= 0 for s in size3):
            raise InvalidBoundingBoxError(f"size {tuple(size3)} must be positive in every axis")
        start3 = Vec3.of(start)
        return cls(start3, start3 + size3)

    @classmethod
    def from_shape(cls, shape: Iterable[int], start: Vec3Like = 0) -> BoundingBox:
        """The box of an array whose last three axes are (Z, Y, X), placed at ``start``."""
        return cls.from_size(start, tuple(shape)[-3:])

    @classmethod
    def from_string(cls, text: str) -> BoundingBox:
        """Parse ``z0-z1_y0-y1_x0-x1`` (a trailing file extension is ignored)."""
        stem = text.rsplit("/", 1)[-1]
        for ext in (".h5", ".hdf5", ".tif", ".tiff", ".npy", ".json", ".done"):
            if stem.endswith(ext):
                stem = stem[: -len(ext)]
        match = _BBOX_RE.match(stem)
        if match is None:
            raise InvalidBoundingBoxError(
                f"cannot parse bounding box {text!r}; expected the form z0-z1_y0-y1_x0-x1, e.g. 0-64_0-512_0-512"
            )
        v = [int(g) for g in match.groups()]
        return cls(Vec3(v[0], v[2], v[4]), Vec3(v[1], v[3], v[5]))

    def _raw_str(self) -> str:
        s, e = self.start, self.stop
        return f"{s.z}-{e.z}_{s.y}-{e.y}_{s.x}-{e.x}"

    def __str__(self) -> str:
        return self._raw_str()

    @property
    def size(self) -> Vec3:
        return self.stop - self.start

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.size)  # type: ignore[return-value]

    @property
    def volume(self) -> int:
        return self.size.prod()

    def contains(self, other: BoundingBox) -> bool:
        return all(a <= b for a, b in zip(self.start, other.start)) and all(
            a >= b for a, b in zip(self.stop, other.stop)
        )

    def intersects(self, other: BoundingBox) -> bool:
        return all(max(a, c) < min(b, d) for a, b, c, d in zip(self.start, self.stop, other.start, other.stop))

    def intersection(self, other: BoundingBox) -> BoundingBox | None:
        """The overlap of two boxes, or ``None`` where they do not overlap."""
        if not self.intersects(other):
            return None
        return BoundingBox(self.start.maximum(other.start), self.stop.minimum(other.stop))

    def union(self, other: BoundingBox) -> BoundingBox:
        """The smallest box holding both."""
        return BoundingBox(self.start.minimum(other.start), self.stop.maximum(other.stop))

    def grow(self, margin: Vec3Like) -> BoundingBox:
        """Grow by ``margin`` on every side (a negative margin shrinks)."""
        m = Vec3.of(margin)
        return BoundingBox(self.start - m, self.stop + m)

    def shrink(self, margin: Vec3Like) -> BoundingBox:
        return self.grow(-Vec3.of(margin))

    def translate(self, offset: Vec3Like) -> BoundingBox:
        return BoundingBox(self.start + offset, self.stop + offset)

    def aligned_to(self, block_size: Vec3Like, grid_offset: Vec3Like = 0) -> BoundingBox:
        """The smallest box containing this one whose faces lie on the block grid."""
        b, o = Vec3.of(block_size), Vec3.of(grid_offset)
        start = (self.start - o) // b * b + o
        stop = (self.stop - o).ceildiv(b) * b + o
        return BoundingBox(start, stop)

    def is_aligned(self, block_size: Vec3Like, grid_offset: Vec3Like = 0) -> bool:
        return self.aligned_to(block_size, grid_offset) == self

    def split(self, block_size: Vec3Like) -> list[BoundingBox]:
        """Cut into boxes of ``block_size`` starting at ``start``; the last ones are clipped."""
        b = Vec3.of(block_size)
        if any(s <= 0 for s in b):
            raise InvalidBoundingBoxError(f"block size {tuple(b)} must be positive in every axis")
        ranges = [range(a, e, s) for a, e, s in zip(self.start, self.stop, b)]
        return [
            BoundingBox(Vec3(z, y, x), Vec3(z, y, x) + b).intersection(self)  # type: ignore[misc]
            for z, y, x in itertools.product(*ranges)
        ]

    def slices(self, relative_to: BoundingBox | Vec3Like | None = None) -> tuple[slice, slice, slice]:
        """Slices of this box inside an array whose origin is ``relative_to`` (its start; default: the
        global origin)."""
        return self._slices(relative_to)

    def _slices(self, relative_to: BoundingBox | Vec3Like | None = None) -> tuple[slice, slice, slice]:
        if relative_to is None:
            origin = Vec3(0, 0, 0)
        elif isinstance(relative_to, BoundingBox):
            origin = relative_to.start
        else:
            origin = Vec3.of(relative_to)
        s, e = self.start - origin, self.stop - origin
        return (slice(s.z, e.z), slice(s.y, e.y), slice(s.x, e.x))
