"""The staged jobs' bounded merge (issue 23.1-23.3): stages per level, per-block tables, compact scratch."""

from __future__ import annotations

import dataclasses

import cc3d
import numpy as np
import pytest

from chunkflow import Chunk, files
from chunkflow.geometry import BoundingBox
from chunkflow.jobs.agglomerate import agglomerate_job, agglomerate_volume
from chunkflow.jobs.executors import run_job
from chunkflow.jobs.global_cc import global_cc_job
from chunkflow.volumes import create_volume, open_volume

MARGIN = (8, 16, 16)


@pytest.fixture
def affs_url(job_affs, tmp_path):
    url = f"zarr://{tmp_path}/affs"
    create_volume(url, like=job_affs, block_size=(16, 32, 32)).write(job_affs)
    return url


def test_stages_per_level_and_their_task_boxes(affs_url, tmp_path):
    job = agglomerate_job(affs_url, f"zarr://{tmp_path}/seg", (8, 48, 20), MARGIN, work_dir=str(tmp_path / "w"))
    assert tuple(job.grid_shape()) == (6, 2, 5) and job.height == 3
    assert job.stage_names == ["agglomerate", "match", "up-1", "up-2", "up-3", "down-3", "down-2", "down-1", "relabel"]
    for level in (1, 2, 3):
        boxes = job.stage(f"up-{level}").tasks()
        assert list(boxes) == list(job.stage(f"down-{level}").tasks())
        assert sum(b.volume for b in boxes) == job.bbox.volume  # a tiling of the volume by 2^L x 2^L x 2^L blocks
        assert all(job.bbox.contains(b) and job.stage(f"up-{level}").is_task(b) for b in boxes)
        assert max(b.shape[2] for b in boxes) == min(20 * 2**level, job.bbox.shape[2])
    assert len(job.stage("up-3").tasks()) == 1 and job.stage("up-3").tasks()[0] == job.bbox
    block = job.blocks()[0]
    assert not job.stage("up-1").is_task(block) and job.stage("up-1").is_task(job.node_box(1, (0, 0, 0)))
    shifted = BoundingBox(block.start + 1, block.stop + 1)
    assert not job.stage("up-1").is_task(shifted) and not job.stage("up-2").is_task(None)


def test_relabel_reads_only_its_own_table_and_scratch_is_compact(affs_url, tmp_path, job_affs):
    job = agglomerate_job(affs_url, f"zarr://{tmp_path}/seg", (16, 32, 48), MARGIN, work_dir=str(tmp_path / "w"))
    read: list[tuple[str, str]] = []
    current = [""]
    load_bytes, stage_of = job.load_bytes, job.stage

    def spy(name, stage=None):  # load_arrays reads through load_bytes
        read.append((current[0], name))
        return load_bytes(name, stage)

    def stage(name):
        found = stage_of(name)

        def run(box):
            current[0] = name
            found.run(box)
            current[0] = ""  # finish() reads the root's count after the last task: not a task

        return dataclasses.replace(found, run=run)

    job.load_bytes, job.stage = spy, stage
    run_job(job, workers=1, keep_work_dir=True)
    relabel_reads = sorted(name for stage, name in read if stage == "relabel")
    blocks = job.blocks()
    assert len(blocks) == 3 * 3 * 2
    # each relabel task: its own labels and its own table, nothing of the merge's other files
    assert relabel_reads == sorted([f"blocks/{b}.ckl" for b in blocks] + [f"tables/{b}.npz" for b in blocks])
    scratch = files.size_of_prefix(job.work_dir)
    assert scratch / job_affs.array[0].size <= 0.5  # was 4.5 bytes per voxel with the labels stored raw
    labels_bytes = sum(len(files.read_bytes(job.work_url(f"blocks/{b}.ckl"))) for b in blocks)
    assert labels_bytes < job_affs.array[0].size * 0.25
    got = open_volume(f"zarr://{tmp_path}/seg").read().array
    assert np.array_equal(np.unique(got[got != 0]), np.arange(1, job.count() + 1))


def test_relabel_tasks_read_no_other_block_in_the_run(affs_url, tmp_path):
    """The same through the engine's process pool: after down-1 nothing but per-block files are read."""
    job, _ = agglomerate_volume(
        affs_url, f"zarr://{tmp_path}/seg", (24, 48, 48), MARGIN, 0.7, work_dir=str(tmp_path / "w"), keep_work_dir=True
    )
    names = set(files.list_names(job.work_dir))
    assert not any(n.startswith(("table.npz", "pairs/")) for n in names)  # no volume-wide table exists
    assert {n for n in names if n.startswith("tables/")} == {f"tables/{b}.npz" for b in job.blocks()}


@pytest.mark.parametrize("block_size", [(8, 16, 16), (13, 20, 24)])
def test_global_cc_many_levels_equals_whole_volume_cc3d(tmp_path, job_labels, block_size):
    # sparse random voxels: thousands of components, many touching only across block edges and corners
    fg = (np.random.default_rng(0).random(job_labels.shape) < 0.07).astype(np.uint8) * 200
    image = Chunk(fg, job_labels.voxel_offset, job_labels.voxel_size, "image")
    create_volume(f"zarr://{tmp_path}/in", like=image, block_size=(16, 32, 32)).write(image)
    job = global_cc_job(f"zarr://{tmp_path}/in", f"zarr://{tmp_path}/cc", block_size, 100, 26, str(tmp_path / "w"))
    assert job.height >= 3
    run_job(job, workers=1)
    got = open_volume(f"zarr://{tmp_path}/cc").read().array.astype(np.int64)
    whole = cc3d.connected_components(fg > 100, connectivity=26).astype(np.int64)
    assert job.count() == whole.max() > 50
    pairs = np.unique(np.stack([got.ravel(), whole.ravel()], 1), axis=0)
    assert len(pairs) == whole.max() + 1 and np.array_equal(np.unique(got), np.arange(whole.max() + 1))
    assert not files.exists(job.work_dir)  # scratch removed when the job ends
