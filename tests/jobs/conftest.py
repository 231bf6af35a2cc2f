from __future__ import annotations

import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.datasets import pinky40_labels
from chunkflow.segmentation import noisy_affinities


@pytest.fixture(scope="session")
def job_labels() -> Chunk:
    """48x96x96 of real neuron labels (pinky40)."""
    full = pinky40_labels()
    return full.with_array(np.ascontiguousarray(full.array[:48, :96, :96]))


@pytest.fixture(scope="session")
def job_affs(job_labels) -> Chunk:
    return Chunk(
        noisy_affinities(job_labels.array, seed=1), job_labels.voxel_offset, job_labels.voxel_size, "affinity_map"
    )


@pytest.fixture(scope="session")
def whole_seg(job_affs) -> Chunk:
    """The single-chunk run: waterz on the whole affinity map."""
    from chunkflow.segmentation import agglomerate

    return agglomerate(job_affs, 0.7)


def split_counts(seg: np.ndarray, gt: np.ndarray, axis: int) -> np.ndarray:
    """Per plane k along ``axis``: ground-truth pairs (voxel k-1, voxel k; same non-zero label) the
    segmentation puts in different segments. Entry 0 is always 0."""
    a = np.moveaxis(seg, axis, 0)
    g = np.moveaxis(gt, axis, 0)
    same = (g[1:] == g[:-1]) & (g[1:] != 0)
    split = same & (a[1:] != a[:-1])
    return np.concatenate([[0], split.reshape(split.shape[0], -1).sum(axis=1)])
