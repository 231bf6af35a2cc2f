"""chunkflow 1.2.0's ``chunkflow.chunk.image.Image``: a chunk of an image volume."""

from __future__ import annotations

from typing import Any

from chunkflow.chunk.base import Chunk as CoreChunk
from chunkflow.compat.chunk import Chunk

__all__ = ["Image"]


class Image(Chunk):
    """A chunk whose layer type is ``image``."""

    def __init__(self, array: Any, voxel_offset: Any = None, voxel_size: Any = None, layer_type: str | None = "image"):
        super().__init__(array, voxel_offset=voxel_offset, voxel_size=voxel_size, layer_type=layer_type or "image")

    @classmethod
    def from_chunk(cls, chk: CoreChunk) -> Image:
        return cls(chk.array, voxel_offset=chk.voxel_offset, voxel_size=chk.voxel_size)

    def inference(self, inferencer: Any) -> Any:
        """Run ``inferencer`` (any callable taking a chunk) on this image."""
        return inferencer(self)

    def normalize_contrast(
        self,
        lower_clip_fraction: float = 0.01,
        upper_clip_fraction: float = 0.01,
        minval: int = 1,
        maxval: int = 255,
        per_section: bool = True,
    ) -> None:
        """Stretch the intensities between their clamping values, in place (uint8), as 1.2.0 did: per
        section, then (1.2.0's loop always reached its ``else``) once more over the whole chunk."""
        from chunkflow.chunk.base import Chunk as CoreChunk
        from chunkflow.preprocess.contrast import normalize_contrast

        core = CoreChunk(self.array, self.voxel_offset, self.voxel_size, "image")
        fractions = (lower_clip_fraction, upper_clip_fraction)
        if per_section:
            core = normalize_contrast(core, *fractions, minval=minval, maxval=maxval, per_section=True)
        self.array[...] = normalize_contrast(core, *fractions, minval=minval, maxval=maxval, per_section=False).array

    def normalize_shang(self, nominalmin: float | None, nominalmax: float | None, clipvalues: bool) -> Chunk:
        """Per section, map the section's [min, max] linearly onto [nominalmin, nominalmax] (defaults:
        0 and the dtype's maximum) as float32; sections of one value are left as they are."""
        from chunkflow.chunk.adjust_grey import normalize_sections

        return self.with_array(normalize_sections(self.array, nominalmin, nominalmax, clipvalues), layer_type="image")
