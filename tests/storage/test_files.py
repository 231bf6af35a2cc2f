"""chunkflow.files: one conformance suite over a plain path, file:// and s3:// (the local moto server).

gs:// goes through the same functions (cloud-files for plain objects, google-cloud-storage's
``if_generation_match`` for conditional writes); no GCS emulator here honours preconditions, so it is
exercised only through the shared code paths (URL handling, error mapping).
"""

from __future__ import annotations

import multiprocessing
import os

import pytest

from chunkflow import files
from chunkflow.errors import (
    ChunkflowError,
    CorruptFileError,
    InvalidParameterError,
    StorageError,
    VolumeNotFoundError,
)


@pytest.fixture(params=["path", "file", "s3"])
def root(request, tmp_path):
    if request.param == "path":
        return str(tmp_path / "store")
    if request.param == "file":
        return f"file://{tmp_path}/store"
    return request.getfixturevalue("s3_bucket") + "/store"


def test_round_trip_and_missing(root):
    url = files.join(root, "a", "b.bin")
    assert files.maybe_read_bytes(url) is None
    assert not files.exists(url)
    with pytest.raises(VolumeNotFoundError, match="b.bin does not exist"):
        files.read_bytes(url)
    files.write_bytes(url, b"\x00\x01payload")
    assert files.read_bytes(url) == b"\x00\x01payload"
    assert files.exists(url)
    files.write_json(files.join(root, "m.json"), {"k": [1, 2]})
    assert files.read_json(files.join(root, "m.json")) == {"k": [1, 2]}
    assert sorted(files.list_names(root)) == ["a/b.bin", "m.json"]
    files.delete(url)
    assert files.maybe_read_bytes(url) is None


def test_corrupt_json_is_one_line_naming_the_file(root):
    url = files.join(root, "manifest.json")
    files.write_bytes(url, b"{not json")
    with pytest.raises(CorruptFileError, match=r"manifest\.json is not valid JSON.*rerun") as info:
        files.read_json(url, what="job manifest", fix="rerun the frontend")
    assert "\n" not in str(info.value)


def test_create_exclusive_only_once(root):
    url = files.join(root, "done", "stage", "0-1_0-1_0-1")
    assert files.create_exclusive(url, b"first")
    assert not files.create_exclusive(url, b"second")
    assert files.read_bytes(url) == b"first"


def test_write_if_refuses_a_stale_version(root):
    url = files.join(root, "info")
    files.write_bytes(url, b"v1")
    data, version = files.read_versioned(url)
    assert data == b"v1"
    assert files.write_if(url, b"v2", version)
    assert not files.write_if(url, b"v3", version)  # stale: someone wrote v2 since
    assert files.read_bytes(url) == b"v2"
    assert not files.write_if(url, b"v4", None)  # "must not exist"
    absent = files.join(root, "absent")
    assert files.read_versioned(absent) == (None, None)


def test_update_json_merges(root):
    url = files.join(root, "info")
    files.update_json(url, lambda v: {"scales": []} if v is None else v)
    files.update_json(url, lambda v: {**v, "scales": v["scales"] + [1]})
    files.update_json(url, lambda v: {**v, "mesh": "mesh"})
    assert files.read_json(url) == {"scales": [1], "mesh": "mesh"}


def test_many_and_prefixes(root):
    base = files.join(root, "mesh")
    items = {f"{i}:0:0-1_0-1_0-1": bytes([i]) * (i + 1) for i in range(5)}
    files.write_many(base, items)
    got = files.read_many(base, [*items, "missing"])
    assert got["missing"] is None
    assert {k: got[k] for k in items} == items
    assert files.size_of_prefix(base) == sum(len(v) for v in items.values())
    assert files.delete_prefix(base) == 5
    assert list(files.list_names(base)) == []


def test_local_write_leaves_no_temporaries(tmp_path):
    files.write_bytes(str(tmp_path / "x"), b"1")
    files.create_exclusive(str(tmp_path / "y"), b"2")
    files.create_exclusive(str(tmp_path / "y"), b"3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x", "y"]


def _claim_and_add(args: tuple[str, int, dict[str, str]]) -> bool:
    url, i, env = args
    os.environ.update(env)
    from chunkflow import files as f

    f.update_json(url + "/info", lambda v: {**(v or {}), f"key{i}": i})
    return f.create_exclusive(url + "/done/claim", str(i).encode())


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["path", "s3"])
def test_eight_processes_race(kind, tmp_path, request):
    """8 processes add a key each to one JSON and claim one marker: no update lost, exactly one claim wins."""
    env = {}
    if kind == "s3":
        env = request.getfixturevalue("moto_server")
        url = request.getfixturevalue("s3_bucket") + "/vol"
    else:
        url = str(tmp_path / "vol")
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        wins = pool.map(_claim_and_add, [(url, i, dict(env)) for i in range(8)])
    assert sum(wins) == 1
    assert files.read_json(url + "/info") == {f"key{i}": i for i in range(8)}
    winner = wins.index(True)
    assert files.read_bytes(url + "/done/claim") == str(winner).encode()
    if kind == "s3":  # no lock objects on a bucket
        assert sorted(files.list_names(url)) == ["done/claim", "info"]


def test_bad_urls_and_buckets(moto_server):
    with pytest.raises(InvalidParameterError, match="redis:// is not supported"):
        files.write_bytes("redis://x/y", b"")
    with pytest.raises(InvalidParameterError, match="names no bucket"):
        files.read_bytes("s3://")
    with pytest.raises(StorageError, match="bucket 'no-such-bucket-here' does not exist") as info:
        files.write_bytes("s3://no-such-bucket-here/x", b"1")
    assert "\n" not in str(info.value)
    with pytest.raises(StorageError, match="does not exist"):
        files.create_exclusive("s3://no-such-bucket-here/x", b"1")


def test_local_path_refuses_buckets():
    with pytest.raises(InvalidParameterError, match="written as local files"):
        files.local_path("gs://lab/x.h5")
    assert str(files.local_path("file:///tmp/x")) == "/tmp/x"


def test_errors_are_chunkflow_errors():
    assert issubclass(CorruptFileError, ChunkflowError) and issubclass(StorageError, OSError)
