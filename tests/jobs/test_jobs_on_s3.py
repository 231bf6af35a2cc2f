"""Staged jobs with every path on a bucket (a local S3 + SQS server): input, output and work dir on s3://,
the queue on SQS or a file queue, the worker in its own empty directory with its own HOME and TMPDIR.
The output equals the local-disk run object for object, byte for byte (issue 22.1/22.2)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import numpy as np
import pytest

from chunkflow import Chunk, files
from chunkflow.cli import main
from chunkflow.queues import open_queue
from chunkflow.segmentation import noisy_affinities
from chunkflow.volumes import create_volume, open_volume

JOBS = {
    "agglomerate": (["agglomerate-volume", "-b", "16", "32", "32", "-m", "4", "8", "8", "-t", "0.7"], "affs",
                    "agglomerate-work"),
    "global-cc": (["global-connected-components", "-b", "16", "32", "32", "-c", "26"], "seg", "cc-work"),
}  # fmt: skip


def _inputs(job_labels) -> dict[str, Chunk]:
    labels = np.ascontiguousarray(job_labels.array[:32, :64, :64])
    affs = Chunk(noisy_affinities(labels, seed=3), layer_type="affinity_map")
    seg = Chunk((labels % 7).astype(np.uint32), layer_type="segmentation")  # touching labels: many components
    return {"affs": affs, "seg": seg}


def _objects(url: str) -> dict[str, bytes]:
    return {name: files.read_bytes(files.join(url, name)) for name in sorted(files.list_names(url))}


@pytest.mark.slow
@pytest.mark.parametrize("queue_kind", ["sqs", "file"])
@pytest.mark.parametrize("kind", sorted(JOBS))
def test_job_on_s3_equals_local_disk(kind, queue_kind, s3_bucket, moto_server, job_labels, tmp_path, monkeypatch):
    args, source, suffix = JOBS[kind]
    chunk = _inputs(job_labels)[source]
    local_in, remote_in = f"zarr://{tmp_path}/in", f"zarr://{s3_bucket}/in"
    for url in (local_in, remote_in):
        create_volume(url, like=chunk, block_size=(16, 32, 32)).write(chunk)
    assert main([args[0], "-v", local_in, "-o", f"zarr://{tmp_path}/out", *args[1:]]) == 0
    assert not (tmp_path / f"out.{suffix}").exists()  # scratch removed when the job ends

    queue = f"sqs://q-{uuid.uuid4().hex[:8]}" if queue_kind == "sqs" else f"file://{tmp_path}/q"
    work = f"{s3_bucket}/out.{suffix}"  # the default: beside the output, on the same bucket
    homes = {name: tmp_path / name for name in ("worker-cwd", "worker-home", "worker-tmp", "frontend-cwd")}
    for path in homes.values():
        path.mkdir()
    open_queue(queue)  # a worker finds the queue there (it does not create one)
    env = {**os.environ, **moto_server, "HOME": str(homes["worker-home"]), "TMPDIR": str(homes["worker-tmp"]),
           "OMP_NUM_THREADS": "1"}  # fmt: skip
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chunkflow",
            "fetch-task",
            "-q",
            queue,
            "-r",
            "-1",
            "--retry-interval",
            "0.2",
            "staged-task",
            "--job",
            work,
            "delete-task-in-queue",
        ],
        cwd=homes["worker-cwd"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    monkeypatch.chdir(homes["frontend-cwd"])
    try:
        code = main(
            [args[0], "-v", remote_in, "-o", f"zarr://{s3_bucket}/out", *args[1:], "-q", queue, "--keep-work-dir"]
        )
    finally:
        worker.terminate()
        log = worker.communicate(timeout=60)[1]
    assert code == 0, log[-2000:]
    assert "refused" not in log and "Traceback" not in log, log[-2000:]
    expected = open_volume(f"zarr://{tmp_path}/out").read().array
    assert expected.max() >= 3
    np.testing.assert_array_equal(open_volume(f"zarr://{s3_bucket}/out").read().array, expected)
    local_objects, remote_objects = _objects(str(tmp_path / "out")), _objects(f"{s3_bucket}/out")
    assert len(local_objects) >= 2 and local_objects == remote_objects  # zarr.json and the non-empty chunks
    # the work dir lived on the bucket, compressed; nothing was written where the processes ran
    names = set(files.list_names(work))
    assert "manifest.json" in names and "result.json" in names and any(n.startswith("done/relabel/") for n in names)
    labels_bytes = sum(len(files.read_bytes(files.join(work, n))) for n in names if n.endswith(".npz"))
    assert labels_bytes < int(np.prod(chunk.array.shape[-3:])) * 2  # compressed: under 2 bytes per voxel
    for path in homes.values():
        assert not any(path.rglob("*")) or path.name == "worker-home", list(path.rglob("*"))
    assert not (tmp_path / s3_bucket.removeprefix("s3://")).exists()
