"""HDF5 files in chunkflow 1.2.0's layout: dataset ``main`` plus ``voxel_offset`` and
``voxel_size`` datasets (ZYX), so files from the original load here and the other way round."""

from __future__ import annotations

from typing import Any

import numpy as np

from chunkflow.chunk.base import LAYER_TYPES, Chunk
from chunkflow.errors import IncompatibleChunkError, VolumeFormatError
from chunkflow.files import atomic_path, require_exists
from chunkflow.geometry import BoundingBox, Vec3Like
from chunkflow.volumes.arrayfile import ArrayFileVolume
from chunkflow.volumes.base import strip_scheme


def _h5py():
    import h5py

    return h5py


class H5Volume(ArrayFileVolume):
    dtypes = (
        "bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
        "float16", "float32", "float64",
    )  # fmt: skip

    def __init__(self, url: str, dataset_path: str = "main", **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.dataset_path = dataset_path

    @classmethod
    def open(
        cls,
        url: str,
        dataset_path: str = "main",
        voxel_offset: Vec3Like | None = None,
        voxel_size: Vec3Like | None = None,
        layer_type: str | None = None,
        **_: Any,
    ) -> H5Volume:
        path = require_exists(strip_scheme(url), "HDF5 file")
        try:
            with _h5py().File(path, "r") as f:
                if dataset_path not in f:
                    have = ", ".join(k for k in f.keys()) or "nothing"
                    raise VolumeFormatError(
                        f"HDF5 file {str(path)!r} has no dataset {dataset_path!r} (it has: {have}); pass --dataset-path"
                    )
                dset = f[dataset_path]
                shape, dtype = dset.shape, dset.dtype
                stored_offset = f["voxel_offset"][()] if "voxel_offset" in f else 0
                stored_size = f["voxel_size"][()] if "voxel_size" in f else 1
                stored_layer = _read_layer_type(f, dset)
        except OSError as exc:
            raise VolumeFormatError(
                f"cannot read HDF5 file {str(path)!r} ({exc}); the file is corrupt or not HDF5"
            ) from None
        if len(shape) not in (3, 4):
            raise VolumeFormatError(f"dataset {dataset_path!r} in {str(path)!r} has shape {shape}; expected 3D or 4D")
        return cls(
            url,
            dataset_path=dataset_path,
            shape=shape,
            dtype=dtype,
            voxel_offset=stored_offset if voxel_offset is None else voxel_offset,
            voxel_size=stored_size if voxel_size is None else voxel_size,
            layer_type=layer_type or stored_layer,
        )

    def _read(self, bbox: BoundingBox) -> np.ndarray:
        with _h5py().File(self.path, "r") as f:
            return f[self.dataset_path][(..., *bbox.slices(self.bbox))]

    @classmethod
    def _save(cls, path: str, chunk: Chunk) -> None:
        h5py = _h5py()
        with atomic_path(path) as tmp:
            with h5py.File(tmp, "w") as f:
                f.create_dataset("main", data=chunk.array, chunks=True if chunk.array.size > 2**16 else None)
                f["voxel_offset"] = np.asarray(tuple(chunk.voxel_offset), dtype=np.int64)
                f["voxel_size"] = np.asarray(tuple(chunk.voxel_size), dtype=np.int64)
                f.attrs["layer_type"] = chunk.layer_type  # where chunkflow 1.2.0 reads it

    def _write(self, chunk: Chunk) -> None:
        if self.dataset_path != "main":
            raise IncompatibleChunkError(f"{self.url}: chunkflow writes HDF5 dataset 'main' only")
        super()._write(chunk)


def _read_layer_type(f: Any, dset: Any) -> str:
    value = f.attrs.get("layer_type", dset.attrs.get("layer_type", None))
    if isinstance(value, bytes):
        value = value.decode()
    return str(value) if value in LAYER_TYPES else "unknown"
