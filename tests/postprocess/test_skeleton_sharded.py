"""Sharded skeletons: kimimaro fragments of several chunks merged per shard, read back by cloud-volume."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cloudvolume import CloudVolume

from chunkflow import BoundingBox, Chunk
from chunkflow.cli import main
from chunkflow.datasets import pinky40_labels
from chunkflow.postprocess import aggregate_fragments, skeletonize_chunk
from chunkflow.volumes import save_chunk


@pytest.fixture(scope="module")
def seg() -> Chunk:
    labels = pinky40_labels()
    box = BoundingBox.from_string("192-224_128-256_128-256")
    return labels.cutout(box).with_array(np.ascontiguousarray(labels.cutout(box).array))


def test_sharded_skeletons_equal_unsharded_ones(tmp_path, seg):
    plain, sharded = f"file://{tmp_path / 'plain'}", f"file://{tmp_path / 'sharded'}"
    for url in (plain, sharded):
        save_chunk(url, seg)
        for box in seg.bbox.split((32, 64, 128)):  # two chunks along y
            skeletonize_chunk(seg.cutout(box), url, dust_threshold=2000)
    count = aggregate_fragments(plain)
    assert aggregate_fragments(sharded, shard=True) == count > 3
    directory = tmp_path / "sharded" / "skeletons"
    spec = json.loads((directory / "info").read_text())["sharding"]
    shards = sorted(p.name for p in directory.iterdir() if p.suffix == ".shard")
    assert spec["@type"] == "neuroglancer_uint64_sharded_v1" and shards == ["0.shard"]
    assert not any(p.name.isdigit() for p in directory.iterdir())  # no per-object files
    a, b = CloudVolume(plain, progress=False), CloudVolume(sharded, progress=False)
    ids = [int(p.name) for p in (tmp_path / "plain" / "skeletons").iterdir() if p.name.isdigit()]
    assert len(ids) == count
    for obj in ids:
        x, y = a.skeleton.get(obj), b.skeleton.get(obj)
        np.testing.assert_array_equal(x.vertices, y.vertices)
        np.testing.assert_array_equal(x.edges, y.edges)
        assert len(y.edges) > 0


def test_aggregate_sharded_cli_one_shard_at_a_time(tmp_path, seg, capsys):
    url = f"file://{tmp_path / 'seg'}"
    save_chunk(url, seg)
    skeletonize_chunk(seg, url, dust_threshold=2000)
    assert main(["aggregate-skeleton-fragments", "-v", url, "--shard", "--shard-number", "1"]) == 0
    assert "merged the skeletons of 0 objects" in capsys.readouterr().out  # one shard only: shard 1 is empty
    assert main(["aggregate-skeleton-fragments", "-v", url, "--shard", "--shard-number", "0"]) == 0
    out = capsys.readouterr().out
    count = int(out.split("merged the skeletons of ")[1].split()[0])
    cv = CloudVolume(url, progress=False)
    ids, counts = np.unique(seg.array, return_counts=True)
    assert count > 0 and cv.skeleton.get(int(ids[np.argmax(counts)])).cable_length() > 1000
