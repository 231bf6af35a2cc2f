"""chunkflow 1.2.0's commands and flags added here, run as command lines and checked by value."""

import json

import h5py
import numpy as np
import pytest
from scipy import ndimage

from chunkflow.chunk import Chunk
from chunkflow.cli import main


def cf(*args):
    return main([str(a) for a in args])


def test_create_and_adjust_bbox(tmp_path):
    assert (
        cf(
            "create-bbox",
            "-s",
            0,
            0,
            0,
            "-z",
            8,
            64,
            64,
            "adjust-bbox",
            "-c",
            2,
            4,
            4,
            -2,
            -4,
            -4,
            "create-chunk",
            "save-h5",
            "-f",
            f"{tmp_path}/",
        )
        == 0
    )
    assert [p.name for p in tmp_path.iterdir()] == ["2-6_4-60_4-60.h5"]


def test_skip_all_zero_marks_and_skips(tmp_path):
    assert (
        cf(
            "create-chunk",
            "-s",
            4,
            8,
            8,
            "-p",
            "zero",
            "-t",
            4,
            0,
            0,
            "skip-all-zero",
            "-p",
            f"{tmp_path}/z-",
            "-s",
            ".done",
            "save-h5",
            "-f",
            tmp_path / "never.h5",
        )
        == 0
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z-4-8_0-8_0-8.done"]


def test_skip_none_and_save_h5_touch(tmp_path):
    assert (
        cf(
            "create-bbox",
            "-s",
            0,
            0,
            0,
            "-z",
            4,
            8,
            8,
            "create-chunk",
            "plugin",
            "-f",
            "print_max_id",
            "-i",
            "chunk",
            "-o",
            "maybe",
            "save-h5",
            "-i",
            "maybe",
            "-f",
            f"{tmp_path}/t-",
            "skip-none",
            "-i",
            "maybe",
            "-p",
            f"{tmp_path}/none-",
            "save-h5",
            "-i",
            "chunk",
            "-f",
            tmp_path / "never.h5",
        )
        == 0
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["none-0-4_0-8_0-8", "t-0-4_0-8_0-8.h5"]
    assert (tmp_path / "t-0-4_0-8_0-8.h5").stat().st_size == 0


@pytest.mark.parametrize(
    "mode, present, skipped",
    [
        ("exist", "full", True),
        ("exist", None, False),
        ("missing", None, True),
        ("missing", "empty", False),
        ("empty", "empty", True),
        ("empty", "full", False),
    ],
)
def test_skip_task_by_file_modes(tmp_path, mode, present, skipped):
    marker = tmp_path / "m-0-4_0-8_0-8"
    if present:
        marker.write_bytes(b"x" if present == "full" else b"")
    assert (
        cf(
            "create-bbox",
            "-s",
            0,
            0,
            0,
            "-z",
            4,
            8,
            8,
            "skip-task-by-file",
            "-p",
            f"{tmp_path}/m-",
            "-m",
            mode,
            "create-chunk",
            "save-h5",
            "-f",
            tmp_path / "out.h5",
        )
        == 0
    )
    assert (tmp_path / "out.h5").exists() != skipped


def test_skip_task_by_file_adjust_size(tmp_path):
    (tmp_path / "m-2-10_2-10_2-10").touch()
    assert (
        cf(
            "create-bbox",
            "-s",
            4,
            4,
            4,
            "-z",
            4,
            4,
            4,
            "skip-task-by-file",
            "-p",
            f"{tmp_path}/m-",
            "-a",
            2,
            "create-chunk",
            "save-h5",
            "-f",
            tmp_path / "out.h5",
        )
        == 0
    )
    assert not (tmp_path / "out.h5").exists()


def test_create_bbox_refuses_bad_boxes(capsys):
    assert cf("create-bbox", "-s", 4, 4, 4, "-p", 4, 8, 8, "-z", 1, 1, 1) == 1  # --stop and --size
    assert cf("create-bbox", "-s", 4, 4, 4, "-z", 0, 4, 4) != 0
    assert "give --stop or --size" in capsys.readouterr().err


def _affs(tmp_path):
    rng = np.random.default_rng(0)
    affs = Chunk(rng.random((3, 4, 16, 16), dtype=np.float32), (1, 2, 3), (40, 4, 4))
    affs.to_h5(str(tmp_path / "affs.h5"))
    return affs


def test_channel_voting_and_quantize(tmp_path):
    affs = _affs(tmp_path)
    assert (
        cf(
            "load-h5",
            "-f",
            tmp_path / "affs.h5",
            "-o",
            "a",
            "channel-voting",
            "-i",
            "a",
            "-o",
            "v",
            "quantize",
            "-i",
            "a",
            "-o",
            "q",
            "--mode",
            "z",
            "save-h5",
            "-i",
            "v",
            "-f",
            tmp_path / "v.h5",
            "save-h5",
            "-i",
            "q",
            "-f",
            tmp_path / "q.h5",
        )
        == 0
    )
    votes, quant = Chunk.from_h5(str(tmp_path / "v.h5")), Chunk.from_h5(str(tmp_path / "q.h5"))
    np.testing.assert_array_equal(votes.array, np.argmax(affs.array, axis=0) + 1)
    np.testing.assert_array_equal(quant.array, (affs.array[2] * 255).astype(np.uint8))
    assert votes.voxel_offset == quant.voxel_offset == (1, 2, 3)


def test_gaussian_filter_multiply_and_shang(tmp_path):
    img = Chunk((np.random.default_rng(1).random((4, 32, 32)) * 255).astype(np.uint8), (0, 0, 0))
    img.to_h5(str(tmp_path / "img.h5"))
    mask = Chunk((np.arange(4 * 32 * 32).reshape(4, 32, 32) % 2).astype(np.uint8))
    mask.to_h5(str(tmp_path / "mask.h5"))
    assert (
        cf(
            "load-h5",
            "-f",
            tmp_path / "img.h5",
            "-o",
            "img",
            "load-h5",
            "-f",
            tmp_path / "mask.h5",
            "-o",
            "mask",
            "multiply",
            "-i",
            "img",
            "-m",
            "mask",
            "-o",
            "masked",
            "normalize-section-shang",
            "-i",
            "img",
            "-o",
            "n",
            "--nominalmin",
            0,
            "--nominalmax",
            1,
            "gaussian-filter",
            "-i",
            "img",
            "-s",
            2,
            "save-h5",
            "-i",
            "img",
            "-f",
            tmp_path / "g.h5",
            "save-h5",
            "-i",
            "masked",
            "-f",
            tmp_path / "m.h5",
            "save-h5",
            "-i",
            "n",
            "-f",
            tmp_path / "n.h5",
        )
        == 0
    )
    expected = np.stack([ndimage.gaussian_filter(s, 2) for s in img.array])
    np.testing.assert_array_equal(Chunk.from_h5(str(tmp_path / "g.h5")).array, expected)
    np.testing.assert_array_equal(Chunk.from_h5(str(tmp_path / "m.h5")).array, img.array * mask.array)
    norm = Chunk.from_h5(str(tmp_path / "n.h5")).array
    section = img.array[0].astype(np.float32)
    inner = section[(section != section.min()) & (section != section.max())]
    np.testing.assert_allclose(norm[0], (section - inner.min()) / (inner.max() - inner.min()), rtol=1e-5)


def test_load_h5_and_save_h5_flags(tmp_path):
    affs = _affs(tmp_path)
    assert (
        cf(
            "load-h5",
            "-f",
            tmp_path / "affs.h5",
            "-c",
            "0:2",
            "-e",
            "float64",
            "--set-bbox",
            "-o",
            "a",
            "save-h5",
            "-i",
            "a",
            "-f",
            f"{tmp_path}/out-",
            "-c",
            "gzip",
            "-s",
            2,
            8,
            8,
            "--without-offset",
            "-v",
            8,
            8,
            8,
        )
        == 0
    )
    (written,) = tmp_path.glob("out-*.h5")
    assert written.name == "out-1-5_2-18_3-19.h5"
    with h5py.File(written) as f:
        assert f["main"].compression == "gzip" and f["main"].chunks == (1, 2, 8, 8)
        assert "voxel_offset" not in f and tuple(f["voxel_size"][()]) == (8, 8, 8)
        np.testing.assert_array_equal(f["main"][()], affs.array[0:2].astype(np.float64))


def test_load_h5_remove_empty(tmp_path):
    Chunk(np.zeros((2, 4, 4), np.uint8)).to_h5(str(tmp_path / "empty.h5"))
    assert cf("load-h5", "-f", tmp_path / "empty.h5", "--remove-empty") == 0
    assert not (tmp_path / "empty.h5").exists()


def test_generate_tasks_grid_size_with_a_box(tmp_path):
    assert cf("generate-tasks", "-b", "0-64_0-64_0-64", "-c", 16, 16, 16, "-g", 2, 1, 1, "-f", tmp_path / "t.txt") == 0
    assert (tmp_path / "t.txt").read_text().split() == ["0-16_0-16_0-16", "16-32_0-16_0-16"]


def test_crop_margin_six_values_and_crop_bbox(tmp_path):
    assert (
        cf(
            "create-bbox",
            "-s",
            0,
            0,
            0,
            "-z",
            8,
            32,
            32,
            "create-chunk",
            "crop-margin",
            "-m",
            1,
            2,
            3,
            0,
            0,
            0,
            "--crop-bbox",
            "create-chunk",
            "-o",
            "again",
            "save-h5",
            "-i",
            "again",
            "-f",
            f"{tmp_path}/",
        )
        == 0
    )
    assert [p.name for p in tmp_path.iterdir()] == ["1-8_2-32_3-32.h5"]


def test_json_points_synapses_and_log_summary(tmp_path):
    from chunkflow.synapses import Synapses

    (tmp_path / "a.json").write_text(json.dumps({"k": [1, 2]}))
    syns = Synapses(
        np.array([[1, 2, 3], [50, 50, 50]]),
        post=np.array([[0, 1, 2, 4], [1, 9, 9, 9]]),
        pre_confidence=np.array([0.5, 0.9]),
        resolution=(40, 4, 4),
    )
    syns.to_h5(str(tmp_path / "s.h5"))
    (tmp_path / "check.py").write_text(f"def execute(d):\n    open({str(tmp_path / 'seen')!r}, 'w').write(repr(d))\n")
    assert (
        cf(
            "create-bbox",
            "-s",
            0,
            0,
            0,
            "-z",
            8,
            8,
            8,
            "load-json",
            "-f",
            tmp_path,
            "-o",
            "d",
            "plugin",
            "-f",
            tmp_path / "check.py",
            "-i",
            "d",
        )
        != 0
    )  # <dir>/<bbox>.json does not exist
    (tmp_path / "0-8_0-8_0-8.json").write_text(json.dumps({"k": [1, 2]}))
    assert (
        cf(
            "create-bbox",
            "-s",
            0,
            0,
            0,
            "-z",
            8,
            8,
            8,
            "load-json",
            "-f",
            tmp_path,
            "-o",
            "d",
            "plugin",
            "-f",
            tmp_path / "check.py",
            "-i",
            "d",
        )
        == 0
    )
    assert (tmp_path / "seen").read_text() == "{'k': [1, 2]}"
    assert (
        cf(
            "create-bbox",
            "-s",
            0,
            0,
            0,
            "-z",
            8,
            8,
            8,
            "load-synapses",
            "-f",
            tmp_path / "s.h5",
            "--remove-outside",
            "save-synapses",
            "-f",
            tmp_path / "kept.json",
        )
        == 0
    )
    kept = json.loads((tmp_path / "kept.json").read_text())
    assert kept["pre"] == [[1, 2, 3]] and kept["post"] == [[0, 1, 2, 4]] and kept["resolution"] == [40, 4, 4]
    logs = tmp_path / "log"
    logs.mkdir()
    for i, t in enumerate((2.0, 4.0)):
        (logs / f"{i}.json").write_text(json.dumps({"timer": {"inference": t, "save": 1.0}, "bbox": "x"}))
    from chunkflow.lib.operations import log_summary

    summary = log_summary(str(logs), (10, 10, 10))
    assert summary["inference"] == {"count": 2, "mean": 3.0, "max": 4.0, "total": 6.0}
    assert summary["_total"]["voxels_per_second"] == pytest.approx(2000 / 8.0)


def test_save_points_of_detected_points(tmp_path):
    prob = np.zeros((16, 32, 32), np.float32)
    prob[8, 16, 16] = 1.0
    Chunk(ndimage.gaussian_filter(prob, 2), (0, 0, 0), (40, 4, 4)).to_h5(str(tmp_path / "p.h5"))
    assert (
        cf(
            "load-h5",
            "-f",
            tmp_path / "p.h5",
            "-o",
            "prob",
            "plugin",
            "-f",
            "detect_points",
            "-i",
            "prob",
            "-o",
            "point_cloud",
            "-a",
            "min_distance=3;threshold_rel=0.5",
            "save-points",
            "-f",
            tmp_path / "pts.h5",
        )
        == 0
    )
    with h5py.File(tmp_path / "pts.h5") as f:
        assert f["points"][()].tolist() == [[8, 16, 16]] and tuple(f["voxel_size"][()]) == (40, 4, 4)


def test_napari_refused_with_the_extra_to_install(capsys):
    try:
        import napari  # noqa: F401

        pytest.skip("napari is installed here")
    except ImportError:
        pass
    assert cf("create-chunk", "napari") == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'napari[all]'" in err


@pytest.mark.parametrize(
    "args, patch_num, chunk, block",
    [
        # values printed by chunkflow 1.2.0's setup_env.get_optimized_block_size for the same arguments
        (["-z", 16, 128, 128, "-r", 1, "-x", 5], (9, 12, 12), (64, 704, 704), (64, 88, 88)),
        (
            ["-z", 20, 256, 256, "-o", 4, 64, 64, "-r", 15, "-x", 8, "-m", 1, "-b", 7],
            (9, 11, 11),
            (140, 2048, 2048),
            (70, 128, 128),
        ),
    ],
)
def test_setup_env_plans_like_120(tmp_path, capsys, args, patch_num, chunk, block):
    assert (
        cf(
            "setup-env",
            "--volume-start",
            0,
            0,
            0,
            "-s",
            64,
            1024,
            1024,
            "-l",
            f"file://{tmp_path}/out",
            *args,
            "--channel-num",
            3,
            "--overwrite-info",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"--patch-num {' '.join(map(str, patch_num))}" in out
    assert (
        f"--output-chunk-size {' '.join(map(str, chunk))}" in out and f"block size {' '.join(map(str, block))}" in out
    )
    info = json.loads((tmp_path / "out" / "info").read_text())
    assert info["num_channels"] == 3 and info["scales"][0]["chunk_sizes"] == [list(block[::-1])]
    assert (tmp_path / "out" / "thumbnail" / "info").exists()
    assert (
        cf("setup-env", "--volume-start", 0, 0, 0, "-s", 64, 64, 64, "-l", f"file://{tmp_path}/none", "-z", 16, 64, 64)
        == 1
    )
