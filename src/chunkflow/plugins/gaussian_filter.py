"""Gaussian smoothing of each section (and channel) in 2D; sigma in voxels. A copy unless inplace=True."""

import math

import numpy as np
from scipy import ndimage


def execute(chunk, sigma=1.0, inplace=False):
    sigmas = np.atleast_1d(np.asarray(sigma, dtype=object)).tolist()
    if (
        not sigmas
        or len(sigmas) > 2
        or not all(
            isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) and s >= 0 for s in sigmas
        )
    ):  # scipy takes a negative sigma silently (no blur) and fails deep inside on NaN
        raise ValueError(f"sigma {sigma!r} must be a non-negative number of voxels (or one per axis Y, X)")
    out = chunk if inplace else chunk.clone()
    sections = out.array.reshape(-1, *out.array.shape[-2:])  # (C*Z, Y, X), a view of the array
    for section in sections:
        section[...] = ndimage.gaussian_filter(section, sigma=sigma)
    return out
