"""chunkflow 1.2.0's ``Inferencer`` and patch mask (``chunkflow.flow.divid_conquer``), over our inference."""

from __future__ import annotations

from typing import Any

import numpy as np

from chunkflow.compat.chunk import Chunk, as_120, as_core

__all__ = ["Inferencer", "PatchMask", "make_bump_map", "make_patch_mask"]


def make_bump_map(patch_size: Any) -> np.ndarray:
    """1.2.0's 3D bump of ``patch_size`` (Z, Y, X): ``prod_i exp(-1 / (1 - u_i^2))`` mapped onto [1, 1e6], float64."""
    from chunkflow.inference.blend import affine_coefficients, raw_wu_1d

    wz, wy, wx = (raw_wu_1d(int(p)) for p in patch_size)
    alpha, beta = affine_coefficients(tuple(int(p) for p in patch_size))  # type: ignore[arg-type]
    return alpha + beta * (wz[:, None, None] * (wy[None, :, None] * wx[None, None, :]))


def make_patch_mask(patch_size: Any, overlap: Any, dtype: Any = "float32") -> np.ndarray:
    """1.2.0's patch mask: the bump divided by the sum of the bumps of a 3 x 3 x 3 block of patches one
    stride apart, at the middle patch (weights that sum to 1 inside a regular grid)."""
    from chunkflow.inference.blend import affine_coefficients, ghost_axis_parts

    patch = tuple(int(p) for p in patch_size)
    parts = [ghost_axis_parts(p, p - int(o)) for p, o in zip(patch, overlap)]
    (cz, nz), (cy, ny), (cx, nx) = parts
    alpha, beta = affine_coefficients(patch)  # type: ignore[arg-type]
    norm = alpha * (cz[:, None, None] * (cy[None, :, None] * cx[None, None, :])) + beta * (
        nz[:, None, None] * (ny[None, :, None] * nx[None, None, :])
    )
    return (make_bump_map(patch) / norm).astype(dtype)


class PatchMask(np.ndarray):
    """1.2.0's patch mask as an array (:func:`make_patch_mask`)."""

    def __new__(cls, patch_size: Any, overlap: Any, dtype: Any = "float32") -> PatchMask:
        return np.asarray(make_patch_mask(patch_size, overlap, dtype)).view(cls)


class Inferencer:
    """1.2.0's chunk inferencer with its signature (a context manager); runs our
    :class:`chunkflow.inference.Inferencer` with 1.2.0's defaults (``mask_output_chunk=True``)."""

    def __init__(
        self,
        convnet_model: str | None,
        convnet_weight_path: str | None,
        input_patch_size: Any,
        output_patch_size: Any = None,
        output_patch_overlap: Any = None,
        output_crop_margin: Any = None,
        patch_num: Any = None,
        num_output_channels: int = 3,
        num_input_channels: int = 1,
        framework: str = "identity",
        batch_size: int = 1,
        bump: str = "wu",
        input_size: Any = None,
        mask_output_chunk: bool = True,
        mask_myelin_threshold: float | None = None,
        augment: bool = False,
        dry_run: bool = False,
        dtype: str = "float32",
    ) -> None:
        from chunkflow.errors import InvalidParameterError
        from chunkflow.inference import Inferencer as CoreInferencer
        from chunkflow.inference import make_engine

        if mask_myelin_threshold or dry_run:
            raise InvalidParameterError("Inferencer(mask_myelin_threshold=..., dry_run=...) is not supported")
        engine = make_engine(framework, convnet_model, convnet_weight_path, num_output_channels)
        if augment:  # 1.2.0's test-time augmentation inverts each flip; it does not shift affinity channels
            from chunkflow.inference.augment import AugmentedEngine

            engine = AugmentedEngine(engine, affinity=False)
        self.inferencer = CoreInferencer(
            engine,
            tuple(input_patch_size),
            output_patch_size=output_patch_size,
            output_patch_overlap=output_patch_overlap,
            output_crop_margin=output_crop_margin,
            patch_num=patch_num,
            num_input_channels=num_input_channels,
            num_output_channels=num_output_channels,
            batch_size=batch_size,
            bump=bump,
            mask_output_chunk=mask_output_chunk,
            dtype=dtype,
            progress=False,
        )

    @property
    def compute_device(self) -> str:
        return str(getattr(self.inferencer.engine, "device", "cpu"))

    def __enter__(self) -> Inferencer:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __call__(self, input_chunk: Any) -> Chunk:
        return as_120(self.inferencer(as_core(input_chunk if isinstance(input_chunk, Chunk) else Chunk(input_chunk))))
