"""Sharded neuroglancer precomputed images (``neuroglancer_uint64_sharded_v1``) through cloud-volume.

A shard file holds many storage blocks; it can only be written whole, so a writer must own every
block of it. :class:`ShardedPrecomputedVolume` therefore accepts writes that cover whole shards (one
shard for a transfer task; a pyramid task may cover several shards of a coarser mip) and refuses
anything else with the task size that works. Shard files are built by cloud-volume
(``make_shard``) and, on ``file://``, renamed into place so a reader never sees half a shard.

Shard specs follow igneous's rules (cloud-volume's ``compute_shard_params_for_image``): uncompressed
shards up to ``shard_bytes`` (default 3.5 GB, so compressed shards stay well under 2 GB), shard index
≤ 8 KiB, minishard indices ≤ ~40 KB. Scales above the first are *nested* where Morton order allows:
each of their shards lies inside one shard of the scale below, so a task that writes one shard at mip
``c`` writes whole shards of the pyramid above ``c`` in the same pass, as far as a mip-k block (block
× factor^k voxels at ``c``) fits in it; beyond, pyramid tasks span several shards
(:func:`chunkflow.volumes.plan.pyramid_unit`, printed by ``chunkflow plan``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError, VolumeFormatError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.volumes.precomputed import PrecomputedVolume, _cv_bbox, _normalise_url

__all__ = [
    "ShardedPrecomputedVolume",
    "DEFAULT_SHARD_BYTES",
    "shard_spec",
    "shard_shape",
    "nested_shard_spec",
    "shard_scales",
    "shard_info",
    "pyramid_volumes",
    "sharded_task_size",
]

#: igneous's MEMORY_TARGET: the uncompressed size of one shard
DEFAULT_SHARD_BYTES = int(3.5e9)


def _sharding():
    from cloudvolume.datasource.precomputed import sharding

    return sharding


def _clean(spec: Any) -> dict[str, Any]:
    """A JSON-safe dict (cloud-volume returns numpy integers)."""
    raw = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
    return {k: (int(v) if isinstance(v, (int, np.integer)) else v) for k, v in raw.items()}


def shard_spec(
    volume_size: Vec3Like,
    block_size: Vec3Like,
    dtype: Any,
    encoding: str = "raw",
    shard_bytes: int = DEFAULT_SHARD_BYTES,
) -> dict[str, Any]:
    """igneous's recommended spec for a scale of ``volume_size`` in ``block_size`` blocks (ZYX)."""
    size, block = Vec3.of(volume_size), Vec3.of(block_size)
    if shard_bytes < block.prod() * np.dtype(dtype).itemsize:
        raise InvalidParameterError(
            f"shard size {shard_bytes} bytes is smaller than one block {tuple(block)} of {np.dtype(dtype).name}; "
            f"give --shard-bytes of at least {block.prod() * np.dtype(dtype).itemsize}"
        )
    try:
        spec = _sharding().compute_shard_params_for_image(
            size.xyz, block.xyz, encoding, np.dtype(dtype).name, uncompressed_shard_bytesize=int(shard_bytes)
        )
    except ValueError as exc:
        raise InvalidParameterError(
            f"no shard spec fits a volume of {tuple(size)} in blocks of {tuple(block)}: {exc}; use larger blocks"
        ) from None
    return _clean(spec)


def shard_shape(spec: dict[str, Any], volume_size: Vec3Like, block_size: Vec3Like) -> Vec3:
    """The box one shard covers (ZYX voxels; shards at the volume's upper faces are clipped)."""
    shape = _sharding().image_shard_shape_from_spec(spec, Vec3.of(volume_size).xyz, Vec3.of(block_size).xyz)
    return Vec3.from_xyz(int(v) for v in shape)


def _fits(inner: Vec3, factor: Vec3, outer: Vec3, outer_volume: Vec3) -> bool:
    """Whether every shard of ``inner`` (one mip up, ``factor`` coarser) lies inside one ``outer`` shard."""
    return all(o >= v or o % (i * f) == 0 for i, f, o, v in zip(inner, factor, outer, outer_volume))


def nested_shard_spec(
    volume_size: Vec3Like,
    block_size: Vec3Like,
    dtype: Any,
    encoding: str,
    factor: Vec3Like,
    outer_shape: Vec3Like,
    outer_volume_size: Vec3Like,
    shard_bytes: int = DEFAULT_SHARD_BYTES,
) -> dict[str, Any] | None:
    """The largest igneous-style spec for a scale ``factor`` coarser than one with shards of
    ``outer_shape`` whose every shard lies inside one of those; ``None`` when none does."""
    size, block, f = Vec3.of(volume_size), Vec3.of(block_size), Vec3.of(factor)
    outer, outer_volume = Vec3.of(outer_shape), Vec3.of(outer_volume_size)
    block_bytes = block.prod() * np.dtype(dtype).itemsize
    bits = max(0, int(math.log2(max(1, shard_bytes // block_bytes))))
    for t in range(bits, -1, -1):
        spec = shard_spec(size, block, dtype, encoding, shard_bytes=block_bytes * 2**t)
        if _fits(shard_shape(spec, size, block), f, outer, outer_volume):
            return spec
    return None


def _scale_voxels(scale: dict[str, Any]) -> tuple[Vec3, Vec3]:
    return Vec3.from_xyz(scale["size"]), Vec3.from_xyz(scale["chunk_sizes"][0])


def shard_scales(url: str, mips: range | list[int] | None = None, shard_bytes: int = DEFAULT_SHARD_BYTES) -> None:
    """Add a shard spec to the scales ``mips`` (default: all) of an existing precomputed info."""
    from cloudvolume import CloudVolume

    cv = CloudVolume(_normalise_url(url), progress=False)
    shard_info(cv.info, mips, shard_bytes)
    cv.commit_info()


def shard_info(
    info: dict[str, Any], mips: range | list[int] | None = None, shard_bytes: int = DEFAULT_SHARD_BYTES
) -> None:
    """Add shard specs to the scales ``mips`` (default: all) of a precomputed ``info`` dict, in place.

    A scale whose scale below is sharded gets the largest spec nested in it (each of its shards inside
    one shard below), so one task per shard below writes it whole; where none nests, igneous's spec
    (and pyramid tasks from below then span several shards: :func:`chunkflow.volumes.plan.pyramid_unit`).
    """
    scales = info["scales"]
    mips = range(len(scales)) if mips is None else mips
    dtype = np.dtype(info["data_type"])
    for mip in mips:
        scale = scales[mip]
        size, block = _scale_voxels(scale)
        spec = None
        below = scales[mip - 1] if mip > 0 else None
        if below is not None and "sharding" in below:
            below_size, below_block = _scale_voxels(below)
            factor = Vec3.from_xyz(round(b / a) for a, b in zip(below["resolution"], scale["resolution"]))
            outer = shard_shape(below["sharding"], below_size, below_block)
            spec = nested_shard_spec(size, block, dtype, scale["encoding"], factor, outer, below_size, shard_bytes)
        scale["sharding"] = spec or shard_spec(size, block, dtype, scale["encoding"], shard_bytes)


def sharded_task_size(url: str, mip: int, chunk_size: Vec3Like | None) -> Vec3 | None:
    """For ``generate-tasks -v URL``: ``None`` when ``url``'s mip is not sharded; else the task size,
    one shard by default. A given ``chunk_size`` must be whole shards (a multiple of the shard shape, or
    the whole axis), so that no shard is ever split between tasks; anything else is refused."""
    from chunkflow.volumes import open_volume

    volume = open_volume(url, mip=mip)
    if not isinstance(volume, ShardedPrecomputedVolume):
        return None
    if chunk_size is None:
        return volume.shard_shape
    size = Vec3.of(chunk_size)
    if any(c % s and c < v for c, s, v in zip(size, volume.shard_shape, volume.bbox.size)):
        want = " ".join(map(str, volume.shard_shape))
        raise InvalidParameterError(
            f"task size {tuple(size)} would split shards of {url} mip {mip} (shard size {tuple(volume.shard_shape)}): "
            f"a shard is written whole by one task; use generate-tasks -c {want} (one task per shard, the default) "
            "or a multiple of it"
        )
    return size


class ShardedPrecomputedVolume(PrecomputedVolume):
    """A sharded precomputed scale: reads anywhere, writes of whole shards only."""

    def __init__(self, url: str, cv: Any, mip: int) -> None:
        super().__init__(url, cv, mip)
        self.spec = dict(cv.info["scales"][mip]["sharding"])
        if self.spec.get("@type") != "neuroglancer_uint64_sharded_v1":
            raise VolumeFormatError(
                f"{url} mip {mip} has sharding {self.spec.get('@type')!r}; chunkflow writes "
                "neuroglancer_uint64_sharded_v1"
            )
        self.shard_shape = shard_shape(self.spec, self.bbox.size, self.block_size)

    def shard_boxes(self, region: BoundingBox | None = None) -> list[BoundingBox]:
        """The shards (clipped to the volume) that meet ``region`` (default: all)."""
        region = self.bbox if region is None else region.intersection(self.bbox)
        if region is None:
            return []
        grid = region.aligned_to(self.shard_shape, self.bbox.start)
        return [b for b in (box.intersection(self.bbox) for box in grid.split(self.shard_shape)) if b is not None]

    def check_aligned(self, bbox: BoundingBox) -> None:
        grid = bbox.aligned_to(self.shard_shape, self.bbox.start).intersection(self.bbox)
        if grid != bbox:
            raise IncompatibleChunkError(
                f"chunk at {bbox} does not cover whole shards of {self.url} mip {self.mip} (shard size "
                f"{tuple(self.shard_shape)} from {tuple(self.bbox.start)}); a shard is written whole by one task: "
                f"write {grid} instead, e.g. with generate-tasks -v {self.url} -c {' '.join(map(str, self.shard_shape))}"
            )

    def _write(self, chunk: Chunk) -> None:
        array = chunk.array if chunk.ndim == 4 else chunk.array[np.newaxis]
        for box in self.shard_boxes(chunk.bbox):
            part = array[(slice(None), *box.slices(chunk.bbox))]
            self._write_shard(box, part.transpose(3, 2, 1, 0))  # (X, Y, Z, C)

    def _write_shard(self, box: BoundingBox, image_xyzc: np.ndarray) -> None:
        filename, data = self.cv.image.make_shard(image_xyzc, _cv_bbox(box), self.mip)
        key = self.cv.meta.key(self.mip)
        if self.url.startswith("file://"):
            from pathlib import Path

            from chunkflow.files import atomic_path
            from chunkflow.volumes.base import strip_scheme

            with atomic_path(Path(strip_scheme(self.url)) / key / filename) as tmp:
                tmp.write_bytes(data)
        else:
            from cloudfiles import CloudFiles

            CloudFiles(self.cv.meta.join(self.cv.meta.cloudpath, key), progress=False).put(
                filename, data, compress=None
            )


def create_sharded(
    url: str, like: Chunk | None = None, shard_bytes: int = DEFAULT_SHARD_BYTES, **options: Any
) -> ShardedPrecomputedVolume:
    """Create a precomputed volume (options as :func:`~chunkflow.volumes.precomputed.create_info`)
    whose every scale is sharded; a spec that cannot fit is refused before anything is written."""
    size = Vec3.of(options.get("volume_size", Vec3.of(like.shape[-3:]) if like is not None else 0))
    block = Vec3.of(options.get("block_size", 64)).minimum(size) if size.prod() else Vec3.of(1)
    dtype = options.get("dtype", like.dtype if like is not None else "uint8")
    encoding = options.get("encoding", "raw")
    if like is not None and like.layer_type == "segmentation" and np.dtype(dtype).name in ("uint32", "uint64"):
        encoding = options.get("encoding", "compressed_segmentation")
    if size.prod():
        shard_spec(size, block, dtype, encoding, shard_bytes)  # refuse before writing the info
    PrecomputedVolume.create(url, like=like, **options)
    shard_scales(url, shard_bytes=shard_bytes)
    volume = PrecomputedVolume.open(url)
    assert isinstance(volume, ShardedPrecomputedVolume)
    return volume


def pyramid_volumes(
    url: str, start_mip: int, stop_mip: int, factor: Vec3Like
) -> tuple[list[Vec3], dict[int, Any], Any]:
    """The scales ``start_mip+1 .. stop_mip`` of a precomputed volume, as volumes, with the scales it
    lacks added (``factor`` apart) *in memory only*; and a function that commits those new scales.

    Where ``start_mip`` is sharded the new scales are sharded too (nested, see :func:`shard_info`).
    Returns (factor between each mip and the next, volumes by mip, commit)."""
    import copy

    from cloudvolume import CloudVolume

    base = PrecomputedVolume.open(url, mip=start_mip)  # refuses a missing volume or mip with one line
    info = copy.deepcopy(base.cv.info)
    count = len(info["scales"])
    memory = CloudVolume(base.url, info=info, progress=False)  # adds scales to ``info`` only
    step = Vec3.of(factor)
    while len(info["scales"]) <= stop_mip:
        first = Vec3.from_xyz(int(round(r)) for r in info["scales"][0]["resolution"])
        last = Vec3.from_xyz(int(round(r)) for r in info["scales"][-1]["resolution"])
        memory.add_scale((last * step // first).xyz)  # cloud-volume's factor is relative to mip 0
    if count <= stop_mip and "sharding" in info["scales"][start_mip]:
        shard_info(info, range(count, stop_mip + 1))
    resolutions = [Vec3.from_xyz(int(round(r)) for r in scale["resolution"]) for scale in info["scales"]]
    factors = [b // a for a, b in zip(resolutions, resolutions[1:])]
    volumes = {}
    for mip in range(start_mip + 1, stop_mip + 1):
        cv = CloudVolume(base.url, info=info, mip=mip, progress=False, fill_missing=False, bounded=True)
        cls = ShardedPrecomputedVolume if "sharding" in info["scales"][mip] else PrecomputedVolume
        volumes[mip] = cls(base.url, cv, mip)

    def commit(chosen: dict[int, Any]) -> dict[int, Any]:
        if count <= stop_mip:
            _add_scales(base.url, info["scales"], stop_mip)
        return chosen

    return factors, volumes, commit


def _add_scales(url: str, planned: list[dict[str, Any]], stop_mip: int) -> None:
    """Append the scales of ``planned`` the stored info lacks by compare-and-swap on the info (disk or
    bucket), so a concurrent writer's additions (other scales, mesh or skeleton keys) are kept."""
    from chunkflow.volumes.precomputed import update_info

    def add(info: dict[str, Any]) -> dict[str, Any]:
        if len(info["scales"]) <= stop_mip:
            info["scales"].extend(planned[len(info["scales"]) : stop_mip + 1])
        return info

    update_info(url, add)
