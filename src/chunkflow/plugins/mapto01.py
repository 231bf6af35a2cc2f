"""Map [-1, 1] to [0, 1] as (x + 1) / 2 (uint8 is first divided by 255)."""

import numpy as np


def execute(chunk):
    if chunk.dtype == np.uint8:
        chunk = chunk.astype(np.float32) / 255.0
    if chunk.dtype != np.float32 or chunk.min() < -1 or chunk.max() > 1:
        raise ValueError(f"mapto01 takes uint8, or float32 within [-1, 1]; got {chunk.dtype}")
    return [(chunk + 1.0) / 2.0]
