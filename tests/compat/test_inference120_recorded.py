"""``inference`` with 1.2.0's blending flags against outputs recorded from chunkflow 1.2.0 itself
(``tests/compat/record120.py`` regenerates ``data/ref120_inference.npz``); no 1.2.0 install needed."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from chunkflow.cli import main
from tests.compat.record120 import CASES, PATCH, input_chunk, model_flags

REFERENCE = np.load(Path(__file__).parent / "data" / "ref120_inference.npz")


def run_ours(box: str, flags: list[str], tmp_path: Path, model: list[str]) -> tuple[np.ndarray, tuple[int, ...]]:
    image, out = tmp_path / "image.h5", tmp_path / "out.h5"
    input_chunk(box).to_h5(str(image))
    assert main(["load-h5", "-f", str(image), "inference", *model, *PATCH, *flags, "save-h5", "-f", str(out)]) == 0
    with h5py.File(out, "r") as f:
        return np.asarray(f["main"]), tuple(int(v) for v in f["voxel_offset"])


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_demo_model_equals_recorded_120(case, tmp_path):
    box, flags = CASES[case]
    ours, offset = run_ours(box, flags, tmp_path, model_flags())
    theirs = REFERENCE[case]
    assert offset == tuple(REFERENCE[f"{case}_offset"]) and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)


def test_mask_output_chunk_with_identity_returns_the_input_on_any_chunk(tmp_path):
    """1.2.0 normalises by the chunk's own summed weights: an identity model gives its input back,
    border band included, on a chunk that is not a whole number of patches."""
    box, flags = CASES["mask_irregular"]
    ours, _ = run_ours(box, flags, tmp_path, ["-f", "identity"])
    expected = input_chunk(box).array.astype(np.float32) / 255
    np.testing.assert_allclose(ours, np.broadcast_to(expected, ours.shape), atol=1e-6, rtol=0)


def test_taper_output_chunk_is_ours_and_differs_at_the_border(tmp_path):
    box, _ = CASES["mask_regular"]
    tapered, _ = run_ours(box, ["--taper-output-chunk"], tmp_path, ["-f", "identity"])
    expected = input_chunk(box).array.astype(np.float32) / 255
    inner = (slice(None), slice(2, -2), slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(tapered[inner], np.broadcast_to(expected, tapered.shape)[inner], atol=1e-6)
    assert np.abs(tapered - expected).max() > 0.1  # the border band is tapered for summing with neighbours
