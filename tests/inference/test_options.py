"""Inferencer settings in three small frozen groups give the same inferencer as the keywords."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from chunkflow.chunk import Chunk
from chunkflow.inference import IdentityEngine, Inferencer, ModelOptions, PatchOptions, RunOptions


def test_options_build_the_inferencer_the_keywords_build():
    patches = PatchOptions((4, 16, 16), output_patch_overlap=(2, 8, 8), output_crop_margin=(0, 0, 0), bump="gaussian")
    model = ModelOptions(num_output_channels=2, dtype="float16")
    run = RunOptions(batch_size=3, progress=False)
    grouped = Inferencer.from_options(IdentityEngine(2), patches, model, run)
    flat = Inferencer(
        IdentityEngine(2),
        (4, 16, 16),
        output_patch_overlap=(2, 8, 8),
        output_crop_margin=(0, 0, 0),
        bump="gaussian",
        num_output_channels=2,
        dtype="float16",
        batch_size=3,
        progress=False,
    )
    for field in dataclasses.fields(Inferencer):
        if field.name != "engine":
            assert getattr(grouped, field.name) == getattr(flat, field.name), field.name
    chunk = Chunk(np.random.default_rng(0).random((8, 32, 32), dtype=np.float32))
    out = grouped(chunk)
    assert out.array.shape == (2, 8, 32, 32) and out.array.dtype == np.float16
    np.testing.assert_array_equal(out.array, flat(chunk).array)


def test_groups_are_frozen_and_checked_where_the_inferencer_is_made():
    patches = PatchOptions((4, 16, 16))
    with pytest.raises(dataclasses.FrozenInstanceError):
        patches.bump = "gaussian"  # type: ignore[misc]
    assert Inferencer.from_options(IdentityEngine(3), patches).output_layer_type == "affinity_map"
    from chunkflow.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="batch size 0"):
        Inferencer.from_options(IdentityEngine(3), patches, run=RunOptions(batch_size=0))
