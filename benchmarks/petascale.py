"""Sharded image write + 3-mip sharded downsample: igneous (LocalTaskQueue) vs chunkflow, same machine.

    .venv/bin/python benchmarks/petascale.py            # needs igneous in IGNEOUS_PYTHON (default /tmp/igvenv/bin/python)

Prints JSON lines: the side-by-side job on a 256x512x512 uint8 volume (64^3 blocks, igneous's default
shard spec: one 64 MiB shard per mip), voxel equality of the two outputs at every mip, the shard writer
choice (cloud-volume vs tensorstore on the same shard), and files written per mip for 512^3 at 64^3
blocks, unsharded vs sharded. Install igneous in its own venv: python3.11 -m venv /tmp/igvenv &&
/tmp/igvenv/bin/pip install igneous-pipeline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402

SIZE = (256, 512, 512)  # ZYX
BLOCK = (64, 64, 64)
MIPS = 3

IGNEOUS_JOB = r"""
import sys, time, json
from taskqueue import LocalTaskQueue
import igneous.task_creation as tc
src, dst, mips = sys.argv[1], sys.argv[2], int(sys.argv[3])
tq = LocalTaskQueue(parallel=2, progress=False)
t = time.perf_counter()
tq.insert(tc.create_image_shard_transfer_tasks(src, dst, mip=0, chunk_size=(64, 64, 64)))
tq.execute(progress=False)
transfer = time.perf_counter() - t
downs = []
for mip in range(mips):
    t = time.perf_counter()
    tq.insert(tc.create_image_shard_downsample_tasks(dst, mip=mip, factor=(2, 2, 1)))
    tq.execute(progress=False)
    downs.append(time.perf_counter() - t)
print(json.dumps({"transfer_s": transfer, "downsample_s": downs}))
"""


def _source(root: Path) -> tuple[str, np.ndarray]:
    """An EM-like 256x512x512 uint8 volume (synthetic EM of the pinky40 labels, tiled), unsharded."""
    from chunkflow import Chunk
    from chunkflow.datasets import pinky40_labels
    from chunkflow.datasets.synthetic_em import synthesize_em
    from chunkflow.volumes import save_chunk

    labels = pinky40_labels().array  # 128x256x256
    em = synthesize_em(labels)
    array = np.ascontiguousarray(np.tile(em, (2, 2, 2)))
    url = f"file://{root / 'src'}"
    save_chunk(url, Chunk(array, (0, 0, 0), (40, 4, 4), "image"), block_size=BLOCK)
    return url, array


def _files(path: Path) -> dict[str, int]:
    """Files in each scale's folder, in mip order."""
    import json

    keys = [scale["key"] for scale in json.loads((path / "info").read_text())["scales"]]
    return {key: sum(1 for _ in (path / key).iterdir()) for key in keys if (path / key).is_dir()}


def _read_ts(path: Path, mip: int) -> np.ndarray:
    import tensorstore as ts

    store = ts.open({"driver": "neuroglancer_precomputed", "kvstore": f"file://{path}/", "scale_index": mip}).result()
    return np.asarray(store[..., 0].read().result()).T


def ours(src: str, dst: Path) -> dict[str, float]:
    chunkflow = [str(Path(sys.executable).parent / "chunkflow")]
    url = f"file://{dst}"
    start = time.perf_counter()
    subprocess.run(
        [
            *chunkflow,
            "create-info",
            "-v",
            url,
            "-z",
            *map(str, SIZE),
            "-s",
            "40",
            "4",
            "4",
            "-b",
            *map(str, BLOCK),
            "-d",
            "uint8",
            "--max-mip",
            str(MIPS),
            "--sharded",
        ],
        check=True,
    )
    subprocess.run(
        [
            *chunkflow,
            "generate-tasks",
            "-v",
            url,
            "load-precomputed",
            "-v",
            src,
            "save-precomputed",
            "-v",
            url,
            "downsample-upload",
            "-v",
            url,
            "-p",
            str(MIPS + 1),
        ],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    return {"total_s": time.perf_counter() - start}


def igneous(src: str, dst: Path, python: str) -> dict[str, float]:
    import json

    start = time.perf_counter()
    out = subprocess.run(
        [python, "-c", IGNEOUS_JOB, src, f"file://{dst}", str(MIPS)], check=True, capture_output=True, text=True
    )
    record = json.loads(out.stdout.strip().splitlines()[-1])
    record["total_s"] = time.perf_counter() - start
    return record


def writer_choice(root: Path, array: np.ndarray) -> None:
    """The same one-shard write through cloud-volume's make_shard (what chunkflow uses) and tensorstore."""
    import tensorstore as ts

    from chunkflow import Chunk
    from chunkflow.volumes.sharded import create_sharded

    times: dict[str, list[float]] = {"cloudvolume_s": [], "tensorstore_s": []}
    for _ in range(3):
        for name in ("cloudvolume_s", "tensorstore_s"):
            path = root / f"w-{name}"
            shutil.rmtree(path, ignore_errors=True)
            volume = create_sharded(f"file://{path}", volume_size=SIZE, block_size=BLOCK, dtype="uint8")
            start = time.perf_counter()
            if name == "cloudvolume_s":
                volume.write(Chunk(array, (0, 0, 0)))
            else:
                store = ts.open({"driver": "neuroglancer_precomputed", "kvstore": f"file://{path}/"}).result()
                store[..., 0].write(array.T).result()
            times[name].append(time.perf_counter() - start)
            np.testing.assert_array_equal(_read_ts(path, 0), array)
    emit(bench="shard_writer", shape=list(SIZE), **{k: float(np.median(v)) for k, v in times.items()})
    from chunkflow.volumes import open_volume

    path = root / "w-cloudvolume_s"
    reads: dict[str, list[float]] = {"cloudvolume_s": [], "tensorstore_s": []}
    for _ in range(3):
        start = time.perf_counter()
        open_volume(f"file://{path}").read()
        reads["cloudvolume_s"].append(time.perf_counter() - start)
        start = time.perf_counter()
        _read_ts(path, 0)
        reads["tensorstore_s"].append(time.perf_counter() - start)
    emit(bench="shard_reader", shape=list(SIZE), **{k: float(np.median(v)) for k, v in reads.items()})


def files_per_mip(root: Path) -> None:
    """512^3 uint8 at 64^3 blocks, mips 0-3 written by chunkflow: files per mip, unsharded vs sharded."""
    from chunkflow import Chunk
    from chunkflow.postprocess import downsample_upload
    from chunkflow.volumes import save_chunk
    from chunkflow.volumes.sharded import create_sharded

    array = np.random.default_rng(0).integers(0, 256, (512, 512, 512), dtype=np.uint8)
    chunk = Chunk(array, (0, 0, 0), (40, 4, 4), "image")
    counts = {}
    for kind in ("unsharded", "sharded"):
        path = root / f"files-{kind}"
        if kind == "sharded":
            create_sharded(f"file://{path}", like=chunk, block_size=BLOCK, max_mip=MIPS)
        save_chunk(f"file://{path}", chunk, block_size=BLOCK)
        downsample_upload(chunk, f"file://{path}", 0, MIPS)
        counts[kind] = list(_files(path).values())
    emit(bench="files_per_mip", shape=[512, 512, 512], block=list(BLOCK), mips=list(range(MIPS + 1)), **counts)


def main() -> None:
    python = os.environ.get("IGNEOUS_PYTHON", "/tmp/igvenv/bin/python")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src, array = _source(root)
        if Path(python).exists():
            runs: dict[str, list[dict[str, float]]] = {"igneous": [], "chunkflow": []}
            for attempt in range(2):  # alternate, so drift on a shared machine hits both
                for name in ("igneous", "chunkflow"):
                    dst = root / f"{name}-{attempt}"
                    runs[name].append(igneous(src, dst, python) if name == "igneous" else ours(src, dst))
            ig, cf = root / "igneous-1", root / "chunkflow-1"
            diffs = [
                int(np.abs(_read_ts(ig, m).astype(int) - _read_ts(cf, m).astype(int)).max()) for m in range(MIPS + 1)
            ]
            emit(
                bench="sharded_transfer_plus_3_mip_downsample",
                shape=list(SIZE),
                block=list(BLOCK),
                processes=2,
                igneous_total_s=min(r["total_s"] for r in runs["igneous"]),
                igneous_transfer_s=min(r["transfer_s"] for r in runs["igneous"]),
                igneous_downsample_s=[min(r["downsample_s"][m] for r in runs["igneous"]) for m in range(MIPS)],
                chunkflow_total_s=min(r["total_s"] for r in runs["chunkflow"]),
                ratio=min(r["total_s"] for r in runs["chunkflow"]) / min(r["total_s"] for r in runs["igneous"]),
                max_abs_voxel_diff_per_mip=diffs,
                igneous_files=_files(ig),
                chunkflow_files=_files(cf),
            )
        else:
            emit(bench="sharded_transfer_plus_3_mip_downsample", skipped=f"no igneous at {python}")
        writer_choice(root, array)
        files_per_mip(root)


if __name__ == "__main__":
    main()
