"""One staged-job engine: a toy job declared in a few lines runs through the queue, the process pool and Dask."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from chunkflow import files
from chunkflow.cli import main
from chunkflow.errors import ChunkflowError, CorruptFileError
from chunkflow.geometry import BoundingBox
from chunkflow.jobs.executors import run_job
from chunkflow.jobs.staged import JOB_KINDS, Stage, StagedJob, load_job, run_task
from chunkflow.queues import open_queue
from chunkflow.volumes import create_volume, open_volume


# ---- the toy job: per-block sums, then a total (the whole declaration) ------------------------------
class SumJob(StagedJob):
    kind = "toy-sum"

    @property
    def volume_bbox(self) -> BoundingBox:
        return open_volume(self.params["input_url"]).bbox

    def stages(self) -> list[Stage]:
        return [Stage.per_block("sum", self._sum, self), Stage.single("total", self._total)]

    def _sum(self, block: BoundingBox) -> None:
        value = open_volume(self.params["input_url"]).read(block).array.sum(dtype=np.int64)
        self.save_arrays(f"sums/{block}.npz", sum=np.array(value))

    def _total(self) -> None:
        total = sum(int(self.load_arrays(f"sums/{b}.npz", "sum")["sum"]) for b in self.blocks())
        files.write_json(self.params["output_url"], {"total": total})


JOB_KINDS.register("toy-sum", "tests.jobs.test_engine:SumJob", replace=True)
# ---- end of the toy job ------------------------------------------------------------------------------


@pytest.fixture
def toy(tmp_path):
    rng = np.random.default_rng(0)
    array = rng.integers(0, 100, (20, 40, 30), dtype=np.uint16)
    url = f"zarr://{tmp_path}/in"
    from chunkflow import Chunk

    create_volume(url, like=Chunk(array), block_size=(8, 16, 16)).write(Chunk(array))
    return url, int(array.sum(dtype=np.int64))


def _job(tmp_path, url, name):
    return SumJob(
        {"input_url": url, "output_url": str(tmp_path / f"{name}.json"), "block_size": [8, 16, 16]},
        str(tmp_path / f"{name}-work"),
    )


def _total(tmp_path, name):
    return files.read_json(str(tmp_path / f"{name}.json"))["total"]


@pytest.mark.subprocess
def test_toy_job_in_process_and_pool(toy, tmp_path):
    url, expected = toy
    for name, workers in (("one", 1), ("pool", 2)):
        job = _job(tmp_path, url, name)
        seconds = run_job(job, workers=workers)
        assert list(seconds) == ["sum", "total"] and len(job.blocks()) == 3 * 3 * 2
        assert _total(tmp_path, name) == expected
        assert not (tmp_path / f"{name}-work").exists()  # scratch removed


def test_toy_job_through_a_file_queue_with_an_in_process_worker(toy, tmp_path):
    url, expected = toy
    queue = f"file://{tmp_path}/q"
    open_queue(queue)  # the worker finds it (a worker does not create queues)
    job = _job(tmp_path, url, "queue")
    errors: list[BaseException] = []

    def frontend() -> None:
        try:
            run_job(job, queue_name=queue, keep_work_dir=True)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    thread = threading.Thread(target=frontend)
    thread.start()
    try:
        code = main(
            [
                "fetch-task",
                "-q",
                queue,
                "-r",
                "30",
                "--retry-interval",
                "0.1",
                "staged-task",
                "--job",
                job.work_dir,
                "delete-task-in-queue",
            ]
        )
    finally:
        thread.join(60)
    assert not errors and code == 0
    assert _total(tmp_path, "queue") == expected
    done = sorted(files.list_names(job.work_url("done")))
    assert len(done) == 18 + 1 and "total/all" in done
    assert files.read_json(job.work_url("result.json")) == {}


@pytest.mark.slow
def test_toy_job_on_dask(toy, tmp_path):
    pytest.importorskip("distributed")
    from chunkflow.jobs.dask_executor import DaskOptions

    url, expected = toy
    job = _job(tmp_path, url, "dask")
    run_job(job, dask=DaskOptions(workers=2, dashboard_address=None))
    assert _total(tmp_path, "dask") == expected


def test_markers_manifest_and_work_files_are_checked(toy, tmp_path):
    url, expected = toy
    job = _job(tmp_path, url, "state")
    run_job(job, keep_work_dir=True)
    work = tmp_path / "state-work"
    block = job.blocks()[0]
    (work / "done" / "sum" / str(block)).write_bytes(b"forged")
    with pytest.raises(CorruptFileError, match="delete the marker"):
        job.missing("sum")
    (work / "done" / "sum" / str(block)).unlink()
    (work / "sums" / f"{block}.npz").write_bytes(b"PK\x03\x04 truncated")
    run_job(job, keep_work_dir=True)  # the removed marker: the block's sum is redone
    assert _total(tmp_path, "state") == expected
    (work / "sums" / f"{block}.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CorruptFileError, match=r"sums/.*damaged.*delete .*done/sum and rerun"):
        job.load_arrays(f"sums/{block}.npz", "sum")
    with pytest.raises(CorruptFileError, match=r"damaged or not ours \(FormatError\)"):
        import crackle

        job.load_decoded(f"sums/{block}.npz", "sum", crackle.decompress)

    # a task that fails leaves no marker; of two markers of one task only the first is created
    def boom(box: BoundingBox) -> None:
        raise RuntimeError("boom")

    (work / "done" / "sum" / str(block)).unlink()
    job._cache["stages"] = [Stage.per_block("sum", boom, job), *job._stages()[1:]]
    with pytest.raises(RuntimeError, match="boom"):
        run_task(job, "sum", block)
    assert not job.is_done("sum", block)
    assert job.mark_done("sum", block) and not job.mark_done("sum", block)
    other = SumJob({**job.params, "block_size": [4, 16, 16]}, job.work_dir)
    with pytest.raises(ChunkflowError, match="other parameters"):
        run_job(other)
    (work / "manifest.json").write_text("garbage")
    with pytest.raises(CorruptFileError, match="manifest.json is not valid JSON"):
        load_job(job.work_dir)


@pytest.mark.slow
def test_queue_with_workers_starts_them_here(tmp_path, job_labels, capsys):
    """``-q Q --workers N`` starts N local workers on the queue and stops them when the job ends."""
    import cc3d

    seg = job_labels.with_array((job_labels.array[:32, :64, :64] % 7).astype(np.uint32))
    url = f"zarr://{tmp_path}/seg"
    create_volume(url, like=seg, block_size=(16, 32, 32)).write(seg)
    code = main(
        [
            "global-connected-components",
            "-v",
            url,
            "-o",
            f"zarr://{tmp_path}/cc",
            "-b",
            "16",
            "32",
            "32",
            "-c",
            "26",
            "-q",
            f"file://{tmp_path}/q",
            "--workers",
            "2",
        ]
    )
    assert code == 0, capsys.readouterr().err
    expected = cc3d.connected_components(seg.array, connectivity=26)
    got = open_volume(f"zarr://{tmp_path}/cc").read().array
    assert got.max() == expected.max() and f"{expected.max()} connected components" in capsys.readouterr().out
    assert not (tmp_path / "cc.cc-work").exists()
