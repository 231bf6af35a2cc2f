"""``evaluate-segmentation --skeletons``: ERL in the JSON output, per-object CSV, refusals."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from chunkflow.cli import cli


def _h5(path, array, offset=(0, 0, 0), voxel_size=(40, 4, 4)):
    with h5py.File(path, "w") as f:
        f["main"] = array
        f["voxel_offset"] = np.array(offset)
        f["voxel_size"] = np.array(voxel_size)


@pytest.fixture
def straight_skeletons(tmp_path):
    """Two straight skeletons along x in a precomputed skeleton directory: lengths 40 and 20 nm."""
    from cloudvolume import Skeleton

    from chunkflow import files
    from chunkflow.postprocess.skeleton import skeleton_dir

    directory = skeleton_dir(str(tmp_path / "vol"))
    for obj, y, n in ((5, 2, 11), (9, 6, 6)):
        xyz = np.array([(x * 4.0, y * 4.0, 40.0) for x in range(n)], dtype=np.float32)  # z = section 1
        edges = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1)
        files.write_bytes(files.join(directory, str(obj)), Skeleton(xyz, edges, segid=obj).to_precomputed())
    seg = np.zeros((3, 8, 12), dtype=np.uint32)
    seg[1, 2, :5], seg[1, 2, 5:] = 1, 2  # object 5 split after 4 edges: pieces of 16 and 20 nm
    seg[1, 6, :6] = 3
    _h5(tmp_path / "seg.h5", seg)
    return tmp_path


def test_erl_json_and_csv(straight_skeletons):
    tmp = straight_skeletons
    out = CliRunner().invoke(
        cli,
        [
            "load-h5",
            "-f",
            str(tmp / "seg.h5"),
            "-o",
            "seg",
            "evaluate-segmentation",
            "-s",
            "seg",
            "--skeletons",
            f"file://{tmp}/vol",
            "-o",
            str(tmp / "s.json"),
            "--csv-file",
            str(tmp / "rows.csv"),
        ],
    )
    assert out.exit_code == 0, out.output
    assert "expected run length" in out.output and "rand index" not in out.output  # no ground-truth chunk
    erl = json.loads((tmp / "s.json").read_text())["erl"]
    # object 5: L = 40, pieces 16 and 20 -> (256 + 400) / 40; object 9: L = 20 intact
    assert abs(erl["erl"] - (40 * (656 / 40) + 20 * 20) / 60) < 1e-6
    assert abs(erl["gt_erl"] - (1600 + 400) / 60) < 1e-6
    assert (erl["splits"], erl["merges"], erl["skeletons"]) == (1, 0, 2)
    rows = list(csv.DictReader((tmp / "rows.csv").open()))
    assert [r["object_id"] for r in rows] == ["5", "9"]
    assert (
        rows[0]["splits"] == "1"
        and rows[0]["split_edges"] == "1"
        and float(rows[0]["path_length"]) == pytest.approx(40)
    )
    assert [o["object_id"] for o in erl["objects"]] == [5, 9]


def test_kimimaro_from_ground_truth(tmp_path, labels):
    gt = np.ascontiguousarray(labels.array[:16, :96, :96])
    seg = gt.copy()
    ids, counts = np.unique(gt[gt > 0], return_counts=True)
    a, b = ids[np.argsort(counts)[::-1][:2]]
    seg[seg == b] = a  # merge the two largest objects
    _h5(tmp_path / "gt.h5", gt, (192, 128, 128))
    _h5(tmp_path / "seg.h5", seg, (192, 128, 128))
    out = CliRunner().invoke(
        cli,
        [
            "load-h5",
            "-f",
            str(tmp_path / "gt.h5"),
            "-o",
            "gt",
            "load-h5",
            "-f",
            str(tmp_path / "seg.h5"),
            "-o",
            "seg",
            "evaluate-segmentation",
            "-s",
            "seg",
            "-g",
            "gt",
            "--skeletons",
            "kimimaro",
            "--skeleton-dust-threshold",
            "500",
            "-o",
            str(tmp_path / "s.json"),
        ],
    )
    assert out.exit_code == 0, out.output
    record = json.loads((tmp_path / "s.json").read_text())
    assert record["adapted_rand_error"] > 0 and record["erl"]["merges"] == 1
    merged = [o for o in record["erl"]["objects"] if o["merged_into"]]
    assert {o["object_id"] for o in merged} == {int(a), int(b)}
    assert record["erl"]["erl"] < record["erl"]["gt_erl"]


def test_refusals(straight_skeletons):
    tmp = straight_skeletons
    runner = CliRunner()
    base = ["load-h5", "-f", str(tmp / "seg.h5"), "-o", "seg", "evaluate-segmentation", "-s", "seg"]
    out = runner.invoke(cli, [*base, "--csv-file", str(tmp / "r.csv")])
    assert out.exit_code != 0 and "give --skeletons too" in out.output
    out = runner.invoke(cli, [*base, "--skeletons", str(tmp / "nowhere"), "-o", str(tmp / "x.json")])
    assert out.exit_code != 0 and "skeletons not found" in str(out.exception)
    assert not (tmp / "x.json").exists()
    # skeletons in voxel units read as nm land outside this box
    out = runner.invoke(cli, [*base, "--skeletons", f"file://{tmp}/vol", "--skeleton-units", "voxel"])
    assert out.exit_code != 0 and "no skeleton edge lies inside" in str(out.exception)
