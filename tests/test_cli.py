"""End-to-end chains through the real console script, and the CLI's contract."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from chunkflow.cli import main


def test_original_style_chain_needs_no_names(run_cli, tmp_path):
    r = run_cli("create-chunk", "save-h5", "-f", "a.h5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "a.h5") as f:
        assert f["main"].shape == (64, 64, 64) and f["main"].dtype == np.uint8
        assert list(f["voxel_offset"][()]) == [0, 0, 0]


def test_round_trip_h5_tif_precomputed_h5(run_cli, tmp_path):
    from cloudvolume import CloudVolume

    r = run_cli(
        "create-chunk",
        "-s",
        "20",
        "64",
        "48",
        "-t",
        "3",
        "4",
        "5",
        "-e",
        "40",
        "4",
        "4",
        "-p",
        "random",
        "save-h5",
        "-f",
        "a.h5",
        "load-h5",
        "-f",
        "a.h5",
        "-o",
        "x",
        "save-tif",
        "-i",
        "x",
        "-f",
        "a.tif",
        "load-tif",
        "-f",
        "a.tif",
        "-o",
        "y",
        "save-precomputed",
        "-i",
        "y",
        "-v",
        f"file://{tmp_path}/pc",
        "-b",
        "8",
        "32",
        "16",
        "load-precomputed",
        "-v",
        f"file://{tmp_path}/pc",
        "-s",
        "3",
        "4",
        "5",
        "-z",
        "20",
        "64",
        "48",
        "-o",
        "z",
        "save-h5",
        "-i",
        "z",
        "-f",
        "b.h5",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "a.h5") as a, h5py.File(tmp_path / "b.h5") as b:
        np.testing.assert_array_equal(a["main"][()], b["main"][()])
        np.testing.assert_array_equal(a["voxel_offset"][()], b["voxel_offset"][()])
        np.testing.assert_array_equal(b["voxel_size"][()], [40, 4, 4])
        original = a["main"][()]
    cv = CloudVolume(f"file://{tmp_path}/pc")  # plain cloud-volume, XYZ order
    assert tuple(cv.voxel_offset) == (5, 4, 3) and tuple(cv.resolution) == (4, 4, 40)
    np.testing.assert_array_equal(cv[5:53, 4:68, 3:23][..., 0].T, original)


def test_h5_layout_of_chunkflow_1_2_loads(tmp_path, capsys):
    """A file written the way chunkflow 1.2.0's Chunk.to_h5 writes it."""
    arr = np.arange(4 * 5 * 6, dtype=np.uint32).reshape(4, 5, 6)
    with h5py.File(tmp_path / "orig.h5", "w") as f:
        f.create_dataset("/main", data=arr)
        f.create_dataset("/voxel_size", data=(40, 4, 4))
        f.attrs["layer_type"] = "segmentation"
        f.create_dataset("/voxel_offset", data=(1, 2, 3))
    from chunkflow.volumes import open_volume

    chunk = open_volume(str(tmp_path / "orig.h5")).read()
    assert tuple(chunk.voxel_offset) == (1, 2, 3) and tuple(chunk.voxel_size) == (40, 4, 4)
    assert chunk.layer_type == "segmentation"
    np.testing.assert_array_equal(chunk.array, arr)


def test_save_h5_directory_names_file_by_bbox(tmp_path):
    assert main(["create-chunk", "-s", "4", "8", "8", "-t", "1", "2", "3", "save-h5", "-f", f"{tmp_path}/out/"]) == 0
    assert (tmp_path / "out" / "1-5_2-10_3-11.h5").exists()


def test_cutout_and_crop_threshold_normalize(tmp_path):
    assert main(["create-chunk", "-s", "10", "20", "20", "save-h5", "-f", f"{tmp_path}/a.h5"]) == 0
    code = main(
        [
            "load-h5",
            "-f",
            f"{tmp_path}/a.h5",
            "--cutout-start",
            "2",
            "2",
            "2",
            "--cutout-size",
            "6",
            "10",
            "10",
            "crop-margin",
            "-m",
            "1",
            "1",
            "1",
            "normalize-intensity",
            "-o",
            "norm",
            "threshold",
            "-i",
            "norm",
            "-t",
            "0",
            "-o",
            "mask",
            "save-h5",
            "-i",
            "mask",
            "-f",
            f"{tmp_path}/m.h5",
            "save-h5",
            "-i",
            "norm",
            "-f",
            f"{tmp_path}/n.h5",
        ]
    )
    assert code == 0
    with h5py.File(tmp_path / "m.h5") as m, h5py.File(tmp_path / "n.h5") as n, h5py.File(tmp_path / "a.h5") as a:
        assert m["main"].shape == (4, 8, 8) and list(m["voxel_offset"][()]) == [3, 3, 3]
        expected = a["main"][3:7, 3:11, 3:11].astype(np.float32) / 127.5 - 1
        np.testing.assert_allclose(n["main"][()], expected, rtol=1e-6)
        np.testing.assert_array_equal(m["main"][()], expected > 0)


def test_copy_and_delete_var(tmp_path, capsys):
    code = main(
        [
            "create-chunk",
            "copy-var",
            "-f",
            "chunk",
            "-t",
            "b",
            "delete-var",
            "-v",
            "chunk",
            "save-h5",
            "-i",
            "chunk",
            "-f",
            f"{tmp_path}/x.h5",
        ]
    )
    assert code == 1
    assert "no chunk named 'chunk'" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()


def test_npy_png_zarr_chains(tmp_path):
    assert (
        main(
            [
                "create-chunk",
                "-s",
                "5",
                "16",
                "16",
                "-t",
                "7",
                "0",
                "0",
                "save-npy",
                "-f",
                f"{tmp_path}/a.npy",
                "save-pngs",
                "-o",
                f"{tmp_path}/pngs",
                "save-zarr",
                "-s",
                f"{tmp_path}/a.zarr",
                "--ome",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir())[0] == "00007.png"
    assert (
        main(
            [
                "load-png",
                "-p",
                f"{tmp_path}/pngs",
                "-o",
                "p",
                "load-npy",
                "-f",
                f"{tmp_path}/a.npy",
                "-t",
                "7",
                "0",
                "0",
                "-o",
                "n",
                "load-zarr",
                "-f",
                f"{tmp_path}/a.zarr",
                "-o",
                "z",
                "plugin",
                "-f",
                str(_write_equal_plugin(tmp_path)),
                "-i",
                "p,n,z",
            ]
        )
        == 0
    )


def _write_equal_plugin(tmp_path):
    path = tmp_path / "check_equal.py"
    path.write_text(
        textwrap.dedent("""
        import numpy as np
        def execute(a, b, c):
            assert a.bbox == b.bbox == c.bbox, (a.bbox, b.bbox, c.bbox)
            assert np.array_equal(a.array, b.array) and np.array_equal(a.array, c.array)
    """)
    )
    return path


def test_plugin_outputs_and_args(tmp_path):
    plugin = tmp_path / "scale.py"
    plugin.write_text("def execute(chunk, factor=1, shift=0):\n    return chunk.array * factor + shift\n")
    code = main(
        [
            "create-chunk",
            "-d",
            "float32",
            "-s",
            "4",
            "4",
            "4",
            "plugin",
            "-f",
            str(plugin),
            "-i",
            "chunk",
            "-o",
            "scaled",
            "-a",
            "factor=2;shift=1",
            "save-h5",
            "-i",
            "scaled",
            "-f",
            f"{tmp_path}/s.h5",
            "save-h5",
            "-f",
            f"{tmp_path}/c.h5",
        ]
    )
    assert code == 0
    with h5py.File(tmp_path / "s.h5") as s, h5py.File(tmp_path / "c.h5") as c:
        np.testing.assert_allclose(s["main"][()], c["main"][()] * 2 + 1)


BAD_INPUTS = [
    (["load-h5", "-f", "missing.h5"], "does not exist"),
    (["load-precomputed", "-v", "file://{tmp}/missing", "-s", "0", "0", "0", "-z", "4", "4", "4"], "no precomputed volume"),
    (["load-tif", "-f", "missing.tif"], "does not exist"),
    (["create-chunk", "-s", "0", "4", "4"], "must be positive"),
    (["create-chunk", "-s", "-3", "4", "4"], "must be positive"),
    (["create-chunk", "save-h5", "-i", "affs", "-f", "out.h5"], "no chunk named 'affs'"),
    (["create-chunk", "-d", "float64", "save-pngs", "-o", "pngs"], "float64"),
    (["create-chunk", "-s", "8", "8", "8", "save-precomputed", "-v", "file://{tmp}/pc", "-b", "4", "4", "4",
      "create-chunk", "-s", "4", "4", "4", "-t", "100", "0", "0", "save-precomputed", "-v", "file://{tmp}/pc"], "does not fit volume bounds"),
    (["load-h5", "-f", "corrupt.h5"], "corrupt or not HDF5"),
    (["load-h5", "-f", "good.h5", "--cutout-start", "0", "0", "0", "--cutout-size", "100", "4", "4"], "not inside the volume"),
    (["plugin", "-f", "missing.py"], "does not exist"),
    (["load-zarr", "-f", "missing.zarr"], "no zarr array"),
]  # fmt: skip


@pytest.mark.parametrize("args,message", BAD_INPUTS, ids=[" ".join(a[:2]) + ":" + m for a, m in BAD_INPUTS])
def test_bad_input_gives_one_line_and_leaves_nothing(run_cli, tmp_path, args, message):
    (tmp_path / "corrupt.h5").write_bytes(b"not an hdf5 file" * 10)
    main(["create-chunk", "-s", "4", "4", "4", "save-h5", "-f", str(tmp_path / "good.h5")])
    before = {p for p in tmp_path.rglob("*")}
    r = run_cli(*(a.format(tmp=tmp_path) for a in args), cwd=tmp_path)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip() and not line.startswith(("Usage:", "Try "))]
    assert len(lines) == 1, r.stderr
    assert message in r.stderr
    created = {p for p in tmp_path.rglob("*")} - before
    # the precomputed case creates the volume with its first (valid) chunk; nothing partial beyond that
    assert all(".part" not in p.name for p in created)
    assert not any(p.suffix in (".h5", ".tif", ".npy", ".png") for p in created)


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    import h5py

    real = h5py.Group.create_dataset

    def write_then_fail(self, name, *args, **kwargs):
        real(self, name, *args, **kwargs)  # the temporary file now holds data
        raise OSError("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        main(["create-chunk", "save-h5", "-f", f"{tmp_path}/x.h5"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.subprocess
def test_killed_save_h5_gzip_leaves_a_temporary_the_next_writer_sweeps(tmp_path):
    """save-h5 -c gzip (1.2.0's layout) writes aside like every writer: a killed one's temporary is swept."""
    killed = (
        "import os, sys, h5py\n"
        "real = h5py.Group.create_dataset\n"
        "def die(self, *a, **k):\n"
        "    real(self, *a, **k)\n"
        "    os._exit(9)\n"
        "h5py.Group.create_dataset = die\n"
        "from chunkflow.cli import main\n"
        f"main(['create-chunk', '-s', '4', '8', '8', 'save-h5', '-c', 'gzip', '-f', {str(tmp_path / 'a.h5')!r}])\n"
    )
    assert subprocess.run([sys.executable, "-c", killed], timeout=120).returncode == 9
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".a.h5.") and left[0].endswith(".part"), left
    assert main(["create-chunk", "-s", "4", "8", "8", "save-h5", "-c", "gzip", "-f", f"{tmp_path}/b.h5"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.h5"]
    with h5py.File(tmp_path / "b.h5") as f:
        assert f["main"].compression == "gzip" and f["main"].shape == (4, 8, 8)


def test_save_synapses_json_is_written_aside_and_renamed(tmp_path, monkeypatch):
    import os

    from chunkflow.synapses import Synapses

    Synapses(np.array([[1, 2, 3]]), resolution=(40, 4, 4)).to_h5(str(tmp_path / "s.h5"))
    renames = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (renames.append((str(src), str(dst))), real(src, dst))[1])
    assert (
        main(
            [
                "create-bbox",
                "-s",
                "0",
                "0",
                "0",
                "-z",
                "8",
                "8",
                "8",
                "load-synapses",
                "-f",
                f"{tmp_path}/s.h5",
                "save-synapses",
                "-f",
                f"{tmp_path}/kept.json",
            ]
        )
        == 0
    )
    assert [Path(dst).name for _, dst in renames] == ["kept.json"]
    assert re.fullmatch(r"\.kept\.json\..*\.part", Path(renames[0][0]).name), renames
    assert json.loads((tmp_path / "kept.json").read_text())["pre"] == [[1, 2, 3]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.json", "s.h5"]


@pytest.mark.subprocess
def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from chunkflow.cli import main\n"
        "main(['--help']); main(['inference', '--help']); main(['agglomerate', '--help'])\n"
        "heavy = [m for m in ('torch', 'cloudvolume', 'tensorstore', 'dask', 'zarr', 'h5py', 'onnxruntime', 'waterz')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in r.stdout, r.stdout + r.stderr


@pytest.mark.subprocess
def test_third_party_operator_from_entry_point(tmp_path):
    pkg = tmp_path / "site"
    (pkg / "myops").mkdir(parents=True)
    (pkg / "myops" / "__init__.py").write_text(
        textwrap.dedent("""
        import click
        from chunkflow.pipeline import Stage

        from chunkflow.operators.registry import Operator

        @click.command("say-hello", help="Print a greeting.")
        def say_hello():
            def apply(task):
                print("HELLO FROM PLUGIN", flush=True)
            return Stage("say-hello", apply)

        SAY_HELLO = Operator(say_hello, section="Greetings")
    """)
    )
    dist = pkg / "myops-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myops\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[chunkflow.operators]\nsay-hello = myops:SAY_HELLO\nsay-hello-bare = myops:say_hello\n"
    )
    env_code = (
        f"import sys; sys.path.insert(0, {str(pkg)!r}); from chunkflow.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    r = subprocess.run([sys.executable, "-c", env_code, "create-chunk", "say-hello"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "HELLO FROM PLUGIN" in r.stdout
    r = subprocess.run([sys.executable, "-c", env_code, "--help"], capture_output=True, text=True)
    assert "Greetings:\n  say-hello  Print a greeting\n" in r.stdout, r.stdout  # the section the plug-in declares
    assert re.search(r"Other operators:\n  say-hello-bare\s+Print a greeting\n", r.stdout), r.stdout


@pytest.mark.subprocess
def test_python_dash_m_and_log_level(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "chunkflow", "--log-level", "debug", "create-chunk", "-s", "2", "2", "2"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr


def test_crop_margin_takes_three_or_six_values(tmp_path):
    """``-m Z Y X`` crops every side; 1.2.0's ``-m -z -y -x +z +y +x`` crops each side on its own."""
    assert main(["create-chunk", "-s", "10", "20", "30", "save-h5", "-f", f"{tmp_path}/a.h5"]) == 0
    assert (
        main(
            [
                "load-h5",
                "-f",
                f"{tmp_path}/a.h5",
                "crop-margin",
                "-m",
                "1",
                "2",
                "3",
                "4",
                "5",
                "6",
                "save-h5",
                "-f",
                f"{tmp_path}/six.h5",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "load-h5",
                "-f",
                f"{tmp_path}/a.h5",
                "crop-margin",
                "-m",
                "1",
                "2",
                "3",
                "save-h5",
                "-f",
                f"{tmp_path}/three.h5",
            ]
        )
        == 0
    )
    with (
        h5py.File(tmp_path / "a.h5") as a,
        h5py.File(tmp_path / "six.h5") as six,
        h5py.File(tmp_path / "three.h5") as three,
    ):
        np.testing.assert_array_equal(six["main"][()], a["main"][1:6, 2:15, 3:24])
        assert list(six["voxel_offset"][()]) == [1, 2, 3]
        np.testing.assert_array_equal(three["main"][()], a["main"][1:9, 2:18, 3:27])
