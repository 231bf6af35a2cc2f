"""PNG section stacks: a directory of ``<z>.png`` files, one per section, named by global z."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import VolumeFormatError
from chunkflow.files import require_exists
from chunkflow.geometry import BoundingBox, Vec3Like
from chunkflow.volumes.arrayfile import ArrayFileVolume
from chunkflow.volumes.base import strip_scheme

_NAME = re.compile(r"^(\d+)\.png$")


def _sections(path: Path) -> list[tuple[int, Path]]:
    found = sorted((int(m.group(1)), p) for p in path.iterdir() if (m := _NAME.match(p.name)))
    return found


class PngVolume(ArrayFileVolume):
    dtypes = ("uint8", "uint16")
    stores_placement = False
    is_directory = True

    @classmethod
    def open(
        cls,
        url: str,
        voxel_offset: Vec3Like | None = None,
        voxel_size: Vec3Like | None = None,
        layer_type: str | None = None,
        **_: Any,
    ) -> PngVolume:

        path = require_exists(strip_scheme(url), "PNG directory")
        sections = _sections(path) if path.is_dir() else []
        if not sections:
            raise VolumeFormatError(f"{str(path)!r} holds no <z>.png sections; point at a directory of PNG files")
        zs = [z for z, _ in sections]
        if zs != list(range(zs[0], zs[0] + len(zs))):
            raise VolumeFormatError(f"PNG sections in {str(path)!r} are not consecutive (z = {zs[0]}..{zs[-1]})")
        first = _load_section(sections[0][1])
        if first.ndim != 2:
            raise VolumeFormatError(f"{sections[0][1]} is not a single-channel image (shape {first.shape})")
        offset = (zs[0], 0, 0) if voxel_offset is None else voxel_offset
        return cls(
            url,
            shape=(len(zs), *first.shape),
            dtype=first.dtype,
            voxel_offset=offset,
            voxel_size=1 if voxel_size is None else voxel_size,
            layer_type=layer_type or "image",
        )

    def _read(self, bbox: BoundingBox) -> np.ndarray:
        files = [p for _, p in _sections(Path(self.path))]
        local = bbox.slices(self.bbox)
        out = np.empty(bbox.shape, dtype=self.dtype)
        for i, f in enumerate(files[local[0]]):
            section = _load_section(f)
            if section.shape != tuple(self.bbox.shape[1:]) or section.dtype != self.dtype:
                raise VolumeFormatError(
                    f"PNG section {f} is {section.shape} {section.dtype}, but the stack's first section is "
                    f"{tuple(self.bbox.shape[1:])} {self.dtype}; every section must have the same size and type"
                )
            out[i] = section[local[1], local[2]]
        return out

    @classmethod
    def _save(cls, path: str, chunk: Chunk) -> None:
        from PIL import Image

        if chunk.ndim != 3:
            raise VolumeFormatError(f"PNG sections hold one channel; chunk has shape {chunk.shape}")
        from chunkflow.files import atomic_directory

        with atomic_directory(path) as tmp:
            for i, section in enumerate(chunk.array):
                Image.fromarray(np.ascontiguousarray(section)).save(tmp / f"{chunk.voxel_offset.z + i:05d}.png")


def _load_section(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return np.asarray(img)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise VolumeFormatError(f"cannot read PNG section {path} ({exc}); replace or remove it") from None
