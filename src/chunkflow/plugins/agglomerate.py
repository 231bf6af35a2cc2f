"""Watershed + mean-affinity agglomeration of an affinity map (waterz) at one threshold.

Affinity channels are x, y, z (chunkflow 1.2.0's order) and are flipped for waterz unless
flip_channel=False; fragments (optional) are the watershed to start from.
"""

import numpy as np
import waterz

from chunkflow.chunk import Chunk


def execute(
    affs,
    fragments=None,
    threshold=0.7,
    aff_threshold_low=0.001,
    aff_threshold_high=0.9999,
    scoring_function="OneMinus<MeanAffinity<RegionGraphType, ScoreValue>>",
    flip_channel=True,
):
    array = np.asarray(affs)
    if flip_channel:
        array = np.flip(array, axis=0)
    array = np.ascontiguousarray(array, dtype=np.float32)
    if fragments is not None:
        fragments = np.ascontiguousarray(np.asarray(fragments), dtype=np.uint64)
    seg = next(
        waterz.agglomerate(
            array,
            [threshold],
            fragments=fragments,
            aff_threshold_low=aff_threshold_low,
            aff_threshold_high=aff_threshold_high,
            scoring_function=scoring_function,
            force_rebuild=False,
        )
    )
    return [Chunk(seg, affs.voxel_offset, affs.voxel_size, "segmentation")]
