"""Neuroglancer precomputed volumes through cloud-volume (``file://``, ``gs://``, ``s3://``, ``https://``).

cloud-volume speaks XYZ(C); this module is the one place that converts to chunkflow's (C)ZYX.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import InvalidParameterError, StorageError, VolumeFormatError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.redact import redact
from chunkflow.volumes.base import check_dtype, strip_scheme
from chunkflow.volumes.base_block import BlockVolume

__all__ = ["PrecomputedVolume", "create_info", "ensure_mips", "update_info", "info_url"]

ENCODINGS = ("raw", "compressed_segmentation", "jpeg", "png", "compresso", "crackle")


def _cloudvolume():
    from cloudvolume import CloudVolume

    _atomic_local_writes()
    _bound_remote_attempts()
    return CloudVolume


def _bound_remote_attempts() -> None:
    """``CHUNKFLOW_REMOTE_ATTEMPTS`` and no retries of permanent errors (:func:`chunkflow.files.bound_remote_attempts`)."""
    from chunkflow.files import bound_remote_attempts

    bound_remote_attempts()


_PATCHED = False


def _atomic_local_writes() -> None:
    """Make cloud-files' local (``file://``) writes atomic: write aside, rename into place.

    cloud-files opens the final name and writes into it, so a killed writer leaves a truncated
    block (or an empty ``info``) that readers then fail on. This replaces only the innermost
    write of ``FileInterface.put_file``: the same name, extension and locking, through
    :func:`chunkflow.volumes.base.write_atomic` (which also gives the umask's file mode).
    """
    global _PATCHED
    if _PATCHED:
        return
    import os
    import re

    from cloudfiles.interfaces import FileInterface

    from chunkflow.files import write_atomic

    def put_file(self, file_path, content, content_type, compress, cache_control=None, storage_class=None):
        path = self.get_path_to_file(file_path)
        lock_path = path
        compress_ext = self.get_extension(compress)
        if os.path.splitext(path)[1] != compress_ext:
            path += compress_ext
        if content and isinstance(content, str) and content_type and re.search("json|te?xt", content_type):
            content = content.encode("utf-8")
        if isinstance(content, str):
            content = content.encode("utf-8")
        return self.io_with_lock(lambda: write_atomic(path, content), lock_path, exclusive=True)

    FileInterface.put_file = put_file
    _PATCHED = True


def _normalise_url(url: str) -> str:
    """The cloud-volume URL of ``url``: ``precomputed://`` removed, a bare path made ``file://``."""
    url = strip_scheme(url, keep_storage=True)
    return url if "://" in url else "file://" + url


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
    clip_block_size: bool = True,
) -> PrecomputedVolume:
    """Write a precomputed ``info`` (ZYX arguments) and return the opened volume. The block size is
    clipped to the volume size unless ``clip_block_size`` is false (1.2.0's ``from_numpy`` kept it)."""
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
        raise InvalidParameterError(
            f"volume size {tuple(size)}, block size {tuple(block)} and channels must be positive"
        )
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
        chunk_size=(block.minimum(size) if clip_block_size else block).xyz,
        max_mip=max_mip,
        factor=Vec3.of(factor).xyz,
    )
    info["chunkflow_layer_type"] = layer_type
    url = _normalise_url(url)
    vol = CloudVolume(url, info=info, progress=False)
    vol.commit_info()
    return PrecomputedVolume.open(url)


def info_url(url: str) -> str:
    """Where the ``info`` of the precomputed volume ``url`` lives, as a :mod:`chunkflow.files` URL."""
    from chunkflow import files

    url = _normalise_url(url)
    return files.join(url.removeprefix("file://") if url.startswith("file://") else url, "info")


def update_info(url: str, update: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """Read-modify-write the ``info`` of ``url`` (adding scales, mesh or skeleton keys) by compare-and-swap
    (:func:`chunkflow.files.update_json`): concurrent writers on a disk or a bucket never lose each other's
    change, and no lock object is left on a bucket. ``update`` gets a copy and returns the new info."""
    from chunkflow import files

    def step(info: Any) -> Any:
        if info is None:
            raise VolumeNotFoundError(
                f"no precomputed volume at {url} (no info file); write mip 0 first (save-precomputed) or create-info"
            )
        check_info(info, url)
        return update(info)

    return files.update_json(info_url(url), step, what=f"the info file of {url}")


def ensure_mips(url: str, stop_mip: int, factor: Vec3Like = (1, 2, 2)) -> list[Vec3]:
    """Add scales up to ``stop_mip`` (each ``factor`` coarser, ZYX) where the info lacks them;
    returns the factor between each mip and the next, ZYX. Safe with concurrent callers, on disk and buckets."""
    step = Vec3.of(factor)

    def add(info: dict[str, Any]) -> dict[str, Any]:
        if len(info["scales"]) > stop_mip:
            return info
        cv = _cloudvolume()(_normalise_url(url), info=info, progress=False)
        while len(cv.info["scales"]) <= stop_mip:
            base = Vec3.from_xyz(int(round(r)) for r in cv.info["scales"][0]["resolution"])
            last = Vec3.from_xyz(int(round(r)) for r in cv.info["scales"][-1]["resolution"])
            cv.add_scale((last * step // base).xyz)  # cloud-volume's factor is relative to mip 0
        return dict(cv.info)

    info = update_info(url, add)
    resolutions = [Vec3.from_xyz(int(round(r)) for r in scale["resolution"]) for scale in info["scales"]]
    return [b // a for a, b in zip(resolutions, resolutions[1:])]


def _cannot_open(url: str, exc: BaseException) -> VolumeFormatError | StorageError:
    from chunkflow import files

    name = type(exc).__name__
    if files.is_remote(url) and not isinstance(exc, (ValueError, TypeError, KeyError, IndexError, AttributeError)):
        return files.storage_error(url, exc)  # the store's own failure: no bucket, no credentials, no answer
    if "JSONDecode" in name or isinstance(exc, (ValueError, TypeError, KeyError, IndexError, AttributeError)):
        what = (
            f"its info file is not valid precomputed metadata ({name}: {exc}); fix it, or recreate it with create-info"
        )
    elif "Credential" in name or "Auth" in name:
        what = f"no usable credentials ({name}: {exc}); set up access to this bucket first"
    else:
        what = f"{name}: {exc}; check the URL and that the server is reachable"
    return VolumeFormatError(redact(f"cannot open precomputed volume {url}: {what}")[:1000].replace("\n", " "))


_LIMIT = 2**31 - 1  # cloud-volume computes with int32 in places


def check_info(info: Any, url: str) -> None:
    """Refuse metadata that would fail later deep inside cloud-volume (or read wrong data)."""

    def bad(why: str) -> VolumeFormatError:
        return VolumeFormatError(
            f"the info file of {redact(url)} is invalid: {why}; fix it, or recreate it with create-info"
        )

    if not isinstance(info, dict):
        raise bad(f"a JSON {type(info).__name__}, not an object")
    scales = info.get("scales")
    if not isinstance(scales, list) or not scales:
        raise bad("'scales' is empty or missing")
    try:
        dtype = np.dtype(info.get("data_type"))
    except TypeError:
        dtype = None
    if dtype is None or dtype.name not in PrecomputedVolume.dtypes:
        raise bad(f"data_type {info.get('data_type')!r} is not one of {', '.join(PrecomputedVolume.dtypes)}")
    channels = info.get("num_channels", 1)
    if not isinstance(channels, int) or not 1 <= channels <= 4096:
        raise bad(f"num_channels {channels!r} is not a positive integer")
    for i, scale in enumerate(scales):
        if not isinstance(scale, dict):
            raise bad(f"scale {i} is not an object")
        for key, positive in (("size", True), ("voxel_offset", False), ("resolution", True)):
            value = scale.get(key, [0, 0, 0] if key == "voxel_offset" else None)
            if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, (int, float)) for v in value)):
                raise bad(f"scale {i} {key} {value!r} is not three numbers")
            if any((positive and v <= 0) or abs(v) > _LIMIT for v in value):
                raise bad(f"scale {i} {key} {value} is out of range (positive where a size, below 2**31)")
        chunks = scale.get("chunk_sizes")
        if not (
            isinstance(chunks, list)
            and chunks
            and all(
                isinstance(c, list) and len(c) == 3 and all(isinstance(v, int) and 0 < v <= _LIMIT for v in c)
                for c in chunks
            )
        ):
            raise bad(f"scale {i} chunk_sizes {chunks!r} is not a list of three positive integers")


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
                f"no precomputed volume at {redact(url)} (no info file); create it with create-info, or let save-precomputed create it"
            ) from None
        except ScaleUnavailableError:
            raise InvalidParameterError(f"volume {redact(url)} has no mip {mip}") from None
        except Exception as exc:  # noqa: BLE001 - unreadable info, unreachable server, no credentials
            raise _cannot_open(url, exc) from None
        check_info(cv.info, url)
        if "sharding" in cv.info["scales"][mip] and cls is PrecomputedVolume:
            from chunkflow.volumes.sharded import ShardedPrecomputedVolume

            return ShardedPrecomputedVolume(url, cv, mip)
        return cls(url, cv, mip)

    @classmethod
    def create(cls, url: str, like: Chunk | None = None, **options: Any) -> PrecomputedVolume:
        if like is not None:
            options.setdefault("volume_size", Vec3.of(like.shape[-3:]))
            options.setdefault("voxel_offset", like.voxel_offset)
            options.setdefault("voxel_size", like.voxel_size)
            options.setdefault("num_channels", like.num_channels)
            options.setdefault("layer_type", like.layer_type)
            options.setdefault("dtype", like.dtype)
            if like.layer_type == "segmentation" and like.dtype.name in ("uint32", "uint64"):
                options.setdefault("encoding", "compressed_segmentation")
        return create_info(url, **options)

    def _read(self, bbox: BoundingBox) -> np.ndarray:
        return self._read_inside(bbox, False)

    def _read_inside(self, bbox: BoundingBox, fill: bool) -> np.ndarray:
        try:
            array = self._download(bbox, fill)
        except Exception as exc:  # noqa: BLE001 - a missing or undecodable block, named below
            array = self._read_block_by_block(bbox, fill, exc)
        return array[0] if self.num_channels == 1 else array

    def _download(self, bbox: BoundingBox, fill_missing: bool) -> np.ndarray:
        cv = self.cv
        if fill_missing:
            if getattr(self, "_cv_fill", None) is None:
                self._cv_fill = _cloudvolume()(self.url, mip=self.mip, progress=False, fill_missing=True, bounded=True)
            cv = self._cv_fill
        cutout = cv.download(_cv_bbox(bbox), mip=self.mip)  # (X, Y, Z, C), Fortran order
        return np.asarray(cutout).transpose(3, 2, 1, 0)  # (C, Z, Y, X), C order, no copy

    def _read_block_by_block(self, bbox: BoundingBox, fill_missing: bool, first_error: BaseException) -> np.ndarray:
        """After a failed read: find the blocks that are missing or corrupt and name them, or (with
        ``fill_missing``) read them as zeros."""
        from cloudvolume.exceptions import EmptyVolumeException

        out = np.zeros((self.num_channels, *bbox.shape), dtype=self.dtype)
        for block, part in self.blocks_touching(bbox):
            try:
                out[(slice(None), *part.slices(bbox))] = self._download(part, False)
            except EmptyVolumeException:
                if not fill_missing:
                    raise VolumeFormatError(
                        f"block {self._block_name(block)} of {self.url} is missing (reading {bbox}); run the task "
                        "that writes it, or pass --fill-missing to read missing blocks as zeros"
                    ) from None
            except Exception as exc:  # noqa: BLE001 - undecodable: truncated, garbled, wrong size
                if not fill_missing:
                    raise VolumeFormatError(
                        f"block {self._block_name(block)} of {self.url} is corrupt ({type(exc).__name__}: {exc}); "
                        f"rerun the task that writes {block}, or pass --fill-missing to read it as zeros"
                    ) from None
        touches = bbox.aligned_to(self.block_size, self.bbox.start).intersection(self.bbox) is not None
        if not fill_missing and touches:  # every block read alone: the first failure was elsewhere
            raise VolumeFormatError(f"cannot read {bbox} of {self.url}: {type(first_error).__name__}: {first_error}")
        return out

    def _block_name(self, block: BoundingBox) -> str:
        key = self.cv.meta.key(self.mip)
        (x0, y0, z0), (x1, y1, z1) = block.start.xyz, block.stop.xyz
        return f"{key}/{x0}-{x1}_{y0}-{y1}_{z0}-{z1}"

    def _write(self, chunk: Chunk) -> None:
        array = chunk.array if chunk.ndim == 4 else chunk.array[np.newaxis]
        z, y, x = chunk.bbox.slices()
        self.cv[x, y, z] = array.transpose(3, 2, 1, 0)


def _cv_bbox(bbox: BoundingBox) -> Any:
    from cloudvolume.lib import Bbox

    return Bbox(bbox.start.xyz, bbox.stop.xyz)
