"""Affinities from labels (the ground-truth recipe) and a noisy version to segment."""

from __future__ import annotations

import numpy as np

__all__ = ["affinities_from_labels", "noisy_affinities"]


def affinities_from_labels(labels: np.ndarray) -> np.ndarray:
    """Affinity between each voxel and its predecessor along z, y, x.

    Returns
    -------
    affs : ndarray, shape (3, Z, Y, X), float32
        1 where both voxels carry the same non-zero label, else 0 (0 on the first slice of each axis).
    """
    affs = np.zeros((3, *labels.shape), dtype=np.float32)
    nonzero = labels != 0
    affs[0, 1:] = (labels[1:] == labels[:-1]) & nonzero[1:]
    affs[1, :, 1:] = (labels[:, 1:] == labels[:, :-1]) & nonzero[:, 1:]
    affs[2, :, :, 1:] = (labels[..., 1:] == labels[..., :-1]) & nonzero[..., 1:]
    return affs


def noisy_affinities(
    labels: np.ndarray,
    seed: int = 0,
    noise: float = 0.12,
    blur: float = 0.5,
    flip_fraction: float = 0.01,
    dropped_value: float = 0.6,
    gain: float = 12.0,
) -> np.ndarray:
    """Ground-truth affinities made to look like a ConvNet's output.

    Recipe: blur each channel (``blur`` sigma, voxels) and sharpen with a logistic of ``gain``
    around 0.5 (soft but confident boundaries); pick ``flip_fraction`` of the edges at random:
    inside objects they become boundaries (added edges, ``1 - a``), across boundaries they are
    raised to ``dropped_value`` (dropped edges: a weak membrane, as a ConvNet makes them; an
    edge raised all the way to 1 makes waterz's watershed merge whole neurons, which no
    ConvNet output looks like); add Gaussian ``noise``; clip to [0, 1].

    Returns
    -------
    affs : ndarray, shape (3, Z, Y, X), float32 in [0, 1]
    """
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    truth = affinities_from_labels(labels)
    affs = np.empty_like(truth)
    for c in range(3):
        affs[c] = gaussian_filter(truth[c], sigma=blur) if blur > 0 else truth[c]
    affs = 1.0 / (1.0 + np.exp(-gain * (affs - 0.5)))
    flips = rng.random(affs.shape) < flip_fraction
    added = flips & (truth > 0.5)
    affs[added] = 1.0 - affs[added]
    affs[flips & (truth <= 0.5)] = dropped_value
    affs += rng.normal(0.0, noise, size=affs.shape)
    return np.clip(affs, 0.0, 1.0).astype(np.float32)
