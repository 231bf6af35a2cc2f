"""One-pass pyramids: sharded and unsharded precomputed, OME-Zarr; chunked equals tinybrain on the whole."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tinybrain

from chunkflow import BoundingBox, Chunk
from chunkflow.cli import main
from chunkflow.datasets import pinky40_labels
from chunkflow.errors import IncompatibleChunkError
from chunkflow.postprocess import downsample_upload
from chunkflow.volumes import open_volume, save_chunk
from chunkflow.volumes.sharded import create_sharded

SIZE = (32, 512, 512)
BLOCK = (16, 32, 32)


@pytest.fixture(scope="module")
def image() -> Chunk:
    rng = np.random.default_rng(5)
    return Chunk(rng.integers(0, 256, SIZE, dtype=np.uint8), (0, 0, 0), (40, 4, 4), "image")


@pytest.fixture(scope="module")
def seg() -> Chunk:
    labels = pinky40_labels()
    crop = labels.array[96:128]  # 32x256x256 of real neurons, tiled to 32x512x512
    return Chunk(np.ascontiguousarray(np.tile(crop, (1, 2, 2))), (0, 0, 0), (40, 4, 4), "segmentation")


def _whole(chunk: Chunk, mips: int) -> list[np.ndarray]:
    """tinybrain on the whole array (XYZ, Fortran order), mip after mip as igneous does, back to ZYX."""
    fn = tinybrain.downsample_segmentation if chunk.is_segmentation else tinybrain.downsample_with_averaging
    out, array = [], chunk.array.T
    for _ in range(mips):
        (array,) = fn(array, (2, 2, 1), num_mips=1)
        out.append(np.asarray(array).T)
    return out


def _tensorstore(path: Path, mip: int) -> np.ndarray:
    import tensorstore as ts

    store = ts.open({"driver": "neuroglancer_precomputed", "kvstore": f"file://{path}/", "scale_index": mip}).result()
    return np.asarray(store[..., 0].read().result()).T


@pytest.mark.parametrize("kind", ["image", "seg"])
def test_sharded_pyramid_by_many_tasks_equals_tinybrain_on_the_whole(tmp_path, kind, image, seg):
    chunk = image if kind == "image" else seg
    url = f"file://{tmp_path / kind}"
    volume = create_sharded(
        url, like=chunk, block_size=BLOCK, shard_bytes=np.prod(BLOCK) * chunk.dtype.itemsize * 128, max_mip=3
    )
    tasks = volume.shard_boxes()
    assert len(tasks) == 4
    for box in tasks:  # each task: one shard of mip 0 plus its whole pyramid, in one pass
        part = chunk.cutout(box)
        save_chunk(url, part)
        downsample_upload(part, url, 0, 3)
    expected = _whole(chunk, 3)
    for mip in (1, 2, 3):
        assert type(open_volume(url, mip=mip)).__name__ == "ShardedPrecomputedVolume"
        np.testing.assert_array_equal(_tensorstore(tmp_path / kind, mip), expected[mip - 1])
    np.testing.assert_array_equal(_tensorstore(tmp_path / kind, 0), chunk.array)


def test_unsharded_pyramid_by_many_tasks_equals_tinybrain(tmp_path, image):
    url = f"file://{tmp_path / 'img'}"
    save_chunk(url, image, block_size=BLOCK)
    for box in image.bbox.split((32, 256, 256)):  # block x 8 in y and x: aligned at mip 3
        downsample_upload(image.cutout(box), url, 0, 3)
    for mip, expected in enumerate(_whole(image, 3), start=1):
        np.testing.assert_array_equal(open_volume(url, mip=mip).read().array, expected)
    info = json.loads((tmp_path / "img" / "info").read_text())
    assert "sharding" not in info["scales"][3]


def test_misaligned_pyramid_task_writes_nothing(tmp_path, image):
    url = f"file://{tmp_path / 'img'}"
    save_chunk(url, image, block_size=BLOCK)
    before = (tmp_path / "img" / "info").read_text()
    part = image.cutout(BoundingBox.from_string("0-32_0-128_0-128"))  # half a block at mip 3
    with pytest.raises(IncompatibleChunkError, match=r"tasks must be multiples of \(16, 256, 256\)"):
        downsample_upload(part, url, 0, 3)
    assert (tmp_path / "img" / "info").read_text() == before  # no scales added
    assert sorted(p.name for p in (tmp_path / "img").iterdir() if p.is_dir()) == ["4_4_40"]  # mip 0 only


def test_sharded_pyramid_deeper_than_a_shard_is_refused_with_the_fix(tmp_path, image):
    url = f"file://{tmp_path / 'img'}"
    volume = create_sharded(url, like=image, block_size=BLOCK, shard_bytes=np.prod(BLOCK) * 16)  # 16 blocks a shard
    box = volume.shard_boxes()[0]
    with pytest.raises(IncompatibleChunkError, match=r"tasks must be multiples of .* \(whole shards at every mip\)"):
        downsample_upload(image.cutout(box), url, 0, 4)
    assert len(json.loads((tmp_path / "img" / "info").read_text())["scales"]) == 1


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_ome_zarr_pyramid_metadata_and_levels(tmp_path, image, zarr_format):
    import zarr

    path = tmp_path / "img.zarr"
    assert (
        main(
            [
                "create-chunk",
                "-s",
                "16",
                "128",
                "128",
                "-e",
                "40",
                "4",
                "4",
                "-t",
                "0",
                "0",
                "0",
                "save-zarr",
                "-s",
                str(path),
                "--ome",
                "--zarr-format",
                str(zarr_format),
                "-c",
                "16",
                "32",
                "32",
                "downsample-upload",
                "-v",
                str(path),
                "-p",
                "3",
            ]
        )
        == 0
    )
    group = zarr.open_group(str(path), mode="r")
    if zarr_format == 3:
        ome = group.attrs["ome"]
        assert ome["version"] == "0.5" and "multiscales" not in group.attrs
        multiscales = ome["multiscales"]
    else:
        multiscales = group.attrs["multiscales"]
        assert multiscales[0]["version"] == "0.4"
    datasets = multiscales[0]["datasets"]
    assert [d["path"] for d in datasets] == ["0", "1", "2"]
    scales = [d["coordinateTransformations"][0]["scale"] for d in datasets]
    assert scales == [[40.0, 4.0, 4.0], [40.0, 8.0, 8.0], [40.0, 16.0, 16.0]]
    level0 = np.asarray(group["0"][...])
    expected = _whole(Chunk(level0, (0, 0, 0)), 2)
    for level in (1, 2):
        np.testing.assert_array_equal(np.asarray(group[str(level)][...]), expected[level - 1])
    assert open_volume(str(path), mip=2).voxel_size == (40, 16, 16)


def test_plan_prints_task_shape_count_and_memory(tmp_path, capsys):
    url = f"file://{tmp_path / 'img'}"
    assert (
        main(
            [
                "create-info",
                "-v",
                url,
                "-z",
                "64",
                "512",
                "512",
                "-b",
                "64",
                "64",
                "64",
                "--max-mip",
                "2",
                "--sharded",
                "--shard-bytes",
                str(64**3 * 16),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["plan", "-v", url, "-p", "3", "--json"]) == 0
    transfer, pyramid = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    shard = list(open_volume(url).shard_shape)
    assert transfer["task_shape"] == shard and transfer["task_count"] == len(open_volume(url).shard_boxes())
    assert transfer["bytes_per_task"] >= np.prod(shard)
    assert pyramid["task_shape"] == shard and pyramid["mips"] == [1, 2]
    assert main(["plan", "-v", url, "-p", "3"]) == 0
    out = capsys.readouterr().out
    assert f"generate-tasks -v {url} -m 0 -c {' '.join(map(str, shard))}" in out and "per task" in out


def test_plan_of_an_unsharded_volume_keeps_every_mip_block_aligned(tmp_path, capsys):
    url = f"file://{tmp_path / 'img'}"
    assert main(["create-info", "-v", url, "-z", "64", "1024", "1024", "-b", "64", "64", "64"]) == 0
    capsys.readouterr()
    assert main(["plan", "-v", url, "-p", "4", "--json", "--memory-target", str(2**24)]) == 0
    transfer, pyramid = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert transfer["files_per_mip"] == {"0": 256} and np.prod(transfer["task_shape"]) <= 2**24
    assert pyramid["mips"] == [1, 3] and pyramid["task_shape"][1] % 512 == 0 and pyramid["task_shape"][2] % 512 == 0
    assert pyramid["task_count"] == (1024 // pyramid["task_shape"][1]) * (1024 // pyramid["task_shape"][2])
    assert pyramid["files_per_mip"] == {"1": 64, "2": 16, "3": 4}
    assert not (tmp_path / "img" / "8_8_1").exists()  # planning writes nothing
    assert len(json.loads((tmp_path / "img" / "info").read_text())["scales"]) == 1


def test_small_shards_pyramid_tasks_of_several_whole_shards_equal_tinybrain(tmp_path, image):
    """Shards too small for a one-shard pyramid: plan names a task of several whole shards, generate-tasks
    accepts it (it splits no shard) and refuses one that would, and those tasks write mip 0 and mips 1-3."""
    from chunkflow.volumes.plan import plan_volume

    url = f"file://{tmp_path / 'img'}"
    volume = create_sharded(url, like=image, block_size=BLOCK, shard_bytes=np.prod(BLOCK) * 16, max_mip=3)
    pyramid = plan_volume(url, 0, 3)[1]
    shape = pyramid.task_shape
    assert pyramid.mips == (1, 3) and shape != volume.shard_shape and "shards of mip 0" in pyramid.note
    tasks = tmp_path / "tasks.txt"
    assert main(["generate-tasks", "-v", url, "-c", *map(str, shape), "-f", str(tasks)]) == 0
    boxes = [BoundingBox.from_string(line) for line in tasks.read_text().split()]
    assert len(boxes) == pyramid.task_count > 1
    for box in boxes:
        part = image.cutout(box)
        save_chunk(url, part)
        downsample_upload(part, url, 0, 3)
    np.testing.assert_array_equal(_tensorstore(tmp_path / "img", 0), image.array)
    for mip, expected in enumerate(_whole(image, 3), start=1):
        np.testing.assert_array_equal(_tensorstore(tmp_path / "img", mip), expected)
    half = (volume.shard_shape[0], volume.shard_shape[1], volume.shard_shape[2] // 2)
    assert main(["generate-tasks", "-v", url, "-c", *map(str, half), "-f", str(tmp_path / "bad.txt")]) == 1
    assert not (tmp_path / "bad.txt").exists()


def _pyramid_task(path: str, box: str) -> None:
    # the task's block comes from level 0, not through the spawn pipe: a megabyte of arguments blocks
    # Process.start() for good if the child dies before reading them
    block = open_volume(path).read(BoundingBox.from_string(box))
    downsample_upload(Chunk(block.array, block.voxel_offset, (40, 4, 4), "image"), path, 0, 2)


@pytest.mark.subprocess
def test_ome_zarr_levels_added_by_concurrent_tasks_keep_both_tasks_data(tmp_path):
    """Two processes add the same missing levels at once: the first creates them, the other reuses them."""
    import multiprocessing

    from chunkflow.volumes.zarr import ZarrVolume

    array = np.random.default_rng(2).integers(0, 256, (16, 256, 256), dtype=np.uint8)
    chunk = Chunk(array, (0, 0, 0), (40, 4, 4), "image")
    path = str(tmp_path / "img.zarr")
    ZarrVolume.create(path, like=chunk, block_size=(16, 32, 32), ome=True).write(chunk)
    context = multiprocessing.get_context("spawn")  # tensorstore forbids fork
    workers = [context.Process(target=_pyramid_task, args=(path, str(box))) for box in chunk.bbox.split((16, 128, 256))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    for mip, expected in enumerate(_whole(chunk, 2), start=1):
        np.testing.assert_array_equal(open_volume(path, mip=mip).read().array, expected)
