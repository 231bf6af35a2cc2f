from __future__ import annotations

import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.datasets import pinky40_labels
from chunkflow.segmentation import noisy_affinities


@pytest.fixture(scope="session")
def labels() -> Chunk:
    """64x128x128 of real neuron labels."""
    full = pinky40_labels()
    return full.with_array(np.ascontiguousarray(full.array[:64, :128, :128]))


@pytest.fixture(scope="session")
def affs(labels) -> Chunk:
    return Chunk(noisy_affinities(labels.array, seed=1), labels.voxel_offset, labels.voxel_size, "affinity_map")
