"""Bad inputs, round 2 (issue 26): corrupt or foreign files chunkflow reads back (SWC, luminance levels,
mesh and skeleton fragments, ``info``), options that meant nothing or were dropped, and cloud-volume
errors that reached the user raw. Table-driven like ``tests/test_bad_inputs.py``: each row is a command
line, the exit code it must give and a word its error must contain; every row is also checked for no
traceback, one line on stderr (exit 1), nothing written to its empty ``{out}`` or the working directory,
and the inputs under ``{d}`` left byte for byte as they were. The valid neighbours of these rows
(constant images, duplicate thresholds, empty segmentations for ERL, a tiny --device-memory-limit, ...)
are the tests after the table.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shlex
import shutil
import signal
import string

import h5py
import numpy as np
import pytest

from chunkflow.cli import main

ROW_TIMEOUT_S = 60

IMG = "load-h5 -f {d}/img.h5 -o img"
SEG = "load-h5 -f {d}/seg.h5 -o seg"
AFF = "load-h5 -f {d}/aff.h5 -o aff"
TASKS = "generate-tasks -s 0 0 0 -r 16 32 32 -c 16 16 16"
ERL = SEG + " evaluate-segmentation -s seg --skeletons"
CONTRAST = IMG + " normalize-contrast -i img --levels-path"
INFER = IMG + " inference -i img -o o -s 4 8 8"

CASES: list[tuple[str, int, str]] = [
    # ---- SWC and precomputed skeletons read back for ERL (evaluate-segmentation, load-skeleton) -------------
    (f"{ERL} {{d}}/swc/garbage.swc", 1, "line 1 is not an swc node"),
    (f"{ERL} {{d}}/swc/dangling.swc", 1, "parent 7"),
    (f"{ERL} {{d}}/swc/nan.swc", 1, "not finite"),
    (f"{ERL} {{d}}/swc/binary.swc", 1, "utf-8"),
    (f"{ERL} {{d}}/swc/empty.swc", 1, "no nodes"),
    (f"{ERL} {{d}}/swc/repeated.swc", 1, "repeats a node id"),
    (f"{ERL} {{d}}/swcdir", 1, "2.swc"),
    (f"{ERL} file://{{d}}/skel_garbage", 1, "not a precomputed skeleton"),
    (f"{ERL} file://{{d}}/skel_badinfo", 1, "not valid json"),
    ("load-skeleton -p {d}/swcdir", 1, "2.swc line 1"),
    # ---- luminance levels (normalize-contrast --levels-path, aggregate-luminance-levels) ------------------
    (f"{CONTRAST} {{d}}/levels_garbage", 1, "not valid json"),
    (f"{CONTRAST} {{d}}/levels_negative", 1, "256 non-negative integer counts"),
    (f"{CONTRAST} {{d}}/levels_short", 1, "histogram"),
    (f"{CONTRAST} {{d}}/levels_fractional", 1, "histogram"),
    (f"{CONTRAST} {{d}}/levels_list", 1, "histogram"),
    (f"{CONTRAST} {{d}}/levels_dir", 1, "directory"),
    (f"{CONTRAST} {{d}}/emptydir", 1, "aggregate-luminance-levels"),
    ("aggregate-luminance-levels -p {d}/levels_fragment_garbage", 1, "rerun compute-luminance-levels"),
    ("aggregate-luminance-levels -p {d}/levels_fragment_negative", 1, "histogram"),
    ("aggregate-luminance-levels -p {d}/levels_fragment_nostart", 1, "z_start"),
    # ---- meshes: fragments read back, volumes that hold none, options that mean nothing -----------------
    ("mesh-manifest -v file://{d}/pre_seg_garbage", 1, "not a precomputed mesh"),
    ("mesh-manifest -v file://{d}/pre_seg_badgzip", 1, "gzip"),
    ("mesh-manifest -v file://{d}/pre_multires_garbage", 1, "rerun mesh --multires"),
    ("mesh-manifest -v file://{d}/nonexistent", 1, "no precomputed volume"),
    ("mesh-manifest -v file://{d}/pre_img", 1, "no mesh fragments"),
    ("mesh-manifest -v file://{d}/pre_garbinfo", 1, "not valid json"),
    ("mesh-manifest -v file://{d}/pre_seg --shard-number 1", 2, "--shard-number"),
    ("mesh-manifest -v file://{d}/pre_multires --shard-number 0", 2, "--shard-number"),
    (SEG + " mesh -i seg -o file://{d}/pre_img --shard", 1, "image volume"),
    (SEG + " mesh -i seg -o file://{d}/pre_img", 1, "image volume"),
    ("aggregate-skeleton-fragments -v file://{d}/skel_fragment_garbage", 1, "not a precomputed skeleton"),
    # ---- cloud-volume errors: download-mesh, skip-task-by-blocks-in-volume --------------------------------
    ("download-mesh -v file://{d}/nonexistent -i 1 -o {out}/m-", 1, "does not exist"),
    ("download-mesh -v file://{d}/pre_garbinfo -i 1 -o {out}/m-", 1, "info"),
    ("download-mesh -v file://{d}/pre_seg -i 999 -o {out}/m-", 1, "no mesh of objects [999]"),
    ("download-mesh -v file://{d}/pre_img -i 1 -o {out}/m-", 1, "no meshes"),
    ("download-mesh -v file://{d}/pre_seg_badmerged -i 1 -o {out}/m-", 1, "cannot read the meshes"),
    ("download-mesh -v redis://x/y -i 1 -o {out}/m-", 1, "redis://"),
    (TASKS + " skip-task-by-blocks-in-volume -v file://{d}/nonexistent", 1, "no precomputed volume"),
    (TASKS + " skip-task-by-blocks-in-volume -v file://{d}/pre_garbinfo", 1, "info"),
    (TASKS + " skip-task-by-blocks-in-volume -v file://{d}/pre_img -m 3", 1, "mip 3"),
    (TASKS + " skip-task-by-blocks-in-volume -v redis://x/y", 1, "format"),
    # ---- view ----------------------------------------------------------------------------------------------
    ("view {d}/pre_garbinfo --no-browser", 1, "info"),
    ("view {d}/pre_listinfo --no-browser", 1, "info"),
    ("view {d}/pre_img --no-browser --bind-address 999.1.1.1", 2, "999.1.1.1"),
    ("view {d}/pre_img --no-browser --cors-origin 'not an origin'", 2, "not a web origin"),
    ("view {d}/pre_img --no-browser --cors-origin https://example.org/path", 2, "not a web origin"),
    # ---- options: NaN, empty, dropped, meaningless ---------------------------------------------------------
    ("run --memory-limit lots " + TASKS, 2, "lots"),
    ("run --memory-limit -1GB " + TASKS, 2, "memory size"),
    (INFER + " -f identity --device-memory-limit nan", 2, "finite"),
    (INFER + " -f identity --device-memory-limit inf", 2, "finite"),
    (INFER + " -f identity --device-memory-limit 0", 2, "finite"),
    (INFER + " -f identity -n 2 4 4 -v 2 4 4", 1, "--patch-num"),
    (INFER + " -f pytorch -m {d}/numpy_model.py --via-onnx", 1, "drop --via-onnx"),
    (AFF + " agglomerate -i aff --thresholds ''", 2, "no numbers"),
    (AFF + " agglomerate -i aff --thresholds ,", 2, "no numbers"),
    (IMG + " plugin -f gaussian_filter -i img -o out -a sigma=-1", 1, "sigma"),
    (IMG + " plugin -f gaussian_filter -i img -o out -a 'sigma=(1,-2)'", 1, "sigma"),
    (IMG + " plugin -f gaussian_filter -i img -o out -a sigma=nan", 1, "sigma"),
    (IMG + " plugin -f rescale_intensity -i img -o out -a 'low=200;high=100'", 1, "below high"),
    (IMG + " gaussian-filter -i img -s -1", 2, "-1"),
    ("load-json -f {d}/garbage.json -o j", 1, "not valid json"),
    ("log-summary -l {d}/logs_garbage", 1, "task log"),
    # ---- left from round 1 ---------------------------------------------------------------------------------
    (IMG + " save-h5 -i img -f {d}/dir.h5", 1, "directory"),
    (IMG + " save-h5 -i img -f {d}/dir.h5 -c gzip", 1, "directory"),
    (IMG + " save-tif -i img -f {d}/dir.tif", 1, "directory"),
    (IMG + " save-npy -i img -f {d}/dir.npy", 1, "directory"),
    (IMG + " skeletonize -i img -v file://{out}/skel", 1, "not a segmentation"),
]


def _run(argv: list[str]) -> int:
    logging.disable(logging.CRITICAL)
    try:
        return main(argv)
    finally:
        logging.disable(logging.NOTSET)


def _digest(root) -> str:
    """Every file under ``root`` (names and bytes; Python's bytecode caches aside)."""
    h = hashlib.sha256()
    for dirpath, dirnames, names in sorted(os.walk(root)):
        dirnames[:] = sorted(n for n in dirnames if n != "__pycache__")
        h.update(os.path.relpath(dirpath, root).encode())
        for name in sorted(names):
            h.update(name.encode())
            with open(os.path.join(dirpath, name), "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def _swc(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """Inputs the rows read: valid ones and corrupt copies (volumes, meshes, levels, SWC, models)."""
    import torch  # noqa: F401 - imported once here, not under a row's alarm

    from chunkflow import Chunk
    from chunkflow.volumes import save_chunk

    root = tmp_path_factory.mktemp("bad_inputs_round2")
    rng = np.random.default_rng(0)
    img = Chunk(rng.integers(1, 255, (16, 32, 32), dtype=np.uint8), (0, 0, 0), (40, 4, 4), "image")
    z, y, x = np.mgrid[:16, :32, :32]
    ball = ((z - 8) ** 2 * 4 + (y - 16) ** 2 + (x - 16) ** 2 < 100).astype(np.uint32)  # one object on 4 blocks
    seg = Chunk(ball, (0, 0, 0), (40, 4, 4), "segmentation")
    aff = Chunk(rng.random((3, 16, 32, 32), dtype=np.float32), (0, 0, 0), (40, 4, 4), "affinity_map")
    for name, chunk in (("img", img), ("seg", seg), ("aff", aff)):
        save_chunk(str(root / f"{name}.h5"), chunk)
    for name in ("dir.h5", "dir.tif", "dir.npy", "emptydir"):
        (root / name).mkdir()

    # volumes: an image, a segmentation with legacy meshes, one with multi-resolution fragments
    def chain(command: str) -> None:
        assert _run(shlex.split(command.format(d=root))) == 0, command

    chain(IMG + " save-precomputed -i img -v file://{d}/pre_img -b 8 16 16")
    chain(SEG + " save-precomputed -i seg -v file://{d}/pre_seg -b 8 16 16")
    shutil.copytree(root / "pre_seg", root / "pre_multires")
    chain(
        TASKS
        + " load-precomputed -v file://{d}/pre_seg -e 1 1 1 --fill-missing -o seg mesh -i seg -o file://{d}/pre_seg"
    )
    chain(
        TASKS + " load-precomputed -v file://{d}/pre_multires -e 1 1 1 --fill-missing -o seg "
        "mesh -i seg -o file://{d}/pre_multires --multires"
    )
    chain("mesh-manifest -v file://{d}/pre_seg")
    shutil.copytree(root / "pre_seg", root / "pre_seg_garbage")
    shutil.copytree(root / "pre_seg", root / "pre_seg_badgzip")
    shutil.copytree(root / "pre_seg", root / "pre_seg_badmerged")
    merged = next((root / "pre_seg_badmerged" / "mesh").glob("1:0:merged*"))
    merged.write_bytes(gzip.compress(os.urandom(50)) if merged.suffix == ".gz" else os.urandom(50))
    for name, garbage in (("pre_seg_garbage", gzip.compress(os.urandom(50))), ("pre_seg_badgzip", os.urandom(50))):
        fragment = sorted((root / name / "mesh").glob("1:0:*"))[1]  # [0] may be the merged mesh
        assert "merged" not in fragment.name
        fragment.write_bytes(garbage)
    shutil.copytree(root / "pre_multires", root / "pre_multires_garbage")
    frags = sorted((root / "pre_multires_garbage" / "mesh" / "fragments").glob("*.frags"))[0]
    frags.write_bytes(frags.read_bytes()[: frags.stat().st_size // 2])
    for name, text in (("pre_garbinfo", "{garbage"), ("pre_listinfo", "[1, 2]")):
        shutil.copytree(root / "pre_img", root / name)
        (root / name / "info").write_text(text)

    # skeletons: a precomputed directory, a garbage skeleton, a garbage info, a garbage fragment
    chain(SEG + " skeletonize -i seg -v file://{d}/skel -d 10 --aggregate")
    for name in ("skel_garbage", "skel_badinfo", "skel_fragment_garbage"):
        shutil.copytree(root / "skel", root / name)
    (root / "skel_garbage" / "skeletons" / "1").write_bytes(os.urandom(40))
    (root / "skel_badinfo" / "skeletons" / "info").write_text("nope")
    next((root / "skel_fragment_garbage" / "skeletons" / "fragments").iterdir()).write_bytes(os.urandom(40))

    # SWC files
    swc = root / "swc"
    _swc(swc / "garbage.swc", "garbage here\nnot swc\n")
    _swc(swc / "dangling.swc", "1 0 0 0 0 1 7\n")
    _swc(swc / "nan.swc", "1 0 nan 0 0 1 -1\n2 0 1 1 1 1 1\n")
    (swc / "binary.swc").write_bytes(b"\xa3\x00\xff" + os.urandom(60))
    _swc(swc / "empty.swc", "# only a comment\n")
    _swc(swc / "repeated.swc", "1 0 0 0 0 1 -1\n1 0 1 1 1 1 -1\n")
    _swc(root / "swcdir" / "1.swc", "1 0 40 40 40 1 -1\n2 0 80 80 80 1 1\n")
    _swc(root / "swcdir" / "2.swc", "1 0 40 40\n")

    # luminance levels: whole-section files <z> and stage-1 fragments
    def levels(name: str, record, sections: int = 16) -> None:
        (root / name).mkdir()
        for section in range(sections):
            (root / name / str(section)).write_text(record if isinstance(record, str) else json.dumps(record))

    levels("levels_garbage", "garbage")
    levels("levels_negative", {"levels": [-5] * 256})
    levels("levels_short", {"levels": [1] * 10})
    levels("levels_fractional", {"levels": [1.5] * 256})
    levels("levels_list", [1, 2])
    (root / "levels_dir" / "0").mkdir(parents=True)
    for name, record in (
        ("levels_fragment_garbage", "garbage"),
        ("levels_fragment_negative", json.dumps({"z_start": 0, "levels": [[-1] * 256], "voxels_per_section": 4})),
        ("levels_fragment_nostart", json.dumps({"levels": [[1] * 256], "voxels_per_section": 4})),
    ):
        (root / name / "fragments").mkdir(parents=True)
        (root / name / "fragments" / "0-1_0-2_0-2").write_text(record)

    (root / "garbage.json").write_text("{bad")
    (root / "logs_garbage").mkdir()
    (root / "logs_garbage" / "task1.json").write_text('{"timer": {"load-h5": 0.5}}')
    (root / "logs_garbage" / "task2.json").write_text('{"timer": {"load-h5": 0.')  # a worker killed mid-write

    # a model whose forward goes through NumPy: tracing freezes it, the ONNX graph takes no input
    (root / "numpy_model.py").write_text(
        "import torch\n\nclass Net(torch.nn.Module):\n    def forward(self, x):\n"
        "        y = x.detach().cpu().numpy()\n        return torch.from_numpy(y.repeat(3, axis=1))\n\n"
        "def load_model(path=None):\n    return Net()\n"
    )
    return root


@pytest.fixture(scope="module")
def d_digest(d):
    return _digest(d)


def _ids() -> list[str]:
    allowed = set(string.ascii_letters + string.digits + "-_.")
    return [f"{i:03d}-" + "".join(c if c in allowed else "_" for c in cmd)[:60] for i, (cmd, _, _) in enumerate(CASES)]


class _Hang(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise _Hang()


@pytest.mark.parametrize(("command", "code", "word"), CASES, ids=_ids())
def test_bad_input(d, d_digest, tmp_path, capsys, monkeypatch, command, code, word):
    out, cwd = tmp_path / "out", tmp_path / "cwd"
    out.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(d / "nonexistent.json"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    argv = shlex.split(command.format(d=d, out=out))
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(ROW_TIMEOUT_S)
    try:
        exit_code = _run(argv)
    except _Hang:
        pytest.fail(f"hung for {ROW_TIMEOUT_S} s: chunkflow {command}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert exit_code == code, err
    assert word.lower() in err.lower(), err
    if code == 1:
        assert err.count("\n") == 1, err
    left = [str(p.relative_to(tmp_path)) for p in (*out.rglob("*"), *cwd.rglob("*"))]
    assert not left, f"left behind: {left}"
    assert _digest(d) == d_digest, "an input under {d} was changed"


def test_rows_are_distinct():
    assert len({c for c, _, _ in CASES}) == len(CASES)


# ---- the valid neighbours of the rows above ----------------------------------------------------------------
def _ok(command: str, capsys, **paths) -> str:
    """Run a chain that must succeed ({d}: the module's inputs, {t}: the test's own directory)."""
    code = _run(shlex.split(command.format(**paths)))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def _h5(path) -> np.ndarray:
    with h5py.File(path) as f:
        return f["main"][()]


def test_constant_images_pass_contrast_normalization_unchanged(tmp_path, capsys):
    """A constant section has equal clamping values: it is left as it is, with its own histogram or
    with volume-wide levels; levels of 256 zero counts (an all-black section) are valid too."""
    from chunkflow import Chunk
    from chunkflow.volumes import save_chunk

    original = np.full((4, 16, 16), 77, np.uint8)
    save_chunk(str(tmp_path / "in.h5"), Chunk(original, (0, 0, 0), (40, 4, 4), "image"))
    _ok("load-h5 -f {t}/in.h5 -o img compute-luminance-levels -i img -p {t}/levels", capsys, t=tmp_path)
    _ok("aggregate-luminance-levels -p {t}/levels", capsys, t=tmp_path)
    _ok(
        "load-h5 -f {t}/in.h5 -o img normalize-contrast -i img -o own save-h5 -i own -f {t}/own.h5 "
        "normalize-contrast -i img -o lev --levels-path {t}/levels save-h5 -i lev -f {t}/lev.h5",
        capsys,
        t=tmp_path,
    )
    assert np.array_equal(_h5(tmp_path / "own.h5"), original)
    assert np.array_equal(_h5(tmp_path / "lev.h5"), original)
    levels = json.loads((tmp_path / "levels" / "0").read_text())["levels"]
    assert levels[77] == 16 * 16 and sum(levels) == 16 * 16
    for section in range(4):  # all black: zero counts everywhere
        (tmp_path / "levels" / str(section)).write_text(json.dumps({"levels": [0] * 256}))
    _ok(
        "load-h5 -f {t}/in.h5 -o img normalize-contrast -i img --levels-path {t}/levels save-h5 -i img -f {t}/black.h5",
        capsys,
        t=tmp_path,
    )
    assert np.array_equal(_h5(tmp_path / "black.h5"), original)


def test_duplicate_thresholds_sweep_once_each(d, capsys):
    out = _ok(
        AFF + " load-h5 -f {d}/seg.h5 -o gt agglomerate -i aff --thresholds 0.3 0.3,0.5 "
        "--groundtruth-chunk-name gt -o seg",
        capsys,
        d=d,
    )
    rows = [line.split()[0] for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert rows == ["0.300", "0.500"]


def test_erl_of_an_empty_segmentation_is_zero(tmp_path, capsys):
    swc = tmp_path / "tabs.swc"  # tabs, several spaces, comments, a parent listed after its child
    swc.write_text("# x y z in nm\n2\t0\t80 80 200\t1 1\n1  0  40 40 40  1  -1  # root\n3 0 120 120 400 1 2\n")
    out = _ok(
        "create-chunk -s 16 32 32 -e 40 4 4 -d uint32 --pattern zero --layer-type segmentation -o seg "
        "evaluate-segmentation -s seg --skeletons {t}/tabs.swc -o {t}/erl.json",
        capsys,
        t=tmp_path,
    )
    erl = json.loads((tmp_path / "erl.json").read_text())["erl"]
    assert erl["erl"] == 0.0 and erl["gt_erl"] > 0 and erl["skeletons"] == 1
    assert "expected run length" in out


def test_parse_swc_reads_what_other_tools_write():
    from chunkflow.segmentation.skeletons import parse_swc

    nodes = parse_swc("# header\n1 1 0 0 0 2.5 -1\n\n2 3 3 4 0 1 1 extra\n3 3 0 0 5 1 1\n")
    assert nodes.vertices.tolist() == [[0, 0, 0], [3, 4, 0], [0, 0, 5]]
    assert sorted(map(tuple, nodes.edges.tolist())) == [(0, 1), (0, 2)]
    assert nodes.radii.tolist() == [2.5, 1, 1] and nodes.types.tolist() == [1, 3, 3]


def test_a_tiny_device_memory_limit_gives_the_same_output(d, tmp_path, capsys):
    _ok(INFER + " -f identity --device-memory-limit 0.000001 save-h5 -i o -f {t}/tiny.h5", capsys, d=d, t=tmp_path)
    _ok(INFER + " -f identity save-h5 -i o -f {t}/whole.h5", capsys, d=d, t=tmp_path)
    tiny = _h5(tmp_path / "tiny.h5")
    assert tiny.shape[0] == 3 and tiny.any() and np.array_equal(tiny, _h5(tmp_path / "whole.h5"))


def test_patch_num_and_overlap_that_agree_are_1_2_0_command_lines(d, tmp_path, capsys):
    # a 16x32x32 chunk in 4x8x8 patches: 7 patches a side step by 2, 4, 4, i.e. overlap by 2, 4, 4
    _ok(INFER + " -f identity -n 7 7 7 -v 2 4 4 save-h5 -i o -f {t}/both.h5", capsys, d=d, t=tmp_path)
    _ok(INFER + " -f identity -n 7 7 7 save-h5 -i o -f {t}/num.h5", capsys, d=d, t=tmp_path)
    assert np.array_equal(_h5(tmp_path / "both.h5"), _h5(tmp_path / "num.h5"))


def test_mesh_manifest_of_a_prefix_without_objects_writes_none(d, tmp_path, capsys):
    shutil.copytree(d / "pre_seg", tmp_path / "seg")
    out = _ok("mesh-manifest -v file://{t}/seg -p 9", capsys, t=tmp_path)
    assert "wrote 0 mesh manifests" in out


def test_skeletonize_an_8bit_segmentation_when_told(d, tmp_path, capsys):
    _ok(SEG + " skeletonize -i seg -v file://{t}/as_seg -d 10", capsys, d=d, t=tmp_path)
    _ok(SEG + " -e uint8 skeletonize -i seg -v file://{t}/as_u8 -d 10 --is-segmentation", capsys, d=d, t=tmp_path)
    names = sorted(p.name for p in (tmp_path / "as_u8" / "skeletons" / "fragments").iterdir())
    assert names and names == sorted(p.name for p in (tmp_path / "as_seg" / "skeletons" / "fragments").iterdir())


def test_view_origins_and_addresses():
    from chunkflow.errors import InvalidParameterError
    from chunkflow.viewer.serve import check_bind_address, check_origin

    assert check_origin("https://neuroglancer-demo.appspot.com/") == "https://neuroglancer-demo.appspot.com"
    assert check_origin("http://localhost:8080") == "http://localhost:8080"
    assert check_origin("*") == "*"
    for bad in ("not an origin", "ftp://x.org", "https://x.org/p", "https://", "https://x.org:99999"):
        with pytest.raises(InvalidParameterError):
            check_origin(bad)
    check_bind_address("127.0.0.1")
    with pytest.raises(InvalidParameterError):
        check_bind_address("999.1.1.1")


def test_gaussian_filter_plugin_with_zero_sigma_is_the_identity(d, tmp_path, capsys):
    _ok(
        IMG + " plugin -f gaussian_filter -i img -o out -a sigma=0 save-h5 -i out -f {t}/same.h5",
        capsys,
        d=d,
        t=tmp_path,
    )
    assert np.array_equal(_h5(tmp_path / "same.h5"), _h5(d / "img.h5"))
