"""chunkflow 1.2.0 command lines that need the compatibility layer: ``.hdf`` files, label dtypes, the
in-chain ``view`` beside our standalone ``view``."""

import subprocess
import sys
import urllib.request

import h5py
import numpy as np
import pytest

from chunkflow.cli import main


def test_load_h5_reads_hdf_files(tmp_path):
    array = np.arange(4 * 8 * 8, dtype=np.uint16).reshape(4, 8, 8)
    with h5py.File(tmp_path / "x.hdf", "w") as f:
        f["main"] = array
        f["voxel_offset"] = (1, 2, 3)
    assert main(["load-h5", "-f", str(tmp_path / "x.hdf"), "save-h5", "-f", str(tmp_path / "y.h5")]) == 0
    with h5py.File(tmp_path / "y.h5") as f:
        np.testing.assert_array_equal(f["main"][:], array)
        assert tuple(f["voxel_offset"][:]) == (1, 2, 3)


@pytest.mark.parametrize(
    "extra, dtype", [((), "uint16"), (("-d", "uint32"), "uint32"), (("--dtype", "uint64"), "uint64")]
)
def test_connected_components_gives_120s_dtype_unless_asked(tmp_path, extra, dtype):
    out = tmp_path / "cc.h5"
    assert (
        main(
            [
                "create-chunk",
                "-s",
                "8",
                "32",
                "32",
                "connected-components",
                "-t",
                "128",
                *extra,
                "save-h5",
                "-f",
                str(out),
            ]
        )
        == 0
    )
    with h5py.File(out) as f:
        labels = f["main"][:]
    assert labels.dtype == dtype and labels.max() >= 1


@pytest.mark.subprocess
def test_view_in_a_chain_serves_the_chunk_and_goes_on(tmp_path):
    out = tmp_path / "after.h5"
    command = [sys.executable, "-m", "chunkflow", "create-chunk", "-s", "8", "32", "32", "view", "--no-browser",
               "--seconds", "3", "save-h5", "-f", str(out)]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path) as proc:
        line = proc.stdout.readline()
        assert line.startswith("neuroglancer viewer: http://127.0.0.1:"), line + proc.stderr.read()
        with urllib.request.urlopen(line.split(": ", 1)[1].strip(), timeout=10) as response:
            assert response.status == 200
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    with h5py.File(out) as f:
        assert f["main"].shape == (8, 32, 32)


@pytest.mark.subprocess
def test_standalone_view_keeps_its_own_help():
    done = subprocess.run([sys.executable, "-m", "chunkflow", "view", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "URLS..." in done.stdout and "--image-chunk-name" not in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "chunkflow", "create-chunk", "view", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "--image-chunk-name" in done.stdout


def test_upstream_synapse_plugins_run_unchanged():
    """1.2.0's ``detect_pre_synapses`` (a probability map and the task box in, ``Synapses`` out) and
    ``adjust_pre`` (moves each point to the darkest-centred spot nearby), the repository's files as they are."""
    from pathlib import Path

    from chunkflow.chunk.base import Chunk
    from chunkflow.geometry import BoundingBox
    from chunkflow.plugins import load_plugin, run_plugin
    from chunkflow.synapses import Synapses
    from chunkflow.task import Task

    folder = Path(__file__).parent / "upstream120" / "plugins" / "synapse"
    box = BoundingBox.from_string("10-70_20-100_30-110")  # blobs >= 15 voxels (min_distance) from the faces
    zz, yy, xx = np.indices(box.shape)
    prob = np.zeros(box.shape, np.float32)
    centres = [(20, 25, 25), (40, 50, 55)]
    for z, y, x in centres:  # two blobs far apart
        prob = np.maximum(prob, np.exp(-((zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2) / 8.0)).astype(np.float32)
    image = np.full(box.shape, 200, np.uint8)
    image[40 - 3 : 40 + 4, 50 - 3 : 50 + 4, 57 - 3 : 57 + 4] = 0  # a dark spot 2 voxels from the second blob
    task = Task(bbox=box)
    task["prob"], task["img"] = Chunk(prob, box.start), Chunk(image, box.start, layer_type="image")
    run_plugin(load_plugin(str(folder / "detect_pre_synapses.py")), task, ["prob", "bbox"], ["syns"], None)
    syns = task["syns"]
    assert isinstance(syns, Synapses)
    expected = sorted(tuple(int(c) + int(o) for c, o in zip(centre, box.start)) for centre in centres)
    assert sorted(map(tuple, syns.pre.tolist())) == expected
    run_plugin(load_plugin(str(folder / "adjust_pre.py")), task, ["syns", "img"], ["moved"], "radius=4")
    moved = sorted(map(tuple, task["moved"].pre.tolist()))
    assert moved[1] == (10 + 40, 20 + 50, 30 + 57)  # pulled into the middle of the dark spot
    assert moved[0] == tuple(c - 4 for c in expected[0])  # nothing dark near: 1.2.0's argmax of zeros, -radius
    assert sorted(map(tuple, syns.pre.tolist())) == expected  # the input is not changed (1.2.0 deep-copies)
