"""Blending weights for overlapping output patches.

Each patch's prediction is multiplied by a weight and added into one output buffer; the weights
at every voxel sum to 1.

``wu`` (the default; also ``zung`` and ``wu-1.2.0``, names chunkflow 1.2.0 accepted or our earlier
versions used) is chunkflow 1.2.0's patch weight exactly: its 3D bump ``prod_i exp(-1 / (1 - u_i^2))``
mapped linearly onto [1, 1e6] (``B = alpha + beta * prod_i w_i``), which is not separable. The
normaliser, the sum of ``B`` over the patches covering a voxel, is still computable from per-axis
sums, ``sum_p B_p = alpha * prod_i C_i + beta * prod_i N_i`` (``C_i``: patches covering a position
along axis i, ``N_i``: the sum of their ``w_i``), so the weights are built per patch from 1D pieces
(:func:`affine_axis_parts`), without a weight buffer.

``wu-separable`` is a separable bump ``exp(-1 / (1 - u^2))`` per axis, floored so that the 3D weight
spans the same 1e6 dynamic range; ``gaussian`` the nnU-Net style Gaussian with sigma = patch / 8.
With a separable weight and a Cartesian patch grid the normaliser factorises too,
``N(z, y, x) = Nz(z) Ny(y) Nx(x)``, so each patch's 1D weights are divided by it up front
(:func:`normalised_weights`).

``--mask-output-chunk`` (1.2.0's flag, 1.2.0's meaning) normalises by the chunk's own summed weights:
1.2.0 weights each patch by its *patch mask*, ``B`` divided by the sum ``B3`` of ``B`` over a 3 x 3 x 3
block of patches one stride apart (:func:`ghost_axis_parts`), and divides the blended chunk by the sum
of those masks over the chunk's own patches. Away from a flush-shifted last patch that is the plain
normalised ``B``; near one the two differ, and we compute 1.2.0's (a float buffer of the output's
size holds the sum). The result is independent of the chunk's neighbours.

``--taper-output-chunk`` (ours) counts in the normaliser the patches the neighbouring chunks would
place (the grid continued by one more stride pattern beyond each face), so chunks that overlap by
the patch overlap can be summed into a seamless whole.
"""

from __future__ import annotations

import numpy as np

from chunkflow.errors import InvalidParameterError

__all__ = [
    "bump_1d", "axis_normaliser", "normalised_weights", "affine_axis_parts", "affine_coefficients",
    "ghost_axis_parts", "BUMPS", "BUMPS_120",
]  # fmt: skip

BUMPS = ("wu", "zung", "wu-1.2.0", "wu-separable", "gaussian")
#: the names of chunkflow 1.2.0's patch weight (1.2.0 accepted ``wu`` and ``zung`` for the same map)
BUMPS_120 = ("wu", "zung", "wu-1.2.0")

_FLOOR = 1e-2  # per axis; 1e-6 in 3D, the dynamic range of chunkflow 1.2.0's wu map


def bump_1d(size: int, kind: str = "wu") -> np.ndarray:
    """A 1D separable bump (``wu-separable`` or ``gaussian``) of ``size`` samples, maximum 1, float64."""
    if kind == "wu-separable":
        u = (np.arange(size, dtype=np.float64) + 1.0) / (size + 1.0) * 2.0 - 1.0
        w = np.exp(1.0 - 1.0 / (1.0 - u * u))
    elif kind == "gaussian":
        centre, sigma = (size - 1) / 2.0, max(size / 8.0, 1e-3)
        w = np.exp(-0.5 * ((np.arange(size) - centre) / sigma) ** 2)
    else:
        raise InvalidParameterError(f"bump {kind!r} is not a separable bump (wu-separable, gaussian)")
    w = w / w.max()
    return np.maximum(w, _FLOOR)


def axis_normaliser(
    starts: tuple[int, ...], patch: int, length: int, bump: np.ndarray, stride: int, taper: bool
) -> np.ndarray:
    """Sum of the 1D bumps of all output patches along one axis (``starts`` in output coordinates)."""
    total = np.zeros(length, dtype=np.float64)
    for s in _placed_starts(starts, patch, stride, taper):
        lo, hi = max(s, 0), min(s + patch, length)
        if lo < hi:
            total[lo:hi] += bump[lo - s : hi - s]
    return total


def normalised_weights(
    starts: tuple[int, ...], patch: int, length: int, kind: str, stride: int, taper: bool
) -> dict[int, np.ndarray]:
    """For each patch start along one axis, its 1D weight divided by the normaliser, float32."""
    bump = bump_1d(patch, kind)
    norm = axis_normaliser(starts, patch, length, bump, stride, taper)
    return {s: (bump / norm[s : s + patch]).astype(np.float32) for s in starts}


def _placed_starts(starts: tuple[int, ...], patch: int, stride: int, taper: bool) -> list[int]:
    placed = list(starts)
    if taper:
        first, last = starts[0], starts[-1]
        placed += [first - k * stride for k in range(1, patch // stride + 2)]
        placed += [last + k * stride for k in range(1, patch // stride + 2)]
    return placed


def raw_wu_1d(size: int) -> np.ndarray:
    """chunkflow 1.2.0's per-axis factor ``exp(-1 / (1 - u^2))``, ``u`` in (-1, 1), float64, not rescaled."""
    u = (np.arange(size, dtype=np.float64) + 1.0) / (size + 1.0) * 2.0 - 1.0
    return np.exp(-1.0 / (1.0 - u * u))


def affine_axis_parts(
    starts: tuple[int, ...], patch: int, length: int, stride: int, taper: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(w, C, N)`` along one axis for ``wu-1.2.0``: the raw 1D factor, the patch count and the sum of
    the factors at every position of the region (float64)."""
    w = raw_wu_1d(patch)
    count = np.zeros(length, dtype=np.float64)
    total = np.zeros(length, dtype=np.float64)
    for s in _placed_starts(starts, patch, stride, taper):
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


def ghost_axis_parts(patch: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """``(C3, N3)`` along one axis of 1.2.0's patch-mask normaliser, at each position of a patch: the
    count and the factor sum of the three patches at 0, ``stride``, ``2 stride`` covering the middle
    patch's position (1.2.0 simulates a 3 x 3 x 3 block of patches; ``B3 = alpha C3 + beta N3`` per axis
    product, as for :func:`affine_axis_parts`)."""
    w = raw_wu_1d(patch)
    count = np.zeros(patch, dtype=np.float64)
    total = np.zeros(patch, dtype=np.float64)
    for k in range(3):
        # block position stride + l is inside the k-th patch where 0 <= stride + l - k stride < patch
        local = np.arange(patch) + stride - k * stride
        inside = (local >= 0) & (local < patch)
        count[inside] += 1.0
        total[inside] += w[local[inside]]
    return count, total
