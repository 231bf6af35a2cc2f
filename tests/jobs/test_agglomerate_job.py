"""The staged seam-free agglomeration job against the single-chunk run (issue 18.1)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chunkflow.cli import main
from chunkflow.errors import ChunkflowError, InvalidParameterError
from chunkflow.jobs.agglomerate import AgglomerateJob, agglomerate_volume
from chunkflow.jobs.staged import ForeignTaskError, load_job, run_job, run_message
from chunkflow.queues import open_queue
from chunkflow.queues.messages import decode
from chunkflow.segmentation import evaluate_segmentation
from chunkflow.segmentation.stitch import chunked_agglomerate
from chunkflow.volumes import create_volume, open_volume

from .conftest import split_counts

MARGIN = (8, 16, 16)


@pytest.fixture
def affs_url(job_affs, tmp_path):
    url = f"zarr://{tmp_path}/affs"
    create_volume(url, like=job_affs, block_size=(16, 32, 32)).write(job_affs)
    return url


@pytest.mark.parametrize("block_size", [(24, 48, 48), (20, 40, 56)], ids=["divides", "ragged"])
def test_job_equals_in_memory_stitching_and_single_chunk_run(affs_url, tmp_path, job_affs, whole_seg, block_size):
    job, _ = agglomerate_volume(affs_url, f"zarr://{tmp_path}/seg", block_size, MARGIN, 0.7, workers=1)
    assert len(job.blocks()) >= 4
    got = open_volume(f"zarr://{tmp_path}/seg").read()
    assert got.bbox == job_affs.bbox and got.dtype == np.uint32
    in_memory = chunked_agglomerate(job_affs, block_size, MARGIN, 0.7)
    np.testing.assert_array_equal(got.array, in_memory.array)  # same steps, same ids
    assert job.count() == len(np.unique(got.array[got.array != 0])) == got.array.max()
    assert evaluate_segmentation(got, whole_seg).adapted_rand_error <= 0.005
    # the check can fail: the same blocks without the matching (ids restart per block) are far off
    cut = got.array.astype(np.uint64)
    for k, block in enumerate(job.blocks()):
        cut[block.slices(got.bbox)] += np.uint64(k * 10**6)
    assert evaluate_segmentation(got.with_array(cut), whole_seg).adapted_rand_error > 0.05


def test_task_borders_split_no_more_ground_truth_pairs_than_interior_planes(affs_url, tmp_path, job_labels):
    block = (16, 48, 48)
    job, _ = agglomerate_volume(affs_url, f"zarr://{tmp_path}/seg", block, MARGIN, 0.7, workers=1)
    seg = open_volume(f"zarr://{tmp_path}/seg").read().array
    for axis in range(3):
        counts = split_counts(seg, job_labels.array, axis)
        borders = np.arange(block[axis], seg.shape[axis], block[axis])
        interior = np.setdiff1d(np.arange(1, seg.shape[axis]), borders)
        assert len(borders) >= 1
        assert counts[borders].max() <= counts[interior].max(), (axis, counts[borders], counts[interior].max())
        # without the matching every border plane would split every object crossing it
        cut = seg.astype(np.uint64) + (np.arange(seg.shape[axis]) // block[axis]).reshape(
            [-1 if a == axis else 1 for a in range(3)]
        ).astype(np.uint64) * np.uint64(10**6)
        assert split_counts(cut, job_labels.array, axis)[borders].min() > counts[interior].max()


def test_each_task_reads_only_its_block_plus_margin(affs_url, tmp_path):
    job = AgglomerateJob(
        {
            "affs_url": affs_url,
            "output_url": f"zarr://{tmp_path}/seg",
            "block_size": [24, 48, 48],
            "margin": list(MARGIN),
        },
        str(tmp_path / "work"),
    )
    reads = []
    volume = job.affs
    original = volume.read
    volume.read = lambda box=None, **kw: reads.append(box) or original(box, **kw)
    run_job(job, workers=1)
    assert len(reads) == len(job.blocks())
    for box, block in zip(reads, job.blocks()):
        assert block.grow(MARGIN).contains(box) and box.contains(block)


def test_rerun_does_only_missing_tasks(affs_url, tmp_path):
    out = f"zarr://{tmp_path}/seg"
    job, _ = agglomerate_volume(affs_url, out, (24, 48, 48), MARGIN, 0.7, keep_work_dir=True)
    first = open_volume(out).read().array.copy()
    stamps = {p: p.stat().st_mtime_ns for p in (Path(job.work_dir) / "done" / "agglomerate").iterdir()}
    lost = job.blocks()[:2]
    for block in lost:  # a crash after agglomerate: two relabel tasks never finished
        Path(job.done_marker("relabel", block)).unlink()
        volume = open_volume(out)
        volume.write(volume.read(block).with_array(np.zeros(block.shape, np.uint32)))
    again, seconds = agglomerate_volume(affs_url, out, (24, 48, 48), MARGIN, 0.7, keep_work_dir=True)
    assert again.job_id == job.job_id
    np.testing.assert_array_equal(open_volume(out).read().array, first)
    assert {p: p.stat().st_mtime_ns for p in (Path(job.work_dir) / "done" / "agglomerate").iterdir()} == stamps
    # other parameters in the same work dir: refused, nothing run
    with pytest.raises(InvalidParameterError, match="other parameters"):
        agglomerate_volume(affs_url, out, (24, 48, 48), MARGIN, 0.5)


def test_forged_messages_are_refused_and_touch_nothing(affs_url, tmp_path, caplog):
    out = f"zarr://{tmp_path}/seg"
    job, _ = agglomerate_volume(
        affs_url, out, (24, 48, 48), MARGIN, 0.7, work_dir=str(tmp_path / "work"), keep_work_dir=True
    )
    other = f"zarr://{tmp_path}/other"
    victim = create_volume(other, like=open_volume(out).read())
    victim.write(open_volume(out).read().with_array(np.full(victim.bbox.shape, 7, np.uint32)))
    before_other, before_out = open_volume(other).read().array.copy(), open_volume(out).read().array.copy()
    block = job.blocks()[0]
    for stage in ("relabel", "agglomerate"):
        Path(job.done_marker(stage, block)).unlink()  # so that a forged task would really run
    forged = [
        json.dumps({"bbox": str(block), "job": "0123456789abcdef", "stage": "relabel"}),  # another job
        json.dumps({"bbox": str(block), "job": job.job_id, "stage": "relabel", "output_url": other}),  # places
        json.dumps({"bbox": str(block), "job": job.job_id, "stage": "relabel", "work_dir": str(tmp_path)}),
        json.dumps({"bbox": "0-8_0-8_0-8", "job": job.job_id, "stage": "relabel"}),  # not a task of the job
        json.dumps({"bbox": str(block), "job": job.job_id, "stage": "delete-everything"}),
        json.dumps({"bbox": None, "job": job.job_id, "stage": "relabel"}),
    ]
    for body in forged:
        bbox, params = decode(body)
        with pytest.raises(ForeignTaskError, match="refused"):
            run_message(job, bbox, params)
    queue = f"file://{tmp_path}/q"
    open_queue(queue, max_receive_count=1).send(forged)
    with caplog.at_level(logging.ERROR):
        main(
            [
                "fetch-task",
                "-q",
                queue,
                "-r",
                "0",
                "--retry-interval",
                "0",
                "staged-task",
                "--job",
                str(tmp_path / "work"),
                "delete-task-in-queue",
            ]
        )
    assert sum("refused" in r.getMessage() for r in caplog.records) >= len(forged)
    counts = open_queue(queue).counts()
    assert counts.waiting + counts.in_flight + counts.dead == len(forged)  # none acknowledged
    np.testing.assert_array_equal(open_volume(other).read().array, before_other)
    np.testing.assert_array_equal(open_volume(out).read().array, before_out)
    assert not Path(job.done_marker("relabel", block)).exists()


def test_bad_job_inputs(affs_url, tmp_path, job_affs, run_cli):
    with pytest.raises(InvalidParameterError, match="margin"):
        AgglomerateJob(
            {"affs_url": affs_url, "output_url": "x", "block_size": [8, 8, 8], "margin": [0, 4, 4]}, str(tmp_path)
        )
    one = f"zarr://{tmp_path}/one"
    create_volume(one, like=job_affs.with_array(job_affs.array[0]))
    r = run_cli(
        "agglomerate-volume", "-v", one, "-o", f"zarr://{tmp_path}/seg", "-b", "16", "32", "32", "-m", "4", "8", "8"
    )
    assert r.returncode == 1 and "1 channel(s), not 3" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "seg").exists()
    r = run_cli(
        "agglomerate-volume",
        "-v",
        affs_url,
        "-o",
        f"zarr://{tmp_path}/seg",
        "-b",
        "16",
        "32",
        "32",
        "-m",
        "0",
        "8",
        "8",
    )
    assert r.returncode == 2 and "must be positive" in r.stderr
    existing = f"zarr://{tmp_path}/existing"
    create_volume(
        existing,
        volume_size=job_affs.bbox.size,
        voxel_offset=job_affs.bbox.start,
        dtype="uint32",
        layer_type="segmentation",
        block_size=(16, 32, 32),
    )
    with pytest.raises(InvalidParameterError, match="do not divide the task block"):
        agglomerate_volume(affs_url, existing, (24, 48, 48), MARGIN, 0.7, work_dir=str(tmp_path / "w2"))
    assert not (tmp_path / "w2").exists()  # refused before the manifest: a corrected rerun is not "another job"
    with pytest.raises(InvalidParameterError, match="no job manifest"):
        load_job(str(tmp_path / "nowhere"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text('{"kind": "rm -rf", "params": {}}')
    with pytest.raises(ChunkflowError, match="not valid"):
        load_job(str(tmp_path / "bad"))


@pytest.mark.slow
def test_queue_with_two_worker_processes_equals_local_run(affs_url, tmp_path, run_cli):
    queue, work = f"file://{tmp_path}/q", tmp_path / "work"
    open_queue(queue)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chunkflow",
                "fetch-task",
                "-q",
                queue,
                "-r",
                "600",
                "--retry-interval",
                "0.1",
                "staged-task",
                "--job",
                str(work),
                "delete-task-in-queue",
            ],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        for _ in range(2)
    ]
    try:
        r = run_cli(
            "agglomerate-volume",
            "-v",
            affs_url,
            "-o",
            f"zarr://{tmp_path}/seg",
            "-b",
            "24",
            "48",
            "48",
            "-m",
            *map(str, MARGIN),
            "-t",
            "0.7",
            "-q",
            queue,
            "--work-dir",
            str(work),
            "--keep-work-dir",
        )
        assert r.returncode == 0, r.stderr
    finally:
        for w in workers:
            w.terminate()
        logs = [w.communicate()[1] for w in workers]
    assert all("staged" not in log or "refused" not in log for log in logs)
    local, _ = agglomerate_volume(affs_url, f"zarr://{tmp_path}/local", (24, 48, 48), MARGIN, 0.7, workers=2)
    np.testing.assert_array_equal(
        open_volume(f"zarr://{tmp_path}/seg").read().array, open_volume(f"zarr://{tmp_path}/local").read().array
    )
    assert f"{local.count()} segments written" in r.stdout
    done = {p.name for p in (work / "done" / "agglomerate").iterdir()}
    assert len(done) == 8  # every block ran (by one of the two workers)


@pytest.mark.slow
def test_dask_local_cluster_equals_local_run(affs_url, tmp_path, capsys):
    """``agglomerate-volume --dask`` runs the same stages on a Dask LocalCluster: same output."""
    from chunkflow.cli import main

    code = main(
        [
            "agglomerate-volume",
            "-v",
            affs_url,
            "-o",
            f"zarr://{tmp_path}/seg",
            "-b",
            "24",
            "48",
            "48",
            "-m",
            *map(str, MARGIN),
            "-t",
            "0.7",
            "--dask",
            "--workers",
            "2",
        ]
    )
    assert code == 0, capsys.readouterr().err
    local, _ = agglomerate_volume(affs_url, f"zarr://{tmp_path}/local", (24, 48, 48), MARGIN, 0.7)
    np.testing.assert_array_equal(
        open_volume(f"zarr://{tmp_path}/seg").read().array, open_volume(f"zarr://{tmp_path}/local").read().array
    )
    assert f"{local.count()} segments written" in capsys.readouterr().out
