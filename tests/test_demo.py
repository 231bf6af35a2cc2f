"""``make demo`` end to end: the shipped model on the sample, scores, pyramid, meshes, link."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cloudvolume import CloudVolume

from chunkflow.datasets import demo_model, pinky40_labels, sample_image
from chunkflow.demo import main


def test_demo_model_files_and_card():
    files = demo_model()
    assert sum(files[k].stat().st_size for k in ("weights", "onnx")) <= 5 * 2**20
    card = json.loads(files["card"].read_text())
    assert card["held_out_scores"][str(card["recommended_threshold"])]["adapted_rand_error"] < 0.2
    image = sample_image()
    assert image.dtype == np.uint8 and image.bbox == pinky40_labels().bbox and 40 < image.array.mean() < 220


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, capsys):
    assert main(["--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "adapted Rand error vs ground truth" in out and "http://127.0.0.1:9015/v/<token>/" in out
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["adapted_rand_error"] < 0.1 and scores["variation_of_information"] < 1.5
    seg = CloudVolume(f"file://{tmp_path / 'seg'}", progress=False)
    assert len(seg.info["scales"]) >= 4 and seg.info["mesh"] == "mesh"
    ids, counts = np.unique(seg[:, :, :], return_counts=True)
    biggest = int(ids[np.argmax(counts)])
    mesh = seg.mesh.get(biggest)
    mesh = mesh[biggest] if isinstance(mesh, dict) else mesh
    assert len(mesh.faces) > 1000
    image = CloudVolume(f"file://{tmp_path / 'image'}", mip=3, progress=False)
    assert image.shape[:3] == (32, 32, 128)
    affs = CloudVolume(f"file://{tmp_path / 'affs'}", progress=False)
    assert affs.num_channels == 3 and affs.dtype == "float32"
