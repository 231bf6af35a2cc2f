"""Blending weights for overlapping output patches.

Each patch's prediction is multiplied by a bump weight and added into one output buffer. The
weights are separable (a product of one 1D bump per axis) and the patch grid is a Cartesian
product, so the sum of weights at every voxel factorises too: ``N(z, y, x) = Nz(z) Ny(y) Nx(x)``.
We therefore divide each patch's weight by that normaliser up front (:func:`normalised_weights`)
and need no weight buffer and no final division pass: memory is one float32 output buffer.

``wu`` is chunkflow's bump ``exp(-1 / (1 - u^2))``, ``u`` in (-1, 1) across the patch, floored
per axis so that the 3D weight spans the same 1e6 dynamic range as chunkflow 1.2.0's map.
``gaussian`` is the nnU-Net style Gaussian with sigma = patch / 8.

``wu-1.2.0`` reproduces chunkflow 1.2.0's weights exactly: its 3D bump ``prod_i exp(-1 / (1 - u_i^2))``
is mapped linearly onto [1, 1e6] (``B = alpha + beta * prod_i w_i``), which is not separable. The
normaliser still is computable from per-axis sums, ``sum_p B_p = alpha * prod_i C_i + beta * prod_i N_i``
(``C_i``: patches covering a position along axis i, ``N_i``: the sum of their ``w_i``), so the weights
are built per patch from 1D pieces (:func:`affine_axis_parts`), without a weight buffer either.

With ``mask_output_chunk`` the normaliser also counts the patches the neighbouring chunks would
place (the grid continued by one more stride pattern beyond each face), so chunks that overlap
by the patch overlap can be summed into a seamless whole (chunkflow's ``--mask-output-chunk``).
"""

from __future__ import annotations

import numpy as np

from chunkflow.errors import InvalidParameterError

__all__ = ["bump_1d", "axis_normaliser", "normalised_weights", "affine_axis_parts", "affine_coefficients", "BUMPS"]

BUMPS = ("wu", "gaussian", "wu-1.2.0")

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
        raise InvalidParameterError(f"bump {kind!r} is not one of {', '.join(BUMPS)}")
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


def _placed_starts(starts: tuple[int, ...], patch: int, stride: int, mask_output_chunk: bool) -> list[int]:
    placed = list(starts)
    if mask_output_chunk:
        first, last = starts[0], starts[-1]
        placed += [first - k * stride for k in range(1, patch // stride + 2)]
        placed += [last + k * stride for k in range(1, patch // stride + 2)]
    return placed


def raw_wu_1d(size: int) -> np.ndarray:
    """chunkflow 1.2.0's per-axis factor ``exp(-1 / (1 - u^2))``, ``u`` in (-1, 1), float64, not rescaled."""
    u = (np.arange(size, dtype=np.float64) + 1.0) / (size + 1.0) * 2.0 - 1.0
    return np.exp(-1.0 / (1.0 - u * u))


def affine_axis_parts(
    starts: tuple[int, ...], patch: int, length: int, stride: int, mask_output_chunk: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(w, C, N)`` along one axis for ``wu-1.2.0``: the raw 1D factor, the patch count and the sum of
    the factors at every position of the region (float64)."""
    w = raw_wu_1d(patch)
    count = np.zeros(length, dtype=np.float64)
    total = np.zeros(length, dtype=np.float64)
    for s in _placed_starts(starts, patch, stride, mask_output_chunk):
        lo, hi = max(s, 0), min(s + patch, length)
        if lo < hi:
            count[lo:hi] += 1.0
            total[lo:hi] += w[lo - s : hi - s]
    return w, count, total


def affine_coefficients(patch_size: tuple[int, int, int]) -> tuple[float, float]:
    """``(alpha, beta)`` of 1.2.0's map of the 3D bump onto [1, 1e6]: ``B = alpha + beta * prod_i w_i``."""
    low = float(np.prod([raw_wu_1d(p).min() for p in patch_size]))
    high = float(np.prod([raw_wu_1d(p).max() for p in patch_size]))
    beta = (1e6 - 1.0) / (high - low)
    return 1.0 - beta * low, beta
