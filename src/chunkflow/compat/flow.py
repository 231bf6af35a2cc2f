"""chunkflow 1.2.0's operator classes (``chunkflow.flow.*``): callables over our library.

Each class keeps 1.2.0's constructor and call signature and does the work with our volumes and
postprocessing: chunks come back as 1.2.0's :class:`~chunkflow.compat.chunk.Chunk`, and chunks given
are read as our core chunks (:func:`~chunkflow.compat.chunk.as_core`, no copy).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from chunkflow import files
from chunkflow.chunk.base import _as_box
from chunkflow.compat.chunk import Chunk, as_120, as_core
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError

__all__ = [
    "OperatorBase", "LoadPrecomputedOperator", "MaskOperator", "SavePrecomputedOperator", "SavePNGsOperator",
    "DownsampleUploadOperator", "MeshOperator",
]  # fmt: skip

log = logging.getLogger(__name__)


class OperatorBase:
    """1.2.0's operator base: a named callable."""

    def __init__(self, name: str = "operator") -> None:
        self.name = name


def _open(volume_path: str, mip: int) -> Any:
    from chunkflow.volumes import open_volume

    return open_volume(volume_path, mip=mip)


class LoadPrecomputedOperator(OperatorBase):
    """Cut a box out of a precomputed volume; ``blackout_sections`` zeroes the sections listed in the
    volume's ``blackout_section_ids.json`` (``{"section_ids": [...]}``)."""

    def __init__(
        self,
        volume_path: str,
        mip: int = 0,
        fill_missing: bool = False,
        validate_mip: int | None = None,
        blackout_sections: bool | None = None,
        use_https: bool = False,
        dry_run: bool = False,
        verbose: bool = False,
        name: str = "cutout",
    ) -> None:
        super().__init__(name=name)
        if validate_mip:
            raise InvalidParameterError("LoadPrecomputedOperator(validate_mip=...) is not supported; omit it")
        self.volume_path, self.mip, self.fill_missing, self.dry_run = volume_path, mip, fill_missing, dry_run
        self.vol = _open(volume_path, mip)
        self.blackout_section_ids: list[int] = []
        if blackout_sections:
            ids = files.read_json(files.join(volume_path, "blackout_section_ids.json"), "blackout section list")
            self.blackout_section_ids = [int(z) for z in ids["section_ids"]]

    def __call__(self, bbox: Any) -> Chunk:
        box = _as_box(bbox)
        if self.dry_run:
            return Chunk.from_bbox(bbox, pattern="random", dtype=self.vol.dtype, voxel_size=self.vol.voxel_size)
        chunk = as_120(self.vol.read(box, fill_missing=self.fill_missing))
        for z in self.blackout_section_ids:
            if box.start.z <= z < box.stop.z:
                chunk.array[..., z - box.start.z, :, :] = 0
        return chunk


class MaskOperator(OperatorBase):
    """Zero chunks, in place, where the mask volume (at ``mask_mip``) is 0 (non-zero with ``inverse``)."""

    def __init__(
        self,
        volume_path: str,
        mask_mip: int,
        chunk_mip: int,
        inverse: bool = False,
        fill_missing: bool = True,
        name: str = "mask",
    ) -> None:
        super().__init__(name=name)
        self.volume_path, self.mask_mip, self.chunk_mip = volume_path, mask_mip, chunk_mip
        self.inverse, self.fill_missing = inverse, fill_missing

    def __call__(self, chunks: Any) -> list[Chunk]:
        from chunkflow.postprocess.mask import apply_mask

        chunks = [chunks] if isinstance(chunks, Chunk) else list(chunks)
        for chunk in chunks:
            if _precomputed_data_type(self.volume_path) == "bool":
                _mask_with_cloudvolume(chunk, self.volume_path, self.mask_mip, self.inverse, self.fill_missing)
                continue
            masked = apply_mask(as_core(chunk), self.volume_path, self.mask_mip, self.inverse, self.fill_missing)
            chunk.array[...] = masked.array
        return chunks


def _precomputed_data_type(volume_path: str) -> str | None:
    info = files.maybe_read_bytes(files.join(volume_path, "info"))
    if info is None:
        return None
    import json

    return json.loads(info).get("data_type")


def _mask_with_cloudvolume(chunk: Chunk, volume_path: str, mask_mip: int, inverse: bool, fill_missing: bool) -> None:
    """1.2.0 read masks through cloud-volume, which also reads ``data_type: bool`` volumes (our precomputed
    reader refuses that type); the mask at ``mask_mip`` is repeated up to the chunk's voxels."""
    from cloudvolume import CloudVolume

    from chunkflow.geometry import BoundingBox

    mask_volume = CloudVolume(volume_path, mip=mask_mip, fill_missing=fill_missing, progress=False)
    mask_size = tuple(int(v) for v in mask_volume.resolution[::-1])
    factor = [m // c for m, c in zip(mask_size, chunk.voxel_size)]
    if any(f < 1 or m != f * c for f, m, c in zip(factor, mask_size, chunk.voxel_size)):
        raise IncompatibleChunkError(
            f"mask voxel size {mask_size} is not a multiple of the chunk's {tuple(chunk.voxel_size)}"
        )
    box = BoundingBox.from_shape(chunk.array.shape, chunk.voxel_offset)
    start = [b // f for b, f in zip(box.start, factor)]
    stop = [-(-e // f) for e, f in zip(box.stop, factor)]
    mask = np.asarray(mask_volume[start[2] : stop[2], start[1] : stop[1], start[0] : stop[0]])[..., 0].T
    keep = mask == 0 if inverse else mask != 0
    for axis, f in enumerate(factor):
        keep = np.repeat(keep, f, axis=axis)
    offset = [b - s * f for b, s, f in zip(box.start, start, factor)]
    keep = keep[tuple(slice(o, o + n) for o, n in zip(offset, box.shape))]
    chunk.array[..., ~keep] = 0


class SavePrecomputedOperator(OperatorBase):
    """Write a chunk into a precomputed volume at ``mip`` (converting the dtype as 1.2.0 did); optionally
    its last channel as uint8 into ``<volume>/thumbnail`` and the task log as ``<volume>/log/<bbox>.json``."""

    def __init__(
        self,
        volume_path: str,
        mip: int,
        upload_log: bool = True,
        create_thumbnail: bool = False,
        fill_missing: bool = False,
        parallel: int = 1,
        name: str = "save-precomputed",
    ) -> None:
        super().__init__(name=name)
        self.volume_path, self.mip = volume_path, mip
        self.upload_log, self.create_thumbnail = upload_log, create_thumbnail
        self.volume = _open(volume_path, mip)

    def __call__(self, chunk: Any, log: dict[str, Any] | None = None) -> None:
        start = time.time()
        core = _converted(as_core(chunk), np.dtype(self.volume.dtype))
        self.volume.write(core)
        if self.create_thumbnail:
            _write_thumbnail(core, files.join(self.volume_path, "thumbnail"), self.mip)
        if log is not None:
            log.setdefault("timer", {})[self.name] = time.time() - start
        if self.upload_log and log is not None:
            files.write_json(files.join(self.volume_path, "log", f"{core.bbox}.json"), log)


def _write_thumbnail(chunk: Any, thumbnail_path: str, mip: int, max_mip: int = 6) -> None:
    """1.2.0's thumbnail: the last channel as uint8, downsampled (1, 2, 2) per mip to the thumbnail
    volume's highest mip up to ``max_mip``, written there only. Written through cloud-volume as 1.2.0
    did, since the box at that mip is rarely block-aligned."""
    from cloudvolume import CloudVolume

    from chunkflow.postprocess.downsample import downsample

    image = chunk.array[-1] if chunk.ndim == 4 else chunk.array
    if np.issubdtype(image.dtype, np.floating):
        image = (image * 255).astype(np.uint8)
    probe = CloudVolume(thumbnail_path, mip=mip, progress=False)
    top = min(max_mip, len(probe.info["scales"]) - 1)
    if top <= mip:
        return
    (small,) = downsample(chunk.with_array(image, layer_type="image"), (1, 2, 2), top - mip)[-1:]
    volume = CloudVolume(
        thumbnail_path,
        mip=top,
        bounded=False,
        autocrop=True,
        fill_missing=True,
        non_aligned_writes=True,
        progress=False,
    )
    z0, y0, x0 = small.voxel_offset
    z1, y1, x1 = (o + n for o, n in zip(small.voxel_offset, small.array.shape))
    xyz = np.ascontiguousarray(small.array.T)[..., np.newaxis]
    volume[x0:x1, y0:y1, z0:z1] = np.repeat(xyz, volume.num_channels, axis=3).astype(volume.dtype)


def _converted(chunk: Any, dtype: np.dtype) -> Any:
    """1.2.0's conversion to the volume's dtype: uint8 to float in [0, 1], float to uint8 times 255."""
    array = chunk.array
    if np.issubdtype(dtype, np.floating) and array.dtype == np.uint8:
        array = array.astype(dtype) / 255.0
    elif dtype == np.uint8 and np.issubdtype(array.dtype, np.floating):
        array = array * 255
    return chunk if array.dtype == dtype and array is chunk.array else chunk.with_array(array.astype(dtype))


class SavePNGsOperator(OperatorBase):
    """Write each section as ``<output_path>/<z:05d>.png`` (an affinity map as the mean of its y and x
    channels, times 255)."""

    def __init__(self, output_path: str = "./pngs/", dtype: str = "uint8", name: str = "save-pngs") -> None:
        super().__init__(name=name)
        self.output_path, self.dtype = output_path, np.dtype(dtype)

    def __call__(self, chunk: Any) -> None:
        from PIL import Image

        core = as_core(chunk)
        array = core.array
        if core.is_affinity_map:
            array = ((array[1] + array[2]) / 2.0 * 255.0).astype(np.uint8)
        elif array.dtype != self.dtype:
            array = array.astype(self.dtype)
        if array.ndim != 3:
            raise IncompatibleChunkError(f"save-pngs writes 3D chunks, got shape {array.shape}")
        import io

        from chunkflow import files

        for index, z in enumerate(range(core.voxel_offset.z, core.voxel_offset.z + array.shape[0])):
            buffer = io.BytesIO()
            Image.fromarray(array[index]).save(buffer, format="PNG")
            files.write_bytes(files.join(self.output_path, f"{z:05d}.png"), buffer.getvalue())


class DownsampleUploadOperator(OperatorBase):
    """Write mips ``start_mip`` (default ``chunk_mip + 1``) up to ``stop_mip`` (exclusive) of a chunk."""

    def __init__(
        self,
        volume_path: str,
        factor: tuple[int, int, int] = (2, 2, 2),
        chunk_mip: int = 0,
        start_mip: int | None = None,
        stop_mip: int = 5,
        fill_missing: bool = True,
        verbose: bool = False,
        name: str = "downsample-upload",
    ) -> None:
        super().__init__(name=name)
        self.volume_path, self.factor, self.chunk_mip = volume_path, tuple(factor), chunk_mip
        self.start_mip = chunk_mip + 1 if start_mip is None else start_mip
        self.stop_mip = stop_mip

    def __call__(self, chunk: Any) -> None:
        from chunkflow.postprocess.downsample import downsample_upload

        downsample_upload(
            as_core(chunk),
            self.volume_path,
            start_mip=self.chunk_mip,
            stop_mip=self.stop_mip - 1,
            factor=self.factor,
            first_mip=self.start_mip,
        )


class MeshOperator(OperatorBase):
    """Mesh every object of a segmentation chunk into ``output_path`` (``precomputed``, ``ply`` or ``obj``)."""

    def __init__(
        self,
        output_path: str,
        output_format: str,
        mip: int | None = None,
        voxel_size: tuple[int, int, int] = (1, 1, 1),
        simplification_factor: int = 100,
        max_simplification_error: int = 8,
        manifest: bool = False,
        skip_ids: Any = None,
        shard: bool = False,
        name: str = "mesh",
    ) -> None:
        super().__init__(name=name)
        if manifest or shard:
            raise InvalidParameterError("MeshOperator(manifest=..., shard=...): use the mesh-manifest command")
        self.output_path, self.output_format, self.voxel_size = output_path, output_format, voxel_size
        self.simplification_factor, self.max_simplification_error = simplification_factor, max_simplification_error
        self.skip_ids = set(skip_ids or ())

    def __call__(self, seg: Any) -> list[int]:
        from chunkflow.postprocess.mesh import mesh_chunk

        return mesh_chunk(
            as_core(seg),
            self.output_path,
            self.output_format,
            self.voxel_size,
            self.simplification_factor,
            self.max_simplification_error,
            self.skip_ids,
            is_segmentation=True,
        )
