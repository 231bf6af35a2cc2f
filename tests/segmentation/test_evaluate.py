from __future__ import annotations

import itertools
import json

import fastremap
import numpy as np
import pytest
from skimage.metrics import adapted_rand_error, variation_of_information

from chunkflow import Chunk
from chunkflow.cli import main
from chunkflow.errors import IncompatibleChunkError
from chunkflow.segmentation import evaluate_segmentation


def perturbed(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """A segmentation with merges (labels folded), splits (a plane), and some zeros."""
    rng = np.random.default_rng(seed)
    seg = (labels % 17).astype(np.uint32)
    seg[:, :, labels.shape[2] // 2 :] += 100
    seg[rng.random(labels.shape) < 0.01] = 0
    return seg


@pytest.mark.parametrize("which", ["real", "random"])
def test_equals_scikit_image(labels, which):
    if which == "real":
        gt, seg = labels.array, perturbed(labels.array)
    else:
        rng = np.random.default_rng(3)
        gt = rng.integers(0, 6, size=(9, 11, 13)).astype(np.uint32)
        seg = rng.integers(0, 4, size=(9, 11, 13)).astype(np.uint64) * 1000
    scores = evaluate_segmentation(Chunk(seg), Chunk(gt))
    # scikit-image sizes its tables by the largest label (78 million in pinky40: minutes); the scores depend
    # only on the partition, so it gets the same partition renumbered 1..n (0 stays the ignored label)
    gt, seg = (fastremap.renumber(a, preserve_zero=True)[0] for a in (gt, seg))
    are, precision, recall = adapted_rand_error(gt, seg, ignore_labels=(0,))
    split, merge = variation_of_information(gt, seg, ignore_labels=(0,))
    assert abs(scores.adapted_rand_error - are) < 1e-9
    assert abs(scores.adapted_rand_precision - precision) < 1e-9
    assert abs(scores.adapted_rand_recall - recall) < 1e-9
    assert abs(scores.voi_split - split) < 1e-9 and abs(scores.voi_merge - merge) < 1e-9
    assert abs(scores.variation_of_information - split - merge) < 1e-9


def test_huge_label_values_give_the_same_scores(labels):
    seg = perturbed(labels.array)
    small = evaluate_segmentation(labels.with_array(seg), labels).to_dict()
    huge = evaluate_segmentation(labels.with_array(seg.astype(np.uint64) * 2**40 + 7), labels).to_dict()
    for key in ("rand_index", "adapted_rand_error", "voi_split", "voi_merge"):
        assert abs(small[key] - huge[key]) < 1e-12


def test_rand_index_by_pair_counting():
    rng = np.random.default_rng(4)
    gt = rng.integers(0, 4, size=(3, 4, 5)).astype(np.uint32)
    seg = rng.integers(1, 4, size=(3, 4, 5)).astype(np.uint32)
    keep = gt.ravel() != 0
    g, s = gt.ravel()[keep], seg.ravel()[keep]
    agree = sum((g[i] == g[j]) == (s[i] == s[j]) for i, j in itertools.combinations(range(len(g)), 2))
    expected = agree / (len(g) * (len(g) - 1) / 2)
    assert abs(evaluate_segmentation(Chunk(seg), Chunk(gt)).rand_index - expected) < 1e-12


def test_perfect_segmentation_and_ignored_zero(labels):
    seg = labels.array.copy()
    seg[labels.array == 0] = 12345  # whatever is under gt 0 does not count
    scores = evaluate_segmentation(labels.with_array(seg), labels)
    assert scores.adapted_rand_error == pytest.approx(0, abs=1e-12)
    assert scores.variation_of_information == pytest.approx(0, abs=1e-12)
    assert scores.rand_index == pytest.approx(1)
    assert all(v == 0 for v in scores.largest_object_splits.values())


def test_largest_object_splits_and_merges():
    gt = np.zeros((4, 10, 10), np.uint32)
    gt[:, :, :5], gt[:, :, 5:] = 1, 2
    seg = np.ones_like(gt)  # one segment over both objects: a merge
    seg[:2, :, :5] = 7  # object 1 split in two
    scores = evaluate_segmentation(Chunk(seg), Chunk(gt))
    assert scores.largest_object_splits[1] == 1 and scores.largest_object_splits[2] == 0
    assert scores.largest_object_merges[1] == 1


@pytest.mark.parametrize(
    "seg,gt,message",
    [
        (np.zeros((4, 4, 4), np.float32), np.zeros((4, 4, 4), np.uint32), "integer labels"),
        (np.zeros((4, 4, 4), np.uint32), np.zeros((4, 4, 5), np.uint32), "same bounding box"),
    ],
)
def test_bad_inputs(seg, gt, message):
    with pytest.raises(IncompatibleChunkError, match=message):
        evaluate_segmentation(Chunk(seg), Chunk(gt))
    with pytest.raises(IncompatibleChunkError, match="same bounding box"):
        evaluate_segmentation(Chunk(np.zeros((4, 4, 4), np.uint32), (1, 0, 0)), Chunk(np.zeros((4, 4, 4), np.uint32)))


def test_cli_writes_json(labels, tmp_path, capsys):
    from chunkflow.volumes import save_chunk

    save_chunk(str(tmp_path / "gt.h5"), labels)
    save_chunk(str(tmp_path / "seg.h5"), labels.with_array(perturbed(labels.array)))
    code = main(
        [
            "load-h5",
            "-f",
            f"{tmp_path}/gt.h5",
            "-o",
            "gt",
            "load-h5",
            "-f",
            f"{tmp_path}/seg.h5",
            "-o",
            "seg",
            "evaluate-segmentation",
            "-s",
            "seg",
            "-g",
            "gt",
            "--output-file",
            f"{tmp_path}/scores.json",
        ]
    )
    assert code == 0
    scores = json.loads((tmp_path / "scores.json").read_text())
    for key in (
        "rand_index",
        "adapted_rand_error",
        "adapted_rand_precision",
        "adapted_rand_recall",
        "variation_of_information",
        "voi_split",
        "voi_merge",
    ):
        assert isinstance(scores[key], float)
    assert "adapted Rand error" in capsys.readouterr().out
