"""chunkflow 1.2.0's ``Chunk`` (``chunkflow.chunk.Chunk``): a subclass of our core chunk with 1.2.0's API.

Our core :class:`chunkflow.chunk.base.Chunk` knows nothing of this class; it is an adapter at the edge.
It keeps 1.2.0 user code and plugins running: constructors (``create``, ``from_array``, ``from_bbox``,
``from_h5``), ``to_h5``, ``clone``, ``astype``, ``properties``, ``transpose``, the global ``slices``,
``bbox`` as 1.2.0's ``BoundingBox`` and the small helpers 1.2.0's operators used. :func:`as_120`
views a core chunk as this class (no copy) and :func:`as_core` gives the core chunk back.
Heavy libraries load inside the methods.
"""

from __future__ import annotations

import ast
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from chunkflow.chunk import base
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox, Vec3

if TYPE_CHECKING:
    from chunkflow.compat.cartesian_coordinate import BoundingBox as BoundingBox120

__all__ = ["Chunk", "as_120", "as_core"]


def as_120(chunk: Any) -> Any:
    """``chunk`` as 1.2.0's :class:`Chunk` sharing its array (no copy); anything else unchanged."""
    if isinstance(chunk, base.Chunk) and not isinstance(chunk, Chunk):
        return Chunk._view_of(chunk)
    return chunk


def as_core(chunk: Any) -> Any:
    """A 1.2.0 chunk (or subclass) as our core :class:`chunkflow.chunk.base.Chunk` (no copy)."""
    if isinstance(chunk, Chunk):
        return base.Chunk(chunk.array, chunk.voxel_offset, chunk.voxel_size, chunk.layer_type)
    return chunk


class Chunk(base.Chunk):
    """chunkflow 1.2.0's chunk: the core chunk plus 1.2.0's methods."""

    @classmethod
    def _view_of(cls, chunk: base.Chunk) -> Any:
        new = object.__new__(cls)
        for name in ("array", "voxel_offset", "voxel_size", "layer_type"):
            object.__setattr__(new, name, getattr(chunk, name))
        return new

    def _wrap(self, result: Any) -> Any:
        if isinstance(result, np.ndarray) and result.ndim in (3, 4) and result.shape[-3:] == self.spatial_shape:
            return Chunk(result, self.voxel_offset, self.voxel_size)
        return result

    # 1.2.0's offset and voxel size were ``Cartesian`` named tuples (``voxel_offset.vec``, ``.tuple``...);
    # they are stored as our Vec3 and shown as Cartesian
    @property
    def voxel_offset(self) -> Any:
        from chunkflow.compat.cartesian_coordinate import Cartesian

        return Cartesian(*self.__dict__["voxel_offset"])

    @voxel_offset.setter
    def voxel_offset(self, value: Any) -> None:
        self.__dict__["voxel_offset"] = base._as_offset(value)

    @property
    def voxel_size(self) -> Any:
        from chunkflow.compat.cartesian_coordinate import Cartesian

        return Cartesian(*self.__dict__["voxel_size"])

    @voxel_size.setter
    def voxel_size(self, value: Any) -> None:
        self.__dict__["voxel_size"] = base._as_size(value)

    @property
    def bbox(self) -> BoundingBox120:  # type: ignore[override]
        """1.2.0's ``BoundingBox`` (``minpt``, ``maxpt``, ``string``, ``slices``...)."""
        from chunkflow.compat.cartesian_coordinate import BoundingBox as BoundingBox120

        return BoundingBox120.from_geometry(BoundingBox.from_shape(self.spatial_shape, self.voxel_offset))

    @property
    def physical_bounding_box(self) -> Any:
        """The box in nanometres (1.2.0's ``PhysicalBoundingBox``)."""
        from chunkflow.compat.cartesian_coordinate import PhysicalBoundingBox

        box = BoundingBox.from_shape(self.spatial_shape, self.voxel_offset)
        return PhysicalBoundingBox(tuple(box.start), tuple(box.stop), tuple(self.voxel_size))

    # ---- constructors -----------------------------------------------------------------------
    @classmethod
    def from_array(cls, array: np.ndarray, bbox: Any, voxel_size: Any = None) -> Chunk:
        """A chunk of ``array`` placed at the start of ``bbox``."""
        start = getattr(bbox, "minpt", None) or bbox.start
        return cls(array, voxel_offset=tuple(start), voxel_size=voxel_size)

    @classmethod
    def from_bbox(cls, bbox: Any, dtype: Any = np.uint8, pattern: str = "zero", voxel_size: Any = None) -> Chunk:
        """A chunk covering ``bbox`` filled by ``pattern`` (zero, sin, random)."""
        start, stop = Vec3.of(tuple(bbox.start)), Vec3.of(tuple(bbox.stop))
        return cls.create(
            size=tuple(stop - start), dtype=dtype, voxel_offset=start, voxel_size=voxel_size, pattern=pattern
        )

    @classmethod
    def create(
        cls,
        size: Any = (64, 64, 64),
        dtype: Any = np.uint8,
        voxel_offset: Any = (0, 0, 0),
        voxel_size: Any = None,
        pattern: str = "sin",
        high: int = 255,
    ) -> Chunk:
        """A test chunk of ``size`` (3 or 4 values) as 1.2.0 made it: ``sin`` (|sin(4(x+y+z))| on a unit
        grid; scaled to 0..255 for uint8, connected components of > 0.5 for wider integers), ``random``
        (connected components of random integers below ``high`` for integer types) or ``zero``."""
        dtype = np.dtype(dtype)
        size = tuple(int(s) for s in size)
        if pattern == "zero":
            array = np.zeros(size, dtype=dtype)
        elif pattern == "sin":
            grids = np.meshgrid(*[np.linspace(0, 1, n) for n in size[-3:]], indexing="ij")
            array = np.abs(np.sin(4 * (grids[0] + grids[1] + grids[2])))
            if len(size) == 4:
                array = np.repeat(array[np.newaxis], size[0], axis=0)
            if dtype == np.uint8:
                array = (array * 255).astype(dtype)
            elif dtype in (np.uint16, np.uint32, np.uint64):
                import cc3d

                array = cc3d.connected_components((array > 0.5).astype(dtype), connectivity=6)
            elif np.issubdtype(dtype, np.floating):
                array = array.astype(dtype)
            else:
                raise InvalidParameterError(
                    f"pattern 'sin' does not support dtype {dtype}; use uint8, uint16-64 or float"
                )
        elif pattern == "random":
            if np.issubdtype(dtype, np.floating):
                array = np.random.rand(*size).astype(dtype)
            elif np.issubdtype(dtype, np.integer):
                import cc3d

                array = cc3d.connected_components(np.random.randint(high, size=size, dtype=dtype), connectivity=6)
            else:
                raise InvalidParameterError(f"pattern 'random' does not support dtype {dtype}")
        else:
            raise InvalidParameterError(f"unknown pattern {pattern!r}; use zero, sin or random")
        return cls(array, voxel_offset=voxel_offset, voxel_size=voxel_size)

    @classmethod
    def from_h5(
        cls,
        file_name: str,
        voxel_offset: Any = None,
        dataset_path: str | None = None,
        voxel_size: Any = None,
        channels: str | None = None,
        cutout_start: Any = None,
        cutout_stop: Any = None,
        cutout_size: Any = None,
        dtype: Any = None,
        layer_type: str | None = None,
    ) -> Chunk | None:
        """Read an HDF5 file in 1.2.0's layout (``main``, ``voxel_offset``, ``voxel_size``, attribute
        ``layer_type``). A path that is not a file is a prefix: ``<prefix><bbox>.h5`` is read, and
        ``None`` returned where it does not exist (as 1.2.0 did)."""
        import h5py

        file_name = os.path.expanduser(file_name)
        if cutout_start is not None and cutout_size is not None and cutout_stop is None:
            cutout_stop = tuple(int(t) + int(s) for t, s in zip(cutout_start, cutout_size))
        if not os.path.isfile(file_name):
            if cutout_start is None or cutout_stop is None:
                raise VolumeNotFoundError(f"HDF5 file {file_name!r} does not exist")
            file_name += f"{BoundingBox(Vec3.of(cutout_start), Vec3.of(cutout_stop))}.h5"
            if not os.path.isfile(file_name) or os.path.getsize(file_name) == 0:
                return None
        with h5py.File(file_name, "r") as f:
            if dataset_path is None:
                dataset_path = next(k for k in f.keys() if not any(w in k for w in ("global", "offset", "unique")))
            dset = f[dataset_path]
            offset = Vec3.of(tuple(f["voxel_offset"])[-3:]) if voxel_offset is None and "voxel_offset" in f else None
            offset = offset if voxel_offset is None else Vec3.of(tuple(voxel_offset)[-3:])
            offset = offset or Vec3(0, 0, 0)
            if voxel_size is None and "voxel_size" in f:
                voxel_size = tuple(int(v) for v in f["voxel_size"])
            if layer_type is None and "layer_type" in f.attrs:
                value = f.attrs["layer_type"]
                layer_type = value.decode() if isinstance(value, bytes) else str(value)
            start = Vec3.of(tuple(cutout_start)) if cutout_start is not None else offset
            if cutout_stop is not None:
                stop = Vec3.of(tuple(cutout_stop))
            else:
                size = list(cutout_size) if cutout_size is not None else list(dset.shape[-3:])
                size = [dset.shape[i - 3] if s < 0 else s for i, s in enumerate(size)]
                stop = start + size
            box = BoundingBox(start, stop)
            if not BoundingBox.from_shape(dset.shape, offset).contains(box):
                raise IncompatibleChunkError(
                    f"cutout {box} is outside {file_name} ({BoundingBox.from_shape(dset.shape, offset)})"
                )
            index = (_channel_index(channels), *box.slices(offset))
            array = np.asarray(dset[index])
        if dtype is not None:
            array = array.astype(dtype)
        return cls(array, voxel_offset=start, voxel_size=voxel_size, layer_type=layer_type)

    def to_h5(
        self,
        file_name: str,
        with_offset: bool = True,
        chunk_size: Any = (8, 8, 8),
        with_unique: bool = True,
        compression: str | None = "gzip",
        voxel_size: Any = None,
    ) -> str:
        """Write 1.2.0's HDF5 layout (atomically); a name not ending in ``.h5`` gets ``<bbox>.h5``
        appended. Returns the file name."""
        import h5py

        if not file_name.endswith(".h5"):
            file_name += f"{base.box_of(self)}.h5"
        chunks = None
        if chunk_size:
            chunks = tuple(
                min(int(c), n) for c, n in zip((1,) * (self.array.ndim - 3) + tuple(chunk_size), self.array.shape)
            )
            chunks = chunks[-self.array.ndim :]
        from chunkflow.files import atomic_path

        # the temporary is the one every writer uses: a killed writer's is swept by the next one
        with atomic_path(file_name) as aside, h5py.File(aside, "w") as f:
            f.create_dataset("main", data=self.array, chunks=chunks, compression=compression or None)
            f.create_dataset("voxel_size", data=np.asarray(tuple(voxel_size or self.voxel_size)))
            f.attrs["layer_type"] = self.layer_type
            if with_offset:
                f.create_dataset("voxel_offset", data=np.asarray(tuple(self.voxel_offset)))
            if with_unique and self.is_segmentation:
                unique = np.unique(self.array)
                f.create_dataset("unique_nonzeros", data=unique[unique != 0])
        return file_name

    @classmethod
    def from_tif(
        cls,
        file_name: str,
        voxel_offset: Any = None,
        dtype: Any = None,
        voxel_size: Any = None,
        layer_type: str | None = None,
    ) -> Chunk:
        """Read a TIFF stack (a TIFF holds no offset: ``voxel_offset`` or 0)."""
        import tifffile

        array = tifffile.imread(os.path.expanduser(file_name))
        if dtype is not None:
            array = array.astype(dtype)
        return cls(array, voxel_offset=voxel_offset, voxel_size=voxel_size, layer_type=layer_type)

    def to_tif(self, file_name: str | None = None) -> str:
        """Write the array as a TIFF stack (default name ``<bbox>.tif``); the offset is not kept."""
        import tifffile

        file_name = file_name or f"{base.box_of(self)}.tif"
        tifffile.imwrite(os.path.expanduser(file_name), self.array)
        return file_name

    # ---- copies and conversions -------------------------------------------------------------
    def clone(self) -> Chunk:
        """A deep copy (the array is copied)."""
        return self._placed(self.array.copy())

    def astype(self, dtype: Any, **kwargs: Any) -> Chunk:
        """The chunk in another dtype (the same object where the dtype is already that), keeping placement
        and layer type."""
        if dtype is None or np.dtype(dtype) == self.array.dtype:
            return self
        return self._placed(self.array.astype(dtype, **kwargs))

    def ascontiguousarray(self) -> Chunk:
        return self._placed(np.ascontiguousarray(self.array))

    def max(self, *args: Any, **kwargs: Any) -> Any:
        return self.array.max(*args, **kwargs)

    def min(self, *args: Any, **kwargs: Any) -> Any:
        return self.array.min(*args, **kwargs)

    def fill(self, value: Any) -> None:
        self.array.fill(value)

    def transpose(self, only_array: bool = False) -> Chunk:
        """All axes reversed; the offset and voxel size too unless ``only_array``."""
        flip = not only_array
        return Chunk(
            self.array.transpose(),
            voxel_offset=tuple(self.voxel_offset)[::-1] if flip else self.voxel_offset,
            voxel_size=tuple(self.voxel_size)[::-1] if flip else self.voxel_size,
        )

    # ---- 1.2.0 properties ---------------------------------------------------------------------
    @property
    def properties(self) -> dict[str, Any]:
        """``voxel_offset``, ``voxel_size`` (where not 1 1 1) and ``layer_type``."""
        props: dict[str, Any] = {"voxel_offset": self.voxel_offset}
        if self.voxel_size != (1, 1, 1):
            props["voxel_size"] = self.voxel_size
        props["layer_type"] = self.layer_type
        return props

    @properties.setter
    def properties(self, value: dict[str, Any]) -> None:
        self.set_properties(value)

    def set_properties(self, properties: dict[str, Any]) -> None:
        for key in ("voxel_offset", "voxel_size", "layer_type"):
            if key in properties:
                setattr(self, key, properties[key])

    @property
    def ndoffset(self) -> tuple[int, ...]:
        """The offset with a 0 for the channel axis of a 4D chunk."""
        return (0, *self.voxel_offset) if self.array.ndim == 4 else tuple(self.voxel_offset)

    @property
    def slices(self) -> tuple[slice, ...]:
        """Global slices of the whole array (the channel axis starts at 0)."""
        return tuple(slice(o, o + s) for o, s in zip(self.ndoffset, self.array.shape))

    @property
    def voxel_stop(self) -> tuple[int, ...]:
        return tuple(o + s for o, s in zip(self.ndoffset, self.array.shape))

    @property
    def start(self) -> Vec3:
        return self.voxel_offset

    @property
    def stop(self) -> Any:
        return self.bbox.stop

    @property
    def bounding_box(self) -> BoundingBox120:
        return self.bbox

    @property
    def flags(self) -> Any:
        return self.array.flags

    @property
    def size(self) -> int:
        return int(self.array.size)

    # ---- small operations 1.2.0's operators used ----------------------------------------------
    def shrink(self, size: Any) -> None:
        """Crop in place by 3 or 6 values (-z -y -x +z +y +x)."""
        cropped = self.crop_margin(margin_size=size)
        self.array, self.voxel_offset = cropped.array, cropped.voxel_offset

    def squeeze_channel(self, axis: int = 0) -> Chunk:
        if self.array.ndim != 4:
            raise IncompatibleChunkError(f"squeeze_channel needs a 4D chunk, got shape {self.array.shape}")
        return self._placed(np.squeeze(self.array, axis=axis), layer_type="unknown")

    def channel_voting(self) -> Chunk:
        """Per voxel, 1 + the index of the largest channel (uint8 segmentation)."""
        if self.array.ndim != 4 or self.array.shape[0] > 255:
            raise IncompatibleChunkError(
                f"channel voting needs a 4D chunk of at most 255 channels, got {self.array.shape}"
            )
        out = np.argmax(self.array, axis=0).astype(np.uint8)
        out += 1
        return self._placed(out, layer_type="segmentation")

    def mask_using_last_channel(self, threshold: float = 0.3) -> Chunk:
        """Zero the other channels where the last one is at or above ``threshold`` (in place, as 1.2.0)."""
        kept = self.array[:-1]
        kept *= self.array[-1] < threshold
        return self._placed(kept)

    def threshold(self, threshold: float) -> Chunk:
        """uint8 ``array > threshold`` (a single channel is squeezed)."""
        array = self.array > threshold
        if array.ndim == 4:
            if array.shape[0] != 1:
                raise IncompatibleChunkError(f"threshold needs 1 channel, got {array.shape[0]}")
            array = array[0]
        return self._placed(array.astype(np.uint8), layer_type="segmentation")

    def connected_component(self, threshold: float | None = None, connectivity: int = 6) -> Chunk:
        import cc3d

        array = self.array if self.is_segmentation or threshold is None else self.threshold(threshold).array
        labels = cc3d.connected_components(array, connectivity=connectivity)  # type: ignore[call-overload]
        return self._placed(labels, layer_type="segmentation")

    def where(self, mask: np.ndarray) -> tuple[np.ndarray, ...]:
        """Global coordinates of the voxels where ``mask`` is true."""
        return tuple(i + o for i, o in zip(np.where(np.asarray(mask)), self.ndoffset))

    def add_overlap(self, other: Chunk) -> None:
        self.blend(other)

    def save(self, patch: Chunk) -> None:
        """Write ``patch`` (inside this chunk) into it, in place."""
        inside, outside = base.box_of(self), base.box_of(patch)
        if not inside.contains(outside):
            raise IncompatibleChunkError(f"patch {outside} is not inside chunk {inside}")
        self.paste(patch)

    def maskout(self, chunk: Chunk) -> None:
        """Multiply ``chunk`` (a finer voxel size dividing this one's) by this mask, in place."""
        factor = Vec3.of(self.voxel_size) // chunk.voxel_size
        if any(a % b for a, b in zip(self.voxel_size, chunk.voxel_size)) or any(f < 1 for f in factor):
            raise IncompatibleChunkError(
                f"mask voxel size {tuple(self.voxel_size)} must be a multiple of {tuple(chunk.voxel_size)}"
            )
        for oz, oy, ox in np.ndindex(*factor):
            target = chunk.array[..., oz :: factor.z, oy :: factor.y, ox :: factor.x]
            target *= self.array[..., : target.shape[-3], : target.shape[-2], : target.shape[-1]]

    def gaussian_filter_2d(self, sigma: Any = 1) -> None:
        """Gaussian smoothing of each section, in place."""
        from scipy.ndimage import gaussian_filter

        for z in range(self.array.shape[-3]):
            self.array[..., z, :, :] = gaussian_filter(self.array[..., z, :, :], sigma)

    def validate(self) -> bool:
        """1.2.0's black-box check (:func:`chunkflow.compat.validate.validate_by_template_matching`)."""
        from chunkflow.compat.validate import validate_by_template_matching

        return validate_by_template_matching(self.array)


def _channel_index(channels: str | None) -> Any:
    """1.2.0 evaluated ``channels`` as Python; here an int, a list of ints or a slice ``a:b``."""
    if channels is None:
        return Ellipsis
    if ":" in channels:
        parts = [int(p) if p.strip() else None for p in channels.split(":")]
        return slice(*parts)
    value = ast.literal_eval(channels)
    return list(value) if isinstance(value, (list, tuple)) else int(value)
