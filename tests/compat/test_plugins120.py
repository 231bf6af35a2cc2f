"""Shipped plugins (our versions of chunkflow 1.2.0's), plugin lookup, inputs, placement and errors."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from chunkflow.chunk import Chunk
from chunkflow.compat.chunk import as_120
from chunkflow.datasets import pinky40_labels, sample_image
from chunkflow.errors import VolumeNotFoundError
from chunkflow.geometry import BoundingBox
from chunkflow.plugins import find_plugin, load_plugin, run_plugin
from chunkflow.task import Task

BOX = BoundingBox.from_string("200-208_200-264_200-264")


@pytest.fixture(scope="module")
def image():
    return as_120(sample_image().cutout(BOX)).clone()


@pytest.fixture(scope="module")
def labels():
    return as_120(pinky40_labels().cutout(BOX)).clone()


def run(name, *inputs, args=None, n_out=1, bbox=None):
    task = Task(bbox=bbox)
    names = []
    for i, value in enumerate(inputs):
        task[f"in{i}"] = value
        names.append(f"in{i}")
    outs = [f"out{i}" for i in range(n_out)]
    run_plugin(load_plugin(name), task, names, outs, args)
    return [task.chunks[o] for o in outs]


def test_inverse(image):
    (out,) = run("inverse", image)
    assert out.bbox == image.bbox and out.voxel_size == image.voxel_size
    np.testing.assert_array_equal(out.array, 255 - image.array)
    prob = image.astype(np.float32) / 255.0
    np.testing.assert_allclose(run("inverse", prob)[0].array, 1.0 - image.array / 255.0, rtol=1e-6)


def test_mapto01(image):
    (out,) = run("mapto01", image)
    np.testing.assert_allclose(out.array, (image.array.astype(np.float32) / 255 + 1) / 2, rtol=1e-6)


def test_median_filter_placed_like_input(image):
    (out,) = run("median_filter", image, args="size=(3,3,3)")
    np.testing.assert_array_equal(out.array, ndimage.median_filter(image.array, size=(3, 3, 3), mode="reflect"))
    assert out.bbox == image.bbox and out.voxel_size == (40, 4, 4)


def test_gaussian_filter_copies_unless_inplace(image):
    src = image.clone()
    (out,) = run("gaussian_filter", src, args="sigma=2.0")
    expected = np.stack([ndimage.gaussian_filter(s, sigma=2.0) for s in image.array])
    np.testing.assert_array_equal(out.array, expected)
    np.testing.assert_array_equal(src.array, image.array)


def test_clahe(image):
    import cv2

    two = image[:2].clone()  # 1.2.0's 512 x 512 tile grid is slow on any section
    (out,) = run("clahe", two.clone())
    clahe = cv2.createCLAHE(clipLimit=20.0, tileGridSize=(512, 512))
    np.testing.assert_array_equal(out.array, np.stack([clahe.apply(s) for s in two.array]))


def test_transpose(image):
    (out,) = run("transpose", image, args="only_array=False")
    np.testing.assert_array_equal(out.array, image.array.T)
    assert out.voxel_offset == tuple(image.voxel_offset)[::-1]


def test_print_max_id_and_statistics(labels, capsys):
    run("print_max_id", labels, n_out=0)
    run("statistics", labels, n_out=0)
    ids = np.unique(labels.array)
    assert capsys.readouterr().out.splitlines() == [
        f"maximum object ID: {labels.array.max()}",
        f"{len(ids)} objects with min id {ids.min()} and max id {ids.max()}",
    ]


def test_rescale_and_stretch_intensity(image):
    from skimage.exposure import rescale_intensity

    (out,) = run("rescale_intensity", image.clone(), args="low=50;high=200")
    np.testing.assert_array_equal(out.array, rescale_intensity(image.array, in_range=(50, 200), out_range=(0, 255)))
    (out,) = run("stretch_intensity", image.clone(), args="min_threshold=50;max_threshold=200")
    lut = (np.clip((np.arange(256) - 50) / 150.0, 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(out.array, lut[image.array])


def test_fill_segmentation_holes(labels):
    import fill_voids

    holes = labels.clone()
    holes.array[2:5, 20:30, 20:30] = 0
    (out,) = run("fill_segmentation_holes", holes)
    np.testing.assert_array_equal(out.array, fill_voids.fill(holes.array))
    assert out.bbox == labels.bbox


def test_agglomerate_against_waterz(labels):
    import waterz

    seg = labels.array
    affs = np.zeros((3, *seg.shape), np.float32)  # x, y, z channels as 1.2.0 orders them
    affs[2, 1:] = seg[1:] == seg[:-1]
    affs[1, :, 1:] = seg[:, 1:] == seg[:, :-1]
    affs[0, :, :, 1:] = seg[:, :, 1:] == seg[:, :, :-1]
    (out,) = run("agglomerate", Chunk(affs, labels.voxel_offset, labels.voxel_size), args="threshold=0.5")
    expected = next(waterz.agglomerate(np.ascontiguousarray(affs[::-1]), [0.5]))
    np.testing.assert_array_equal(out.array, expected)
    assert out.layer_type == "segmentation" and out.bbox == labels.bbox


def test_detect_points():
    from skimage.feature import peak_local_max

    from chunkflow.point_cloud import PointCloud

    prob = np.zeros((16, 32, 32), np.float32)
    prob[[3, 10], [5, 20], [6, 25]] = [0.9, 0.8]
    prob = ndimage.gaussian_filter(prob, 1.5)
    (points,) = run("detect_points", Chunk(prob, (100, 0, 0), (40, 4, 4)), args="min_distance=3;threshold_rel=0.3")
    assert isinstance(points, PointCloud) and points.voxel_size == (40, 4, 4)
    norm = np.clip(prob - prob.mean(), 0, None)
    expected = peak_local_max(norm / norm.max(), min_distance=3, threshold_abs=0.3) + (100, 0, 0)
    np.testing.assert_array_equal(points.points, expected)


def test_skeletonize_writes_fragments(labels, tmp_path):
    (skels,) = run("skeletonize", labels, args=f"voxel_size=(40,4,4);output_path='{tmp_path}'")
    import kimimaro

    names = sorted(p.name for p in tmp_path.iterdir())
    assert sorted(skels) == sorted(kimimaro.skeletonize(labels.array, anisotropy=(40, 4, 4))) and skels
    assert names == sorted(f"{i}:{labels.bbox}" for i in skels)


def test_nrrd_and_mrc_round_trip(image, tmp_path):
    import mrcfile

    run("save_nrrd", image, args=f"file_name='{tmp_path}/img'", n_out=0)
    saved = tmp_path / f"img_{image.bbox}.nrrd"
    (back,) = run("load_nrrd", args=f"file_name='{saved}';voxel_offset={tuple(image.voxel_offset)}")
    np.testing.assert_array_equal(back.array, image.array)
    assert back.voxel_offset == image.voxel_offset

    with mrcfile.new(tmp_path / "img.mrc") as mrc:
        mrc.set_data(image.array.view(np.int8))
        mrc.voxel_size = (40.0, 40.0, 400.0)  # x y z in angstrom
    task_box = BoundingBox.from_string("2-6_10-20_30-50")
    task = Task(bbox=task_box)
    run_plugin(load_plugin("load_mrc"), task, ["bbox"], ["img"], f"fname='{tmp_path}/img.mrc'")
    chunk = task["img"]
    np.testing.assert_array_equal(chunk.array, image.array[2:6, 10:20, 30:50])
    assert chunk.bbox == task_box and chunk.voxel_size == (40, 4, 4)


def test_lookup_order(tmp_path, monkeypatch):
    assert find_plugin("inverse").parent.name == "plugins"
    (tmp_path / "mine.py").write_text("def execute(c):\n    return [c + 1]\n")
    (tmp_path / "inverse.py").write_text("def execute(c):\n    return [c]\n")
    monkeypatch.setenv("CHUNKFLOW_PLUGIN_DIR", str(tmp_path))
    assert find_plugin("mine") == tmp_path / "mine.py"
    assert find_plugin("inverse").parent.name == "plugins"  # shipped first
    assert find_plugin(str(tmp_path / "inverse.py")) == tmp_path / "inverse.py"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHUNKFLOW_PLUGIN_DIR")
    assert find_plugin("mine").resolve() == (tmp_path / "mine.py").resolve()
    with pytest.raises(VolumeNotFoundError, match="'nothing' does not exist"):
        find_plugin("nothing")


def test_cropped_array_placed_like_120(image, tmp_path):
    (tmp_path / "crop.py").write_text("def execute(c):\n    return [c.array[1:-1, 2:-2, 3:-3]]\n")
    (out,) = run(str(tmp_path / "crop.py"), image)
    assert out.bbox == image.bbox.to_geometry().shrink((1, 2, 3)) and out.voxel_size == image.voxel_size


@pytest.mark.parametrize(
    "body, message",
    [
        ("def execute(c):\n    raise ValueError('boom')\n", "raised ValueError: boom"),
        ("def execute(c):\n    return 'text'\n", "returned a str"),
        ("def execute(c):\n    return [c, c]\n", "returned 2 value(s) but -o names 1"),
        ("import not_a_module_anywhere\n", "needs the package 'not_a_module_anywhere'"),
        ("x = 1\n", "defines no execute"),
    ],
)
def test_bad_plugins_fail_with_one_line(tmp_path, run_cli, body, message):
    (tmp_path / "bad.py").write_text(body)
    result = run_cli(
        "create-chunk", "-s", "2", "8", "8", "plugin", "-f", str(tmp_path / "bad.py"), "-i", "chunk", "-o", "out"
    )
    assert result.returncode == 1
    assert message in result.stderr and "bad" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_120_style_user_plugins_run_unchanged(tmp_path, run_cli):
    """Plugins written the way 1.2.0 users write them: arithmetic, astype, assigning array, -i bbox."""
    (tmp_path / "scale.py").write_text(
        "import numpy as np\nfrom chunkflow.chunk import Chunk\n"
        "def execute(chunk, factor=2):\n"
        "    out = chunk.astype(np.float32) * factor\n"
        "    out.array = out.array - 1\n"
        "    assert out.properties['voxel_offset'] == (0, 0, 0)\n"
        "    return [out]\n"
    )
    (tmp_path / "from_bbox.py").write_text(
        "import numpy as np\nfrom chunkflow.chunk import Chunk\nfrom chunkflow.lib.cartesian_coordinate import BoundingBox\n"
        "def execute(bbox: BoundingBox):\n"
        "    return Chunk(np.full(bbox.shape, 7, dtype=np.uint8), voxel_offset=bbox.minpt)\n"
    )
    result = run_cli(
        "create-chunk",
        "-s",
        "2",
        "8",
        "8",
        "-o",
        "img",
        "plugin",
        "-f",
        str(tmp_path / "scale.py"),
        "-i",
        "img",
        "-o",
        "s",
        "-a",
        "factor=3",
        "save-h5",
        "-i",
        "s",
        "-f",
        str(tmp_path / "s.h5"),
        "save-h5",
        "-i",
        "img",
        "-f",
        str(tmp_path / "img.h5"),
    )
    assert result.returncode == 0, result.stderr
    img = Chunk.from_h5(str(tmp_path / "img.h5"))
    np.testing.assert_allclose(Chunk.from_h5(str(tmp_path / "s.h5")).array, img.array.astype(np.float32) * 3 - 1)
    result = run_cli(
        "generate-tasks",
        "-s",
        "0",
        "0",
        "0",
        "-z",
        "4",
        "8",
        "8",
        "-c",
        "2",
        "8",
        "8",
        "plugin",
        "-f",
        "from_bbox",
        "-i",
        "bbox",
        "-o",
        "c",
        "save-h5",
        "-i",
        "c",
        "-f",
        f"{tmp_path}/",
        env={"CHUNKFLOW_PLUGIN_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("*_*_*.h5")) == ["0-2_0-8_0-8.h5", "2-4_0-8_0-8.h5"]
    assert (Chunk.from_h5(str(tmp_path / "2-4_0-8_0-8.h5")).array == 7).all()


UPSTREAM = Path(os.environ.get("CHUNKFLOW120_PLUGINS", "/work/.mirror/seung-lab+chunkflow/repo"))


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "name, args, inputs",
    [
        ("inverse", None, "img"),
        ("mapto01", None, "img"),
        ("median_filter", None, "img"),
        ("gaussian_filter", "sigma=1.0", "img"),
        ("transpose", None, "img"),
        ("stretch_intensity", None, "img"),
        ("fill_segmentation_holes", None, "seg"),
        ("agglomerate", "threshold=0.5", "affs"),
        ("print_max_id", None, "seg"),
    ],
)
def test_upstream_120_plugin_files_run_unchanged(tmp_path, image, labels, name, args, inputs):
    """1.2.0's own plugin files (seung-lab/chunkflow chunkflow/plugins/), copied into tmp from a local
    checkout or git mirror of that repository; skipped where none is available."""
    source = UPSTREAM / "chunkflow" / "plugins" / f"{name}.py"
    if source.is_file():
        text = source.read_text()
    elif (UPSTREAM / "HEAD").exists() or (UPSTREAM / ".git").exists():
        shown = subprocess.run(
            ["git", "-C", str(UPSTREAM), "show", f"HEAD:chunkflow/plugins/{name}.py"], capture_output=True, text=True
        )
        if shown.returncode != 0:
            pytest.skip(f"no {name}.py in {UPSTREAM}")
        text = shown.stdout
    else:
        pytest.skip("no checkout of seung-lab/chunkflow (set CHUNKFLOW120_PLUGINS)")
    (tmp_path / f"{name}.py").write_text(text)
    img, seg = image.clone(), labels.clone()
    affs = Chunk(np.stack([(seg.array > 0).astype(np.float32)] * 3), seg.voxel_offset, seg.voxel_size)
    mine, theirs = Task(), Task()
    for task in (mine, theirs):
        task["img"], task["seg"], task["affs"] = img.clone(), seg.clone(), affs.clone()
    outs = [] if name == "print_max_id" else ["out"]
    run_plugin(load_plugin(str(tmp_path / f"{name}.py")), theirs, [inputs], outs, args)
    run_plugin(load_plugin(name), mine, [inputs], outs, args)
    for out in outs:  # (1.2.0's agglomerate copies the affinity map's layer type onto the segmentation)
        assert theirs[out].bbox == mine[out].bbox and theirs[out].voxel_size == mine[out].voxel_size
        assert theirs[out].dtype == mine[out].dtype
        np.testing.assert_array_equal(theirs[out].array, mine[out].array)


RECORDED_PLUGINS = json.loads((Path(__file__).parent / "data" / "ref120_plugins.json").read_text())
RECORDED_CALLS = RECORDED_PLUGINS.pop("calls")


def test_plugins_called_from_python_give_120s_results(tmp_path):
    """detect_points and load_mrc (results that are no chunk in a chain, or a file input), ours against
    1.2.0's plugin files' recorded results (``plugin_calls120.py``)."""
    from tests.compat.plugin_calls120 import NAMES
    from tests.compat.plugin_calls120 import run as run_calls

    assert set(RECORDED_CALLS) == set(NAMES) == {"detect_points", "load_mrc"}
    import chunkflow.plugins

    ours = run_calls(Path(chunkflow.plugins.__file__).parent, tmp_path)
    assert ours == RECORDED_CALLS


@pytest.mark.parametrize("name", sorted(RECORDED_PLUGINS))
def test_shipped_plugin_gives_120s_recorded_output(name, tmp_path, capsys):
    """Each shipped plugin, run in a chain like 1.2.0's ``plugin -f``, against what 1.2.0 gave with its own
    plugin file (``record120.py``: ``PLUGIN_CASES``, ``data/ref120_plugins.json``)."""
    from chunkflow.cli import main
    from tests.compat.doclines120 import compare_summaries, read_output
    from tests.compat.record120 import plugin_command, plugin_inputs

    theirs = RECORDED_PLUGINS[name]
    assert theirs["returncode"] == 0, theirs["stderr_last_line"]  # it ran on 1.2.0
    plugin_inputs(tmp_path)
    assert main(plugin_command(name, name, tmp_path)) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if "object" in line]
    assert printed == theirs["stdout"]
    out = tmp_path / f"{name}_out.h5"
    if theirs["output"] is None:
        assert not out.exists()
        return
    compare_summaries(read_output(out), theirs["output"])
    assert Chunk.from_h5(str(out)).voxel_offset == tuple(theirs["voxel_offset"])
