"""Bad inputs of the staged jobs (issue 26): one row per case, one line on stderr, the exit code, no
traceback, nothing left behind, nothing overwritten; and their valid neighbours still work."""

from __future__ import annotations

import hashlib
import logging
import shlex
from pathlib import Path

import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.cli import main
from chunkflow.volumes import create_volume

AGG = "agglomerate-volume -v zarr://{d}/affs -b 16 32 32 -m 4 8 8"
CC = "global-connected-components -v zarr://{d}/prob -b 16 32 32"
CASES = [
    ("agglomerate-volume -v zarr://{d}/affs -o zarr://{d}/affs -b 16 32 32 -m 4 8 8", 1, "its own input"),
    ("global-connected-components -v zarr://{d}/prob -o file://{d}/prob -b 16 32 32", 1, "its own input"),
    (AGG + " -o zarr://{d}/mismatch", 1, "dtype uint8"),
    (CC + " -o zarr://{d}/small", 1, "size"),
    (CC + " -o zarr://{d}/shifted", 1, "offset"),
    (CC + " -o zarr://{d}/image", 1, "layer type image"),
    ("agglomerate-volume -v zarr://{d}/affs -o zarr://{out}/seg -b 16 32 32", 2, "margin"),
    (AGG + " -o redis://x/seg", 1, "redis"),
    (CC + " -o redis://x/seg", 1, "format"),
    (AGG + " -o zarr://{out}/seg -q redis://x/q", 1, "unknown scheme"),
    (CC + " -o zarr://{out}/cc --dask tcp://127.0.0.1:9", 1, "dask scheduler"),
    (AGG + " -o zarr://{out}/seg --work-dir {d}/afile", 1, "is a file"),
    (CC + " -o zarr://{out}/cc --work-dir {d}/afile/below", 1, "below the file"),
    (AGG + " -o zarr://{out}/seg --work-dir redis://x/w", 1, "redis"),
    ("agglomerate-volume -v zarr://{d}/nanaffs -o zarr://{out}/seg -b 16 32 32 -m 4 8 8", 1, "nan"),
    ("global-connected-components -v zarr://{d}/nanprob -o zarr://{out}/cc -b 16 32 32", 1, "nan"),
    (AGG + " -o zarr://{out}/seg -t nan", 1, "threshold"),
    (CC + " -o zarr://{out}/cc -t nan", 1, "finite"),
    ("global-connected-components -v zarr://{d}/affs -o zarr://{out}/cc -b 16 32 32", 1, "3 channels"),
    (AGG + " -o zarr://{out}/seg --work-dir {d}/garbage-work", 1, "not valid json"),
    (AGG + " -o zarr://{out}/seg --work-dir {d}/dir-work", 1, "is a directory"),
    (CC + " -o zarr://{out}/cc --work-dir {d}/forged-work", 1, "delete the marker"),
    (CC + " -o zarr://{out}/cc --work-dir {d}/truncated-work", 1, "rerun"),
    (AGG + " -o zarr://{out}/seg --work-dir {d}/affs", 1, "overlaps the affs"),
    (AGG + " -o zarr://{out}/seg --work-dir {out}", 1, "overlaps the output"),
    (CC + " -o zarr://{out}/cc --work-dir {d}/notwork", 1, "not a chunkflow work dir"),
    ("global-connected-components -v file://{d}/holes -o zarr://{out}/cc -b 16 32 32", 1, "missing"),
]


@pytest.fixture(scope="module")
def d(tmp_path_factory, job_affs):
    d = tmp_path_factory.mktemp("jobinputs")
    affs = job_affs.with_array(np.ascontiguousarray(job_affs.array[:, :32, :64, :64]))
    create_volume(f"zarr://{d}/affs", like=affs, block_size=(16, 32, 32)).write(affs)
    nan = affs.array.copy()
    nan[0, 20, 40, 40] = np.nan
    create_volume(f"zarr://{d}/nanaffs", like=affs, block_size=(16, 32, 32)).write(affs.with_array(nan))
    prob = Chunk((affs.array[0] > 0.5).astype(np.float32), layer_type="probability_map")
    create_volume(f"zarr://{d}/prob", like=prob, block_size=(16, 32, 32)).write(prob)
    create_volume(f"zarr://{d}/nanprob", like=prob).write(
        prob.with_array(np.where(prob.array > 0, np.nan, 0).astype(np.float32))
    )
    size, start = prob.bbox.size, prob.bbox.start
    for name, kw in {
        "mismatch": {"dtype": "uint8"},
        "small": {"volume_size": (16, 64, 64)},
        "shifted": {"voxel_offset": (1, 0, 0)},
        "image": {"layer_type": "image"},
    }.items():
        options = {"volume_size": size, "voxel_offset": start, "dtype": "uint32", "layer_type": "segmentation",
                   "block_size": (16, 32, 32), **kw}  # fmt: skip
        create_volume(f"zarr://{d}/{name}", **options)
    holes = create_volume(f"file://{d}/holes", like=prob, block_size=(16, 32, 32))
    holes.write(prob)
    sorted(p for p in (d / "holes").rglob("*-*") if p.is_file())[-1].unlink()  # one block missing
    (d / "afile").write_text("x")
    (d / "notwork").mkdir()
    (d / "notwork" / "precious.txt").write_text("keep me")
    (d / "garbage-work").mkdir()
    (d / "garbage-work" / "manifest.json").write_text("{garbage")
    (d / "dir-work" / "manifest.json").mkdir(parents=True)
    for name in ("forged-work", "truncated-work"):  # filled per row: the manifest names the row's output
        (d / name).mkdir()
    return d


def _prepare_state(d: Path, out: Path) -> None:
    """Work dirs whose manifest must name this row's output: written per row."""
    from chunkflow.jobs.global_cc import global_cc_job

    for name in ("forged-work", "truncated-work"):
        job = global_cc_job(f"zarr://{d}/prob", f"zarr://{out}/cc", (16, 32, 32), 0.5, 6, str(d / name))
        for path in sorted((d / name).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        job.write_manifest()
        block = job.blocks()[0]
        if name == "forged-work":
            Path(job.done_marker("label", block)).parent.mkdir(parents=True)
            Path(job.done_marker("label", block)).write_text("forged")
        else:
            for b in job.blocks():
                job.mark_done("label", b)
                Path(job.work_url("faces", f"{b}.npz")).parent.mkdir(exist_ok=True)
                Path(job.work_url("faces", f"{b}.npz")).write_bytes(b"PK\x03\x04" + b"\0" * 10)


def _digest(d: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(d.rglob("*")):
        if path.is_file() and "-work" not in str(path.relative_to(d)):
            h.update(str(path.relative_to(d)).encode() + path.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize(("command", "code", "word"), CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_bad_job_input(d, tmp_path, capsys, monkeypatch, command, code, word):
    out, cwd = tmp_path / "out", tmp_path / "cwd"
    out.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # a relative path written by mistake shows up here
    _prepare_state(d, out)
    before = _digest(d)
    logging.disable(logging.CRITICAL)
    try:
        exit_code = main(shlex.split(command.format(d=d, out=out)))
    finally:
        logging.disable(logging.NOTSET)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert exit_code == code, err
    assert word.lower() in err.lower(), err
    if code == 1:
        assert err.count("\n") == 1, err
    left = [str(p.relative_to(tmp_path)) for p in (*out.rglob("*"), *cwd.rglob("*"))]
    assert not left, f"left behind: {left}"
    assert _digest(d) == before  # inputs and existing outputs untouched


@pytest.mark.parametrize("job", ["agglomerate", "global-cc"])
def test_output_equal_to_input_or_mismatched_leaves_bytes_unchanged(d, tmp_path, job):
    src = "affs" if job == "agglomerate" else "prob"
    command = ["agglomerate-volume", "-m", "4", "8", "8"] if job == "agglomerate" else ["global-connected-components"]
    for target in (f"zarr://{d}/{src}", f"zarr://{d}/mismatch"):
        before = _digest(d)
        assert (
            main(
                [
                    *command,
                    "-v",
                    f"zarr://{d}/{src}",
                    "-o",
                    target,
                    "-b",
                    "16",
                    "32",
                    "32",
                    "--work-dir",
                    str(tmp_path / "w"),
                ]
            )
            == 1
        )
        assert _digest(d) == before and not (tmp_path / "w").exists()
    # --overwrite replaces the mismatched output (never the input)
    out = tmp_path / "copy"
    import shutil

    shutil.copytree(d / "mismatch", out)
    assert (
        main([*command, "-v", f"zarr://{d}/{src}", "-o", f"zarr://{out}", "-b", "16", "32", "32", "--overwrite"]) == 0
    )
    from chunkflow.volumes import open_volume

    assert open_volume(f"zarr://{out}").dtype == np.uint32


@pytest.mark.parametrize("dtype", ["float64", "uint8"])
def test_valid_neighbours_still_work(d, tmp_path, job_affs, dtype):
    affs = job_affs.array[:, :32, :64, :64]
    array = affs.astype(np.float64) if dtype == "float64" else (affs * 255).astype(np.uint8)
    url = f"zarr://{tmp_path}/affs"
    create_volume(url, like=job_affs.with_array(array), block_size=(16, 32, 32)).write(job_affs.with_array(array))
    # margins bigger than a block
    assert (
        main(
            [
                "agglomerate-volume",
                "-v",
                url,
                "-o",
                f"zarr://{tmp_path}/seg",
                "-b",
                "16",
                "32",
                "32",
                "-m",
                "20",
                "40",
                "40",
            ]
        )
        == 0
    )
    from chunkflow.volumes import open_volume

    seg = open_volume(f"zarr://{tmp_path}/seg").read().array
    assert seg.max() > 3 and not (tmp_path / "seg.agglomerate-work").exists()
