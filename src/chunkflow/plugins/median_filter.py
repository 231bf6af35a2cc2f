"""Median filter (scipy.ndimage.median_filter); size in Z Y X, default 3 1 1 (across sections)."""

import numpy as np
from scipy import ndimage


def execute(chunk, size=(3, 1, 1), mode="reflect"):
    return [ndimage.median_filter(np.asarray(chunk), size=size, mode=mode)]
