"""Writes are atomic with ordinary file modes; corrupt or missing blocks are named, or filled
with --fill-missing; concurrent info-file updates never lose a change or show a partial file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.errors import VolumeFormatError
from chunkflow.files import _HOST, atomic_path, sweep_debris
from chunkflow.volumes import create_volume, open_volume, save_chunk

SHAPE, BLOCK = (16, 32, 32), (8, 16, 16)


def _chunk(dtype=np.uint8, offset=(0, 0, 0)) -> Chunk:
    data = np.random.default_rng(1).integers(1, 200, SHAPE).astype(dtype)
    return Chunk(data, offset, (40, 4, 4), "image")


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mode & 0o777 for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_every_file_we_write_follows_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        chunk = _chunk()
        for name in ("a.h5", "a.tif", "a.npy"):
            save_chunk(str(tmp_path / name), chunk)
        save_chunk(f"png://{tmp_path}/pngs", chunk)
        save_chunk(f"file://{tmp_path}/pre", chunk, block_size=BLOCK)
        save_chunk(f"zarr://{tmp_path}/z.zarr", chunk, block_size=BLOCK)
        from chunkflow.queues import open_queue
        from chunkflow.volumes.precomputed import ensure_mips

        ensure_mips(f"file://{tmp_path}/pre", 1)
        queue = open_queue(f"file://{tmp_path}/q", max_receive_count=3)
        queue.send(["0-1_0-1_0-1"])
    finally:
        os.umask(old)
    modes = _modes(tmp_path)
    assert {"a.h5", "a.tif", "a.npy", "pre/info", "q/config.json"} <= set(modes)
    assert any(k.startswith("pre/4_4_40/") for k in modes) and any(k.startswith("pngs/") for k in modes)
    # lock files made by the info update are ordinary files too; nothing is 0600
    assert set(modes.values()) == {0o666 & ~mask}, {k: oct(v) for k, v in modes.items() if v != 0o666 & ~mask}


def test_precomputed_missing_and_corrupt_blocks_are_named_or_filled(tmp_path):
    chunk = _chunk()
    volume = create_volume(f"file://{tmp_path}/pre", like=chunk, block_size=BLOCK)
    volume.write(chunk)
    blocks = sorted((tmp_path / "pre" / "4_4_40").iterdir())
    assert len(blocks) == 8
    blocks[0].write_bytes(blocks[0].read_bytes()[:30])  # truncated: what a killed in-place writer left
    blocks[5].unlink()  # missing
    volume = open_volume(f"file://{tmp_path}/pre")
    with pytest.raises(
        VolumeFormatError, match=rf"block 4_4_40/{blocks[0].name.removesuffix('.gz')} .* is corrupt.*--fill-missing"
    ):
        volume.read()
    second = open_volume(f"file://{tmp_path}/pre").read  # a box holding only the missing block
    missing_box = _box_of(blocks[5].name)
    with pytest.raises(VolumeFormatError, match="is missing.*--fill-missing"):
        second(missing_box)
    filled = volume.read(fill_missing=True).array
    expected = chunk.array.copy()
    for name in (blocks[0].name, blocks[5].name):
        expected[_box_of(name).slices()] = 0
    np.testing.assert_array_equal(filled, expected)


def _box_of(block_name: str):
    from chunkflow.geometry import BoundingBox

    x, y, z = (tuple(map(int, r.split("-"))) for r in block_name.removesuffix(".gz").split("_"))
    return BoundingBox((z[0], y[0], x[0]), (z[1], y[1], x[1]))


def test_fill_missing_through_the_cli(tmp_path, cli_runner, capsys):
    chunk = _chunk()
    create_volume(f"file://{tmp_path}/pre", like=chunk, block_size=BLOCK).write(chunk)
    first = sorted((tmp_path / "pre" / "4_4_40").iterdir())[0]
    first.unlink()
    args = ["load-precomputed", "-v", f"file://{tmp_path}/pre", "-s", "0", "0", "0", "-z", *map(str, SHAPE)]
    assert cli_runner([*args, "save-h5", "-f", f"{tmp_path}/no.h5"]) == 1
    assert "is missing" in capsys.readouterr().err and not (tmp_path / "no.h5").exists()
    assert cli_runner([*args, "--fill-missing", "save-h5", "-f", f"{tmp_path}/yes.h5"]) == 0
    got = open_volume(str(tmp_path / "yes.h5")).read().array
    assert (got[_box_of(first.name).slices()] == 0).all() and (got[8:] == chunk.array[8:]).all()


def test_zarr_corrupt_block_is_named_or_filled(tmp_path):
    chunk = _chunk(np.float32)
    create_volume(f"zarr://{tmp_path}/z.zarr", like=chunk, block_size=BLOCK).write(chunk)
    victim = tmp_path / "z.zarr" / "c" / "1" / "0" / "1"
    victim.write_bytes(b"garbage")
    volume = open_volume(f"zarr://{tmp_path}/z.zarr")
    with pytest.raises(VolumeFormatError, match=r"block 1\.0\.1 \(voxels 8-16_0-16_16-32\) .* corrupt.*--fill-missing"):
        volume.read()
    filled = volume.read(fill_missing=True).array
    expected = chunk.array.copy()
    expected[8:16, 0:16, 16:32] = 0
    np.testing.assert_array_equal(filled, expected)


@pytest.mark.subprocess
def test_debris_of_a_killed_writer_is_swept_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # that process has exited: its temporaries can never be renamed into place
    stale = tmp_path / f".a.h5.{_HOST}.{pid}.abc123.part"
    stale.write_bytes(b"half a file")
    live = tmp_path / f".a.h5.{_HOST}.{os.getpid()}.def456.part"  # a writer of this process, still running
    live.write_bytes(b"busy")
    other_host = tmp_path / f".a.h5.otherhost.{pid}.xyz.part"  # cannot tell from here: left alone
    other_host.write_bytes(b"?")
    sweep_debris(tmp_path, force=True)
    assert not stale.exists() and live.exists() and other_host.exists()
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"x")
    assert (tmp_path / "b.bin").read_bytes() == b"x"


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "a.bin") as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


STRESS = """
import json, sys, time
from pathlib import Path
from chunkflow.volumes.precomputed import ensure_mips
from chunkflow.postprocess._layout import declare_subdir
url, role = sys.argv[1], sys.argv[2]
root = Path(url[len("file://"):])
if role == "reader":
    bad, reads, deadline = 0, 0, time.time() + float(sys.argv[3])
    while time.time() < deadline and not (root / "stop").exists():
        try:
            info = json.loads((root / "info").read_text())
            assert info["scales"]
            reads += 1
        except Exception as exc:
            bad += 1
            print("BAD", type(exc).__name__, exc, flush=True)
    print("READS", reads, "BAD", bad, flush=True)
else:
    index = int(role)
    for round in range(6):
        ensure_mips(url, 1 + (index + round) % 4)
        declare_subdir(root, ("mesh", "skeletons", f"extra{index}")[round % 3], {"@type": "neuroglancer_legacy_mesh"})
    print("DONE", flush=True)
"""


@pytest.mark.subprocess
def test_info_file_under_four_concurrent_writers(tmp_path):
    """Issue 18.3: 4 writers add scales and mesh/skeleton keys at once; a reader polls the info file."""
    from chunkflow.volumes.precomputed import create_info

    url = f"file://{tmp_path}/seg"
    create_info(url, volume_size=(16, 256, 256), block_size=(8, 32, 32), dtype="uint32", layer_type="segmentation")
    script = tmp_path / "stress.py"
    script.write_text(textwrap.dedent(STRESS))
    reader = subprocess.Popen([sys.executable, str(script), url, "reader", "120"], stdout=subprocess.PIPE, text=True)
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), url, str(i)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for i in range(4)
    ]
    outs = [w.communicate(timeout=240) for w in writers]
    (tmp_path / "seg" / "stop").touch()
    reader_out = reader.communicate(timeout=60)[0]
    assert all(w.returncode == 0 for w in writers), [o[1][-2000:] for o in outs]
    assert "BAD" in reader_out and "BAD 0" in reader_out, reader_out[-2000:]
    reads = int(reader_out.split("READS")[1].split()[0])
    assert reads > 10
    info = json.loads((tmp_path / "seg" / "info").read_text())
    assert len(info["scales"]) == 5  # mips 0-4: nobody's added scale was lost
    assert [s["resolution"] for s in info["scales"]] == [[1, 1, 1], [2, 2, 1], [4, 4, 1], [8, 8, 1], [16, 16, 1]]
    assert {"mesh", "skeletons", "extra0", "extra1", "extra2", "extra3"} <= set(info)  # nor a key
