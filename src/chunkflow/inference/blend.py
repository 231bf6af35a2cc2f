"""Blending weights for overlapping output patches.

Each patch's prediction is multiplied by a bump weight and added into one output buffer. The
weights are separable (a product of one 1D bump per axis) and the patch grid is a Cartesian
product, so the sum of weights at every voxel factorises too: ``N(z, y, x) = Nz(z) Ny(y) Nx(x)``.
We therefore divide each patch's weight by that normaliser up front (:func:`normalised_weights`)
and need no weight buffer and no final division pass: memory is one float32 output buffer.

``wu`` is chunkflow's bump ``exp(-1 / (1 - u^2))``, ``u`` in (-1, 1) across the patch, floored
per axis so that the 3D weight spans the same 1e6 dynamic range as chunkflow 1.2.0's map.
``gaussian`` is the nnU-Net style Gaussian with sigma = patch / 8.

With ``mask_output_chunk`` the normaliser also counts the patches the neighbouring chunks would
place (the grid continued by one more stride pattern beyond each face), so chunks that overlap
by the patch overlap can be summed into a seamless whole (chunkflow's ``--mask-output-chunk``).
"""

from __future__ import annotations

import numpy as np

from chunkflow.errors import InvalidParameterError

__all__ = ["bump_1d", "axis_normaliser", "normalised_weights"]

_FLOOR = 1e-2  # per axis; 1e-6 in 3D, the dynamic range of chunkflow 1.2.0's wu map


def bump_1d(size: int, kind: str = "wu") -> np.ndarray:
    """A 1D bump of ``size`` samples, maximum 1, float64."""
    if kind == "wu":
        u = (np.arange(size, dtype=np.float64) + 1.0) / (size + 1.0) * 2.0 - 1.0
        w = np.exp(1.0 - 1.0 / (1.0 - u * u))
    elif kind == "gaussian":
        centre, sigma = (size - 1) / 2.0, max(size / 8.0, 1e-3)
        w = np.exp(-0.5 * ((np.arange(size) - centre) / sigma) ** 2)
    else:
        raise InvalidParameterError(f"bump {kind!r} is not one of wu, gaussian")
    w = w / w.max()
    return np.maximum(w, _FLOOR)


def axis_normaliser(
    starts: tuple[int, ...], patch: int, length: int, bump: np.ndarray, stride: int, mask_output_chunk: bool
) -> np.ndarray:
    """Sum of the 1D bumps of all output patches along one axis (``starts`` in output coordinates)."""
    total = np.zeros(length, dtype=np.float64)
    placed = list(starts)
    if mask_output_chunk:
        first, last = starts[0], starts[-1]
        placed += [first - k * stride for k in range(1, patch // stride + 2)]
        placed += [last + k * stride for k in range(1, patch // stride + 2)]
    for s in placed:
        lo, hi = max(s, 0), min(s + patch, length)
        if lo < hi:
            total[lo:hi] += bump[lo - s : hi - s]
    return total


def normalised_weights(
    starts: tuple[int, ...], patch: int, length: int, kind: str, stride: int, mask_output_chunk: bool
) -> dict[int, np.ndarray]:
    """For each patch start along one axis, its 1D weight divided by the normaliser, float32."""
    bump = bump_1d(patch, kind)
    norm = axis_normaliser(starts, patch, length, bump, stride, mask_output_chunk)
    return {s: (bump / norm[s : s + patch]).astype(np.float32) for s in starts}
