"""Neuroglancer precomputed volumes through cloud-volume (``file://``, ``gs://``, ``s3://``, ``https://``).

cloud-volume speaks XYZ(C); this module is the one place that converts to chunkflow's (C)ZYX.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import InvalidParameterError, VolumeFormatError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.volumes.base import check_dtype
from chunkflow.volumes.base_block import BlockVolume

__all__ = ["PrecomputedVolume", "create_info"]

ENCODINGS = ("raw", "compressed_segmentation", "jpeg", "png", "compresso", "crackle")


def _cloudvolume():  # type: ignore[no-untyped-def]
    from cloudvolume import CloudVolume

    return CloudVolume


def _normalise_url(url: str) -> str:
    if url.startswith("precomputed://"):
        url = url[len("precomputed://"):]
    if "://" not in url:
        url = "file://" + url
    return url


def create_info(
    url: str,
    *,
    volume_size: Vec3Like,
    voxel_size: Vec3Like = 1,
    voxel_offset: Vec3Like = 0,
    block_size: Vec3Like = 64,
    num_channels: int = 1,
    layer_type: str = "image",
    dtype: str | np.dtype = "uint8",
    encoding: str = "raw",
    max_mip: int = 0,
    factor: Vec3Like = (1, 2, 2),
) -> PrecomputedVolume:
    """Write a precomputed ``info`` (ZYX arguments) and return the opened volume."""
    dtype = np.dtype(dtype)
    check_dtype(dtype, PrecomputedVolume.dtypes, f"precomputed volume {url}")
    if encoding not in ENCODINGS:
        raise InvalidParameterError(f"encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
    if encoding == "compressed_segmentation" and dtype.name not in ("uint32", "uint64"):
        raise VolumeFormatError(f"compressed_segmentation stores uint32/uint64, not {dtype.name}; use raw encoding")
    if encoding in ("jpeg", "png") and dtype.name not in ("uint8", "uint16"):
        raise VolumeFormatError(f"{encoding} encoding stores uint8, not {dtype.name}; use raw encoding")
    size, block = Vec3.of(volume_size), Vec3.of(block_size)
    if any(s <= 0 for s in (*size, *block)) or num_channels <= 0:
        raise InvalidParameterError(f"volume size {tuple(size)}, block size {tuple(block)} and channels must be positive")
    cv_layer = "segmentation" if layer_type == "segmentation" else "image"
    CloudVolume = _cloudvolume()
    info = CloudVolume.create_new_info(
        num_channels=num_channels,
        layer_type=cv_layer,
        data_type=dtype.name,
        encoding=encoding,
        resolution=Vec3.of(voxel_size).xyz,
        voxel_offset=Vec3.of(voxel_offset).xyz,
        volume_size=size.xyz,
        chunk_size=block.minimum(size).xyz,
        max_mip=max_mip,
        factor=Vec3.of(factor).xyz,
    )
    info["chunkflow_layer_type"] = layer_type
    url = _normalise_url(url)
    vol = CloudVolume(url, info=info, progress=False)
    vol.commit_info()
    return PrecomputedVolume.open(url)


def ensure_mips(url: str, stop_mip: int, factor: Vec3Like = (1, 2, 2)) -> list[Vec3]:
    """Add scales up to ``stop_mip`` (each ``factor`` coarser, ZYX) where the info lacks them;
    returns the factor between each mip and the next, ZYX."""
    from cloudvolume.exceptions import InfoUnavailableError

    try:
        cv = _cloudvolume()(_normalise_url(url), progress=False)
    except InfoUnavailableError:
        raise VolumeNotFoundError(
            f"no precomputed volume at {url} (no info file); write mip 0 first (save-precomputed) or create-info"
        ) from None
    added = False
    step = Vec3.of(factor)
    while len(cv.info["scales"]) <= stop_mip:
        base = Vec3.from_xyz(int(round(r)) for r in cv.info["scales"][0]["resolution"])
        last = Vec3.from_xyz(int(round(r)) for r in cv.info["scales"][-1]["resolution"])
        cv.add_scale((last * step // base).xyz)  # cloud-volume's factor is relative to mip 0
        added = True
    if added:
        cv.commit_info()
    resolutions = [Vec3.from_xyz(int(round(r)) for r in scale["resolution"]) for scale in cv.info["scales"]]
    return [b // a for a, b in zip(resolutions, resolutions[1:])]


class PrecomputedVolume(BlockVolume):
    dtypes = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float32", "float64")

    def __init__(self, url: str, cv: Any, mip: int) -> None:
        self.url = url
        self.cv = cv
        self.mip = mip
        self.dtype = np.dtype(cv.dtype)
        self.bbox = BoundingBox.from_size(Vec3.from_xyz(cv.voxel_offset), Vec3.from_xyz(cv.volume_size))
        self.voxel_size = Vec3.from_xyz(int(round(r)) for r in cv.resolution)
        self.block_size = Vec3.from_xyz(cv.chunk_size)
        self.num_channels = int(cv.num_channels)
        self.layer_type = cv.info.get("chunkflow_layer_type") or cv.layer_type
        if self.layer_type not in ("image", "segmentation", "affinity_map", "probability_map"):
            self.layer_type = "unknown"

    @classmethod
    def open(cls, url: str, mip: int = 0, **_: Any) -> PrecomputedVolume:
        from cloudvolume.exceptions import InfoUnavailableError, ScaleUnavailableError

        url = _normalise_url(url)
        try:
            cv = _cloudvolume()(url, mip=mip, progress=False, fill_missing=False, bounded=True)
        except InfoUnavailableError:
            raise VolumeNotFoundError(
                f"no precomputed volume at {url} (no info file); create it with create-info, or let save-precomputed create it"
            ) from None
        except ScaleUnavailableError:
            raise InvalidParameterError(f"volume {url} has no mip {mip}") from None
        if "sharding" in cv.info["scales"][mip] and cls is PrecomputedVolume:
            from chunkflow.volumes.sharded import ShardedPrecomputedVolume

            return ShardedPrecomputedVolume(url, cv, mip)
        return cls(url, cv, mip)

    @classmethod
    def create(cls, url: str, like: Chunk | None = None, **options: Any) -> PrecomputedVolume:
        if like is not None:
            options.setdefault("volume_size", like.bbox.size)
            options.setdefault("voxel_offset", like.voxel_offset)
            options.setdefault("voxel_size", like.voxel_size)
            options.setdefault("num_channels", like.num_channels)
            options.setdefault("layer_type", like.layer_type)
            options.setdefault("dtype", like.dtype)
            if like.layer_type == "segmentation" and like.dtype.name in ("uint32", "uint64"):
                options.setdefault("encoding", "compressed_segmentation")
        return create_info(url, **options)

    def _read(self, bbox: BoundingBox) -> np.ndarray:
        cutout = self.cv.download(_cv_bbox(bbox), mip=self.mip)  # (X, Y, Z, C), Fortran order
        array = np.asarray(cutout).transpose(3, 2, 1, 0)  # (C, Z, Y, X), C order, no copy
        return array[0] if self.num_channels == 1 else array

    def _write(self, chunk: Chunk) -> None:
        array = chunk.array if chunk.ndim == 4 else chunk.array[np.newaxis]
        z, y, x = chunk.bbox.slices()
        self.cv[x, y, z] = array.transpose(3, 2, 1, 0)


def _cv_bbox(bbox: BoundingBox) -> Any:
    from cloudvolume.lib import Bbox

    return Bbox(bbox.start.xyz, bbox.stop.xyz)
