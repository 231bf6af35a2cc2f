"""Threshold sweeps: one waterz run for all thresholds, scores equal to separate runs, the best
threshold is the lowest ARE, the PNG shows the curves; named scoring functions."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from chunkflow import Chunk
from chunkflow.cli import cli
from chunkflow.errors import InvalidParameterError
from chunkflow.segmentation import agglomerate, evaluate_segmentation, noisy_affinities
from chunkflow.segmentation.agglomerate import SCORING_FUNCTIONS, scoring_function
from chunkflow.segmentation.sweep import sweep_thresholds, write_sweep

THRESHOLDS = [0.2, 0.4, 0.6, 0.8]


@pytest.fixture(scope="module")
def small(labels):
    gt = labels.with_array(np.ascontiguousarray(labels.array[:32, :96, :96]))
    affs = Chunk(
        noisy_affinities(gt.array, seed=2, noise=0.2, flip_fraction=0.03),
        gt.voxel_offset,
        gt.voxel_size,
        "affinity_map",
    )
    return affs, gt


@pytest.fixture(scope="module")
def swept(small):
    affs, gt = small
    return sweep_thresholds(affs, gt, [0.8, 0.2, 0.6, 0.4])  # any order


def test_sweep_equals_separate_runs_and_picks_lowest_are(small, swept):
    affs, gt = small
    result, best = swept
    assert [r["threshold"] for r in result.rows] == THRESHOLDS
    ares = [r["adapted_rand_error"] for r in result.rows]
    assert len(set(ares)) > 1  # a real curve, not a flat line
    assert result.best_threshold == THRESHOLDS[int(np.argmin(ares))]
    for row in result.rows:  # scores from merged fragment tables == scoring each segmentation's voxels
        scores = evaluate_segmentation(agglomerate(affs, row["threshold"]), gt).to_dict()
        for key, value in row.items():
            assert value == pytest.approx(scores.get(key, value), abs=1e-12), key
    assert np.array_equal(best.array, agglomerate(affs, result.best_threshold).array)
    splits = [r["voi_split"] for r in result.rows]
    assert splits == sorted(splits, reverse=True)  # higher thresholds merge more


def test_sweep_from_given_fragments(small, swept):
    from chunkflow.segmentation import watershed

    affs, gt = small
    result, best = sweep_thresholds(affs, gt, THRESHOLDS, fragments=watershed(affs))
    assert result.rows == swept[0].rows and np.array_equal(best.array, swept[1].array)


def test_png_shows_the_curves(tmp_path, swept):
    from PIL import Image

    table, figure = write_sweep(swept[0], tmp_path / "out")
    assert json.loads(open(table).read())["best_threshold"] == swept[0].best_threshold
    image = np.asarray(Image.open(figure).convert("RGB")).astype(int)
    assert image.shape[0] >= 400 and image.shape[1] >= 600
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50  # not blank
    red = (image[..., 0] > 180) & (image[..., 1] < 80) & (image[..., 2] < 80)  # the ARE curve (tab:red)
    blue = (image[..., 2] > 150) & (image[..., 0] < 80)  # VI split (tab:blue)
    assert red.sum() > 300 and blue.sum() > 300


def _h5(path, array, offset=(192, 128, 128)):
    with h5py.File(path, "w") as f:
        f["main"] = array
        f["voxel_offset"] = np.array(offset)
        f["voxel_size"] = np.array([40, 4, 4])


def test_cli_sweep_space_and_comma_separated(tmp_path, small, swept):
    affs, gt = small
    _h5(tmp_path / "affs.h5", affs.array)
    _h5(tmp_path / "gt.h5", gt.array)
    args = ["load-h5", "-f", str(tmp_path / "affs.h5"), "-o", "affs", "load-h5", "-f", str(tmp_path / "gt.h5"), "-o",
            "gt", "agglomerate", "-i", "affs", "-o", "seg", "--thresholds", "0.2", "0.4,0.6", "0.8",
            "--groundtruth-chunk-name", "gt", "--sweep-output", str(tmp_path / "sweep"),
            "save-h5", "-i", "seg", "-f", str(tmp_path / "seg.h5")]  # fmt: skip
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert "<- best" in out.output
    table = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert [r["threshold"] for r in table["rows"]] == THRESHOLDS
    assert table["best_threshold"] == swept[0].best_threshold
    assert (tmp_path / "sweep" / "sweep.png").stat().st_size > 10_000
    with h5py.File(tmp_path / "seg.h5") as f:  # the chain went on with the best segmentation
        assert np.array_equal(f["main"][:], swept[1].array)


def test_cli_sweep_refusals(tmp_path):
    runner = CliRunner()
    out = runner.invoke(cli, ["agglomerate", "--sweep-output", str(tmp_path / "s")])
    assert out.exit_code != 0 and "--sweep-output needs --thresholds" in out.output
    out = runner.invoke(cli, ["agglomerate", "--thresholds", "0.5", "1.5"])
    assert out.exit_code != 0 and "must lie in [0, 1]" in out.output
    assert not (tmp_path / "s").exists()


def test_named_scoring_functions(small):
    assert scoring_function("hist_quant_50") == scoring_function("quantile-50")
    assert "50, ScoreValue, 256, true" in SCORING_FUNCTIONS["hist_quant_50_initmax"]
    assert scoring_function("hist_quant_75").startswith("OneMinus<HistogramQuantileAffinity<RegionGraphType, 75,")
    with pytest.raises(InvalidParameterError, match="hist_quant"):
        scoring_function("median")
    affs, gt = small
    median = agglomerate(affs, 0.5, scoring="hist_quant_50")
    mean = agglomerate(affs, 0.5)
    assert not np.array_equal(median.array, mean.array)  # a different merge order really ran
    assert evaluate_segmentation(median, gt).adapted_rand_error < 0.5
