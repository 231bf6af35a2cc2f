"""Sharded precomputed images: written shard by shard, read back by tensorstore and cloud-volume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chunkflow import BoundingBox, Chunk
from chunkflow.cli import main
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.volumes import open_volume, save_chunk
from chunkflow.volumes.sharded import ShardedPrecomputedVolume, create_sharded, shard_spec

SIZE, BLOCK = (32, 256, 256), (16, 32, 32)
SHARD_BYTES = 16 * 32 * 32 * 8  # 8 blocks per shard


@pytest.fixture(scope="module")
def array() -> np.ndarray:
    rng = np.random.default_rng(12)
    return (rng.integers(0, 16, SIZE, dtype=np.uint8) * 16).astype(np.uint8)


def _tensorstore_read(path: Path, mip: int = 0) -> np.ndarray:
    import tensorstore as ts

    store = ts.open({"driver": "neuroglancer_precomputed", "kvstore": f"file://{path}/", "scale_index": mip}).result()
    return np.asarray(store[..., 0].read().result()).T  # XYZ -> ZYX


def _shard_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.rglob("*.shard"))


def test_many_tasks_write_the_array_read_by_tensorstore_and_cloudvolume(tmp_path, array):
    from cloudvolume import CloudVolume

    url = f"file://{tmp_path / 'img'}"
    volume = create_sharded(
        url, volume_size=SIZE, block_size=BLOCK, dtype="uint8", voxel_size=(40, 4, 4), shard_bytes=SHARD_BYTES
    )
    assert isinstance(volume, ShardedPrecomputedVolume)
    boxes = volume.shard_boxes()
    assert len(boxes) == 16 and all(b.size.prod() == 8 * np.prod(BLOCK) for b in boxes)
    for box in reversed(boxes):  # any order: each task owns its shard
        open_volume(url).write(Chunk(array[box.slices()], box.start))
    assert len(_shard_files(tmp_path / "img")) == 16
    np.testing.assert_array_equal(_tensorstore_read(tmp_path / "img"), array)
    np.testing.assert_array_equal(np.asarray(CloudVolume(url, progress=False)[:, :, :])[..., 0].T, array)
    box = BoundingBox.from_string("3-29_17-200_5-250")  # reads need no alignment
    np.testing.assert_array_equal(open_volume(url).read(box).array, array[box.slices()])
    info = json.loads((tmp_path / "img" / "info").read_text())
    assert info["scales"][0]["sharding"]["@type"] == "neuroglancer_uint64_sharded_v1"


def test_segmentation_shards_with_compressed_segmentation(tmp_path):
    labels = np.random.default_rng(3).integers(0, 2**40, SIZE, dtype=np.uint64)
    chunk = Chunk(labels, (0, 0, 0), layer_type="segmentation")
    url = f"file://{tmp_path / 'seg'}"
    create_sharded(url, like=chunk, block_size=BLOCK, shard_bytes=SHARD_BYTES * 8)
    info = json.loads((tmp_path / "seg" / "info").read_text())
    assert info["scales"][0]["encoding"] == "compressed_segmentation"
    for box in open_volume(url).shard_boxes():
        save_chunk(url, chunk.cutout(box))
    np.testing.assert_array_equal(_tensorstore_read(tmp_path / "seg"), labels)


def test_partial_shard_write_is_refused_and_writes_nothing(tmp_path, array):
    url = f"file://{tmp_path / 'img'}"
    volume = create_sharded(url, volume_size=SIZE, block_size=BLOCK, dtype="uint8", shard_bytes=SHARD_BYTES)
    shard = volume.shard_boxes()[0]
    half = BoundingBox(shard.start, shard.stop - (0, 0, shard.size.x // 2))  # whole blocks, half a shard
    with pytest.raises(
        IncompatibleChunkError, match=r"whole shards.*generate-tasks -v .* -c " + " ".join(map(str, shard.size))
    ):
        volume.write(Chunk(array[half.slices()], half.start))
    assert _shard_files(tmp_path / "img") == []


def test_shard_spec_that_does_not_fit_is_refused_before_writing(tmp_path, capsys):
    with pytest.raises(InvalidParameterError, match="--shard-bytes of at least 16384"):
        shard_spec(SIZE, BLOCK, "uint8", shard_bytes=1000)
    code = main(
        [
            "create-info",
            "-v",
            f"file://{tmp_path / 'x'}",
            "-z",
            *map(str, SIZE),
            "-b",
            *map(str, BLOCK),
            "--sharded",
            "--shard-bytes",
            "1000",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "--shard-bytes of at least" in err
    assert not (tmp_path / "x").exists()


def test_generate_tasks_hands_out_one_task_per_shard(tmp_path, array, capsys):
    src, dst = f"file://{tmp_path / 'src'}", f"file://{tmp_path / 'dst'}"
    save_chunk(src, Chunk(array, (0, 0, 0)), block_size=BLOCK)
    assert (
        main(
            [
                "create-info",
                "-v",
                dst,
                "-z",
                *map(str, SIZE),
                "-b",
                *map(str, BLOCK),
                "-d",
                "uint8",
                "--sharded",
                "--shard-bytes",
                str(SHARD_BYTES),
            ]
        )
        == 0
    )
    shard = open_volume(dst).shard_shape
    tasks = tmp_path / "tasks.txt"
    assert main(["generate-tasks", "-v", dst, "-f", str(tasks)]) == 0
    boxes = [BoundingBox.from_string(line) for line in tasks.read_text().split()]
    assert len(boxes) == 16 and all(b.size == shard for b in boxes)
    assert sorted(map(str, boxes)) == sorted(map(str, open_volume(dst).shard_boxes()))
    # a chain over those tasks copies the array into the sharded volume
    assert main(["generate-tasks", "-v", dst, "load-precomputed", "-v", src, "save-precomputed", "-v", dst]) == 0
    np.testing.assert_array_equal(_tensorstore_read(tmp_path / "dst"), array)
    # anything but one whole shard per task is refused, naming the task size that works
    capsys.readouterr()
    code = main(["generate-tasks", "-v", dst, "-c", "16", "32", "32", "-f", str(tmp_path / "bad.txt")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and f"-c {' '.join(map(str, shard))}" in err
    assert not (tmp_path / "bad.txt").exists()


def test_offset_volume_with_partial_edge_shards(tmp_path):
    """Shard grid from the voxel offset; shards at the upper faces are clipped, as tensorstore reads them."""
    array = np.random.default_rng(1).integers(0, 255, (40, 200, 300), dtype=np.uint8)
    chunk = Chunk(array, (16, 64, 96))
    url = f"file://{tmp_path / 'off'}"
    volume = create_sharded(url, like=chunk, block_size=BLOCK, shard_bytes=SHARD_BYTES)
    boxes = volume.shard_boxes()
    assert boxes[0].start == (16, 64, 96) and any(b.size != volume.shard_shape for b in boxes)
    for box in boxes:
        volume.write(chunk.cutout(box))
    np.testing.assert_array_equal(_tensorstore_read(tmp_path / "off"), array)
    np.testing.assert_array_equal(open_volume(url).read().array, array)
