"""Test-time augmentation: average the predictions over the 8 flips of (z, y, x).

An affinity channel ``c`` holds the affinity between a voxel and its predecessor along axis
``c``. Flipping the input along that axis turns "predecessor" into "successor", so after
flipping the output back, channel ``c`` must also be shifted by one voxel along axis ``c``. The
one slice the shift leaves undefined is taken from the unflipped prediction.
"""

from __future__ import annotations

import itertools

import numpy as np

from chunkflow.inference.engines import Engine

__all__ = ["AugmentedEngine", "FLIPS"]

FLIPS: tuple[tuple[int, ...], ...] = tuple(
    tuple(a for a, keep in zip((2, 3, 4), mask) if keep) for mask in itertools.product((False, True), repeat=3)
)


class AugmentedEngine:
    def __init__(self, engine: Engine, affinity: bool) -> None:
        self.engine = engine
        self.affinity = affinity
        self.device = engine.device

    def predict(self, batch: np.ndarray) -> np.ndarray:
        plain = self.engine.predict(batch)
        total = plain.astype(np.float32, copy=True)
        for axes in FLIPS[1:]:
            flipped = np.ascontiguousarray(np.flip(batch, axes))
            out = np.flip(self.engine.predict(flipped), axes)
            if self.affinity:
                out = self._shift_back(out, plain, axes)
            total += out
        total /= len(FLIPS)
        return total

    @staticmethod
    def _shift_back(out: np.ndarray, plain: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        out = np.array(out)  # writable copy
        for axis in axes:
            channel = axis - 2
            if channel >= out.shape[1]:
                continue
            src = [slice(None)] * out.ndim
            dst = [slice(None)] * out.ndim
            src[1] = dst[1] = channel  # type: ignore[call-overload]
            src[axis], dst[axis] = slice(0, -1), slice(1, None)
            first = [slice(None)] * out.ndim
            first[1], first[axis] = channel, slice(0, 1)  # type: ignore[call-overload]
            out[tuple(dst)] = out[tuple(src)].copy()
            out[tuple(first)] = plain[tuple(first)]
        return out
