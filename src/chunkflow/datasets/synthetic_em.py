"""An EM-like image synthesised from a segmentation: dark membranes at label boundaries,
textured cytoplasm with per-cell intensity, blur, noise and section-to-section intensity jitter."""

from __future__ import annotations

import numpy as np

__all__ = ["synthesize_em", "boundaries"]


def boundaries(labels: np.ndarray) -> np.ndarray:
    """True where a voxel's label differs from a 6-neighbour's (both sides), or is 0."""
    edge = labels == 0
    for axis in range(3):
        diff = np.diff(labels, axis=axis) != 0
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        edge[tuple(lo)] |= diff
        edge[tuple(hi)] |= diff
    return edge


def synthesize_em(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """A uint8 (Z, Y, X) image that looks like serial-section EM of ``labels``."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    ids, inverse = np.unique(labels, return_inverse=True)
    cell_intensity = rng.uniform(150, 205, size=len(ids)).astype(np.float32)
    image = cell_intensity[inverse.reshape(labels.shape)]
    texture = gaussian_filter(rng.normal(0, 1, labels.shape).astype(np.float32), sigma=(0.5, 2.0, 2.0))
    image += 25 * texture / (texture.std() + 1e-6)
    membrane = boundaries(labels)
    image[membrane] = rng.uniform(35, 70, size=int(membrane.sum()))
    image = gaussian_filter(image, sigma=(0.3, 0.9, 0.9))
    image += rng.normal(0, 9, labels.shape).astype(np.float32)
    gain = rng.normal(1.0, 0.06, size=(labels.shape[0], 1, 1)).astype(np.float32)
    offset = rng.normal(0.0, 8.0, size=(labels.shape[0], 1, 1)).astype(np.float32)
    image = image * gain + offset
    return np.clip(image, 0, 255).astype(np.uint8)
