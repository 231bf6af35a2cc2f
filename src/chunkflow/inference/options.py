"""The settings of an :class:`~chunkflow.inference.Inferencer`, in three small frozen groups.

``Inferencer.from_options(engine, PatchOptions((20, 256, 256), output_patch_overlap=(4, 64, 64)),
ModelOptions(num_output_channels=3), RunOptions(batch_size=4))`` reads as what it sets: where the
patches go, what the model takes and gives, and how the run is carried out. Each group is hashable and
can be shared between runs (``dataclasses.replace`` makes a variant). The checks of values live in
:class:`~chunkflow.inference.Inferencer`, which also still takes the same settings as keywords.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from chunkflow.geometry import BoundingBox, Vec3Like

__all__ = ["PatchOptions", "ModelOptions", "RunOptions", "as_keywords"]


@dataclass(frozen=True)
class PatchOptions:
    """Where patches go and how their predictions are blended into one output.

    ``output_crop_margin`` defaults to chunkflow 1.2.0's choice: the patch overlap, or nothing with
    ``mask_output_chunk``, ``taper_output_chunk`` or ``global_bbox``.
    """

    input_patch_size: Vec3Like
    output_patch_size: Vec3Like | None = None
    output_patch_overlap: Vec3Like | None = None
    output_crop_margin: Vec3Like | None = None
    patch_num: Vec3Like | None = None
    #: blending weight across a patch: "wu" (chunkflow 1.2.0's; also "zung", "wu-1.2.0"), "wu-separable"
    #: or "gaussian" (see :mod:`chunkflow.inference.blend`)
    bump: str = "wu"
    #: chunkflow 1.2.0's: normalise by the chunk's own summed patch weights
    mask_output_chunk: bool = False
    #: the whole region inferred in tiles: patches on its grid, weights of its normaliser
    global_bbox: BoundingBox | None = None
    #: ours: normalise as if the neighbouring chunks' patches were there (overlapping chunks sum to a whole)
    taper_output_chunk: bool = False


@dataclass(frozen=True)
class ModelOptions:
    """What the model takes and what the output chunk holds."""

    num_input_channels: int = 1
    num_output_channels: int = 3
    #: divide integer images by their dtype's maximum before the model (chunkflow 1.2.0 does)
    normalize_input: bool = True
    #: average the predictions of the flipped/transposed inputs
    augment: bool = False
    #: dtype of the output chunk: "float32" or "float16"
    dtype: str = "float32"
    #: default: affinity_map for 3 output channels, else probability_map
    output_layer_type: str | None = None
    #: NaN/Inf in the output: "error" (refuse the chunk) or "replace" (by 0, counted in the log)
    nonfinite: str = "error"


@dataclass(frozen=True)
class RunOptions:
    """How the run is carried out: batches, device, memory and progress."""

    #: patches per model call, or "auto" (the fastest that fits on a GPU)
    batch_size: int | str = 1
    #: True: device path, False: host path, None: the device path where the engine supports it
    device_path: bool | None = None
    #: bytes of device memory for the input and output windows (None: whole chunk; on CUDA, half the free memory)
    device_memory_limit: int | None = None
    #: memory-map the output buffer in an (unlinked) file under this directory; None: in memory
    output_buffer_dir: str | None = None
    progress: bool = True


def as_keywords(*groups: PatchOptions | ModelOptions | RunOptions) -> dict[str, Any]:
    """The settings of ``groups`` as the keyword arguments of :class:`~chunkflow.inference.Inferencer`."""
    return {field.name: getattr(group, field.name) for group in groups for field in fields(group)}
