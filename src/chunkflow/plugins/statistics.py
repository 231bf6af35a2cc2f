"""Print the number of distinct ids (0 included) and the smallest and largest, for a segmentation."""

import numpy as np


def execute(chunk):
    if chunk.is_segmentation:
        ids = np.unique(chunk.array)
        print(f"{len(ids)} objects with min id {ids.min()} and max id {ids.max()}")
