from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chunkflow import Chunk
from chunkflow.errors import InvalidParameterError
from chunkflow.inference import IdentityEngine, Inferencer, make_grid
from chunkflow.inference.grid import axis_starts


@given(st.integers(1, 60), st.integers(1, 20), st.integers(0, 19))
def test_axis_starts_cover_and_flush(length, patch, overlap):
    if patch > length or overlap >= patch:
        return
    starts = axis_starts(length, patch, patch - overlap)
    covered = np.zeros(length, bool)
    for s in starts:
        covered[s : s + patch] = True
    assert covered.all() and starts[0] == 0 and starts[-1] == length - patch
    assert all(b - a <= patch - overlap for a, b in zip(starts, starts[1:]))


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(5, 23), st.integers(9, 41), st.integers(9, 41)),
    patch=st.tuples(st.integers(2, 5), st.integers(3, 9), st.integers(3, 9)),
    overlap_frac=st.floats(0, 0.9),
    bump=st.sampled_from(["wu", "gaussian"]),
    batch=st.integers(1, 4),
)
def test_identity_is_exact_on_any_chunk(shape, patch, overlap_frac, bump, batch):
    overlap = tuple(min(int(p * overlap_frac), p - 1) for p in patch)
    array = np.random.default_rng(1).random(shape, dtype=np.float32)
    chunk = Chunk(array, (3, 5, 7))
    out = Inferencer(
        IdentityEngine(2),
        patch,
        output_patch_overlap=overlap,
        output_crop_margin=(0, 0, 0),
        num_output_channels=2,
        bump=bump,
        batch_size=batch,
        progress=False,
    )(chunk)
    assert out.bbox == chunk.bbox and out.shape == (2, *shape) and out.dtype == np.float32
    np.testing.assert_allclose(out.array, np.broadcast_to(array, out.shape), rtol=2e-6, atol=1e-6)


def test_valid_convolution_margin_and_default_crop():
    array = np.random.default_rng(2).random((30, 40, 40), dtype=np.float32)
    chunk = Chunk(array, (10, 0, 0))
    inf = Inferencer(IdentityEngine(1), (10, 16, 16), (6, 12, 12), (2, 4, 4), num_output_channels=1, progress=False)
    out = inf(chunk)
    # margin (I-O)/2 = (2, 2, 2), plus default crop = overlap (2, 4, 4)
    assert tuple(out.voxel_offset) == (14, 6, 6) and out.spatial_shape == (22, 28, 28)
    np.testing.assert_allclose(out.array[0], chunk.cutout(out.bbox).array, rtol=1e-6)


def test_patch_num_reproduces_chunkflow_overlap():
    grid = make_grid((68, 832, 832), (20, 256, 256), patch_num=(4, 4, 4))
    assert grid.shape == (4, 4, 4) and tuple(grid.overlap) == (4, 64, 64) and grid.is_regular()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(chunk_shape=(10, 10, 10), input_patch_size=(12, 4, 4)), "larger than the chunk"),
        (dict(chunk_shape=(10, 10, 10), input_patch_size=(4, 4, 4), output_patch_overlap=(4, 0, 0)), "overlap"),
        (dict(chunk_shape=(10, 10, 10), input_patch_size=(4, 4, 4), output_patch_overlap=(-1, 0, 0)), "overlap"),
        (dict(chunk_shape=(10, 10, 10), input_patch_size=(4, 4, 4), output_patch_size=(3, 4, 4)), "centred"),
        (dict(chunk_shape=(10, 10, 10), input_patch_size=(4, 4, 4), patch_num=(1, 2, 2)), "cannot cover"),
    ],
)
def test_bad_grids_refused(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        make_grid(**kwargs)


def test_tiled_masked_chunks_sum_to_whole_volume():
    """Overlapping chunks with --taper-output-chunk, summed, equal one inference over the whole volume."""
    rng = np.random.default_rng(3)
    patch, overlap = (4, 8, 8), (2, 4, 4)
    stride = (2, 4, 4)
    shape = tuple(p + s * 7 for p, s in zip(patch, stride))  # 18, 36, 36
    volume = Chunk(rng.random(shape, dtype=np.float32), (0, 0, 0))

    class Nonlinear:  # a patch-dependent engine, so blending weights matter
        device = "cpu"

        def predict(self, batch):
            return np.sin(batch * 3) + batch.mean(axis=(2, 3, 4), keepdims=True)

    def inferencer():
        return Inferencer(
            Nonlinear(),
            patch,
            output_patch_overlap=overlap,
            taper_output_chunk=True,
            num_output_channels=1,
            progress=False,
        )

    whole = inferencer()(volume)
    total = np.zeros_like(whole.array)
    # chunks of 3 patches per axis (size patch + 2 stride), stepping 3 strides: they overlap by the patch overlap
    for z in range(0, 8, 3):
        for y in range(0, 8, 3):
            for x in range(0, 8, 3):
                nz, ny, nx = (min(3, 8 - i) for i in (z, y, x))
                start = (z * 2, y * 4, x * 4)
                size = (4 + 2 * (nz - 1), 8 + 4 * (ny - 1), 8 + 4 * (nx - 1))
                from chunkflow import BoundingBox

                box = BoundingBox.from_size(start, size)
                part = inferencer()(volume.cutout(box))
                total[(slice(None), *part.bbox.slices(whole.bbox))] += part.array
    np.testing.assert_allclose(total, whole.array, rtol=1e-5, atol=1e-6)
    # and away from the volume's faces, the masked whole equals plain (unmasked) inference
    plain = Inferencer(
        Nonlinear(),
        patch,
        output_patch_overlap=overlap,
        output_crop_margin=(0, 0, 0),
        num_output_channels=1,
        progress=False,
    )(volume)
    inner = (slice(None), slice(4, -4), slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(whole.array[inner], plain.array[inner], rtol=1e-5, atol=1e-6)


def test_taper_output_chunk_needs_regular_grid():
    with pytest.raises(InvalidParameterError, match="fits the patch grid"):
        Inferencer(IdentityEngine(1), (4, 8, 8), taper_output_chunk=True, num_output_channels=1, progress=False)(
            Chunk(np.zeros((9, 16, 16), np.float32))
        )


def test_threaded_pipeline_equals_inline_and_propagates_errors():
    """Accelerator engines run one batch ahead in a thread; results and errors must be the same."""

    class Fake:
        def __init__(self, device, fail_at=None):
            self.device, self.calls, self.fail_at = device, 0, fail_at

        def predict(self, batch):
            self.calls += 1
            if self.calls == self.fail_at:
                raise RuntimeError("device lost")
            return np.tanh(batch) * 2

    chunk = Chunk(np.random.default_rng(5).random((20, 50, 50), dtype=np.float32))
    results = [
        Inferencer(Fake(device), (4, 16, 16), num_output_channels=1, batch_size=3, progress=False)(chunk).array
        for device in ("cpu", "cuda:0")
    ]
    np.testing.assert_array_equal(results[0], results[1])
    with pytest.raises(RuntimeError, match="device lost"):
        Inferencer(Fake("cuda:0", fail_at=3), (4, 16, 16), num_output_channels=1, progress=False)(chunk)


def test_memory_mapped_output_buffer_equals_in_memory_and_leaves_no_file(tmp_path):
    array = np.random.default_rng(2).random((20, 70, 90), dtype=np.float32)
    chunk = Chunk(array, (0, 0, 0))
    kwargs = dict(output_patch_overlap=(2, 8, 8), num_output_channels=3, progress=False)
    in_memory = Inferencer(IdentityEngine(3), (8, 32, 32), **kwargs)(chunk)
    mapped = Inferencer(IdentityEngine(3), (8, 32, 32), output_buffer_dir=str(tmp_path), **kwargs)(chunk)
    base = mapped.array
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    assert isinstance(base, np.memmap) and mapped.bbox == in_memory.bbox  # file-backed, not a copy
    np.testing.assert_array_equal(mapped.array, in_memory.array)
    assert list(tmp_path.iterdir()) == []  # the buffer's file is unlinked from the start
    with pytest.raises(InvalidParameterError, match="does not exist"):
        Inferencer(IdentityEngine(3), (8, 32, 32), output_buffer_dir=str(tmp_path / "no"), **kwargs)(chunk)
