"""The global connected-components job on the staged-job framework (issues 12.6, 13, 14)."""

from __future__ import annotations

import json
import subprocess
import sys

import cc3d
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chunkflow import Chunk
from chunkflow.cli import main
from chunkflow.jobs.global_cc import GlobalCCJob, global_connected_components
from chunkflow.jobs.staged import load_job
from chunkflow.queues import open_queue
from chunkflow.segmentation import evaluate_segmentation
from chunkflow.segmentation.unionfind import merge_consecutive, merge_pairs
from chunkflow.volumes import create_volume, open_volume


@given(
    st.integers(0, 40).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(1, max(n, 1)), st.integers(1, max(n, 1))), max_size=60 if n else 0),
        )
    )
)
def test_merge_consecutive_equals_scipy_union_find(case):
    count, pairs = case
    table = merge_consecutive(count, np.array(pairs, np.int64).reshape(-1, 2))
    expected = merge_pairs(np.arange(1, count + 1), np.array(pairs, np.uint64).reshape(-1, 2))
    assert table[0] == 0 and len(table) == count + 1
    assert [int(table[i]) for i in range(1, count + 1)] == [expected[i] for i in range(1, count + 1)]


@pytest.fixture
def labels_volume(tmp_path, job_labels):
    """A segmentation input: each label is split into its connected pieces (cc3d multi-label)."""
    seg = job_labels.with_array((job_labels.array % 7).astype(np.uint32))  # touching labels of different values
    url = f"zarr://{tmp_path}/labels"
    create_volume(url, like=seg, block_size=(16, 32, 32)).write(seg)
    return url, seg


@pytest.mark.parametrize("block_size", [(16, 32, 32), (20, 40, 28)], ids=["divides", "ragged"])
@pytest.mark.parametrize("connectivity", [6, 26])
def test_segmentation_input_keeps_labels_apart_across_blocks(labels_volume, tmp_path, block_size, connectivity):
    url, seg = labels_volume
    count = global_connected_components(url, f"zarr://{tmp_path}/cc", block_size, None, connectivity)
    whole = cc3d.connected_components(seg.array, connectivity=connectivity)
    got = open_volume(f"zarr://{tmp_path}/cc").read()
    assert count == whole.max()
    assert evaluate_segmentation(got, Chunk(whole.astype(np.uint32), got.voxel_offset)).adapted_rand_error == 0
    np.testing.assert_array_equal(got.array == 0, whole == 0)


@pytest.mark.subprocess
def test_resume_and_forged_messages_through_a_queue(tmp_path, job_labels):
    prob = job_labels.with_array(
        ((job_labels.array % 3 == 0) & (job_labels.array != 0)).astype(np.float32), layer_type="probability_map"
    )
    src, out, work = f"zarr://{tmp_path}/prob", f"zarr://{tmp_path}/cc", tmp_path / "work"
    create_volume(src, like=prob, block_size=(16, 32, 32)).write(prob)
    victim = f"zarr://{tmp_path}/victim"
    create_volume(victim, like=prob).write(prob)
    queue = f"file://{tmp_path}/q"
    open_queue(queue, max_receive_count=1)
    job = GlobalCCJob(
        {"input_url": src, "output_url": out, "block_size": [24, 48, 48], "threshold": 0.5, "connectivity": 26},
        str(work),
    )
    block = job.blocks()[0]
    forged = [json.dumps({"bbox": str(block), "job": "feedfacefeedface", "stage": "label"}),
              json.dumps({"bbox": str(block), "job": job.job_id, "stage": "relabel", "output_url": victim,
                          "input_url": "http://127.0.0.1:5199/x"})]  # fmt: skip
    open_queue(queue).send(forged)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chunkflow",
            "fetch-task",
            "-q",
            queue,
            "-r",
            "300",
            "--retry-interval",
            "0.1",
            "global-cc-task",
            "--job",
            f"file://{work}",
            "delete-task-in-queue",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        count = global_connected_components(
            src, out, (24, 48, 48), 0.5, 26, work_dir=str(work), queue_name=queue, keep_work_dir=True
        )
    finally:
        worker.terminate()
        log = worker.communicate()[1]
    whole = cc3d.connected_components(prob.array > 0.5, connectivity=26)
    assert count == whole.max()
    got = open_volume(out).read()
    assert evaluate_segmentation(got, Chunk(whole.astype(np.uint32), got.voxel_offset)).adapted_rand_error == 0
    assert log.count("refused") >= 2
    assert open_queue(queue).counts().dead == 2
    np.testing.assert_array_equal(open_volume(victim).read().array, prob.array)
    # the manifest names the places; the job id is reproducible from it
    manifest = json.loads((work / "manifest.json").read_text())
    assert manifest["params"]["output_url"] == out and load_job(str(work)).job_id == manifest["job_id"] == job.job_id
    # resume: only the tasks without a done marker run again
    (work / "done" / "relabel" / str(block)).unlink()
    volume = open_volume(out)
    volume.write(volume.read(block).with_array(np.zeros(block.shape, np.uint32)))
    assert (
        main(
            [
                "global-connected-components",
                "-v",
                src,
                "-o",
                out,
                "-b",
                "24",
                "48",
                "48",
                "-t",
                "0.5",
                "-c",
                "26",
                "--work-dir",
                str(work),
                "--keep-work-dir",
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(open_volume(out).read().array, got.array)
