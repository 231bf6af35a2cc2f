"""Map uint8 [min_threshold, max_threshold) linearly onto [0, 255] (clipped) by a lookup table. In place."""

import numpy as np


def execute(chk, min_threshold=0, max_threshold=256):
    if chk.dtype != np.uint8:
        raise TypeError(f"stretch_intensity takes uint8, got {chk.dtype}")
    if not 0 <= min_threshold < max_threshold <= 256:
        raise ValueError(f"need 0 <= min_threshold < max_threshold <= 256, got {min_threshold}, {max_threshold}")
    table = np.clip((np.arange(256, dtype=np.float32) - min_threshold) / (max_threshold - min_threshold), 0.0, 1.0)
    table = (table * 255).astype(np.uint8)
    chk.array = table[chk.array]
    return chk
