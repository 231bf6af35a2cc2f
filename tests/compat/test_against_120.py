"""Our inference against chunkflow 1.2.0 itself, run from its own virtual environment.

Set CHUNKFLOW120_PYTHON to the python of an environment with ``chunkflow==1.2.0`` installed
(``python3.11 -m venv /tmp/cf120c && /tmp/cf120c/bin/pip install chunkflow==1.2.0
opencv-python-headless "numpy<2" torch==2.13.0``); skipped where there is none. 1.2.0 asks torch.cuda for a
device name even on a CPU; ``run120.py`` patches that and runs 1.2.0's command line unchanged.
"""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from chunkflow.chunk import Chunk
from chunkflow.compat.chunk import as_120
from chunkflow.datasets import demo_model, sample_image
from chunkflow.geometry import BoundingBox

PYTHON = os.environ.get("CHUNKFLOW120_PYTHON", "/tmp/cf120c/bin/python")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(PYTHON).exists(), reason=f"no chunkflow 1.2.0 environment at {PYTHON}"),
]
HERE = Path(__file__).parent
# 2 x 2 x 2 patches of 16 x 64 x 64 with overlap 4 x 16 x 16 fill 28 x 112 x 112 exactly (1.2.0 needs that)
PATCH = ["-s", "16", "64", "64", "-v", "4", "16", "16", "-c", "3"]


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cmp120") / "img.h5"
    as_120(sample_image().cutout(BoundingBox.from_string("200-228_150-262_150-262"))).clone().to_h5(str(path))
    return path


def run_both(image_file, tmp_path, *args, ours_only=()):
    ours, theirs = tmp_path / "ours.h5", tmp_path / "theirs.h5"
    done = subprocess.run(
        [
            PYTHON,
            str(HERE / "run120.py"),
            "load-h5",
            "-f",
            str(image_file),
            "inference",
            *args,
            *PATCH,
            "-n",
            "2",
            "2",
            "2",
            "save-h5",
            "-f",
            str(theirs),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    from chunkflow.cli import main

    assert (
        main(["load-h5", "-f", str(image_file), "inference", *args, *ours_only, *PATCH, "save-h5", "-f", str(ours)])
        == 0
    )
    return Chunk.from_h5(str(ours)), Chunk.from_h5(str(theirs))


def test_identity_workload_equals_120(image_file, tmp_path):
    ours, theirs = run_both(image_file, tmp_path, "-f", "identity")
    assert ours.bbox == theirs.bbox and ours.shape == theirs.shape == (3, 20, 80, 80)
    np.testing.assert_allclose(ours.array, theirs.array, atol=1e-5, rtol=0)


def test_trained_120_model_file_single_patch_voxels_equal_120(image_file, tmp_path):
    model = demo_model()
    ours, theirs = run_both(
        image_file, tmp_path, "-f", "pytorch", "-m", str(model["model"]), "-w", str(model["weights"])
    )
    assert ours.bbox == theirs.bbox
    diff = np.abs(ours.array - theirs.array).max(axis=0)
    # voxels inside exactly one output patch (patch starts 0, 12 in z and 0, 48 in y, x; output cropped by overlap)
    single = np.ones(diff.shape, bool)
    for axis, (starts, size, crop) in enumerate([((0, 12), 16, 4), ((0, 48), 64, 16), ((0, 48), 64, 16)]):
        cover = np.zeros(diff.shape[axis], int)
        for s in starts:
            cover[max(s - crop, 0) : min(s + size - crop, diff.shape[axis])] += 1
        single &= (cover == 1).reshape([-1 if a == axis else 1 for a in range(3)])
    assert single.sum() > 0 and diff[single].max() <= 1e-5
    # our default wu is 1.2.0's weight: overlaps equal too
    assert diff.max() <= 1e-5


def test_trained_120_model_file_equals_120_with_its_bump(image_file, tmp_path):
    """With ``--bump wu-1.2.0`` every voxel, overlaps included, equals 1.2.0's output to 1e-5."""
    model = demo_model()
    ours, theirs = run_both(
        image_file,
        tmp_path,
        "-f",
        "pytorch",
        "-m",
        str(model["model"]),
        "-w",
        str(model["weights"]),
        ours_only=("--bump", "wu-1.2.0"),
    )
    assert ours.bbox == theirs.bbox
    np.testing.assert_allclose(ours.array, theirs.array, atol=1e-5, rtol=0)


def test_identity_workload_equals_120_with_its_bump(image_file, tmp_path):
    ours, theirs = run_both(image_file, tmp_path, "-f", "identity", ours_only=("--bump", "wu-1.2.0"))
    np.testing.assert_allclose(ours.array, theirs.array, atol=1e-5, rtol=0)
