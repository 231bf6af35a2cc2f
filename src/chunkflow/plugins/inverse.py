"""Invert intensities: 255 - x for uint8, 1 - x for float32 within [0, 1]."""

import numpy as np


def execute(chunk):
    if chunk.dtype == np.uint8:
        return [255 - chunk]
    if chunk.dtype == np.float32 and chunk.min() >= 0 and chunk.max() <= 1:
        return [1.0 - chunk]
    raise TypeError(f"inverse takes uint8 or float32 within [0, 1], got {chunk.dtype}")
