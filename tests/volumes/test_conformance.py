"""One suite, run on every volume backend: the tests of :mod:`chunkflow.testing.volume_conformance`
(the suite a format in another package imports too) over chunkflow's own formats."""

from __future__ import annotations

import numpy as np
import pytest

from chunkflow.testing.volume_conformance import *  # noqa: F403 - the suite's test functions
from chunkflow.testing.volume_conformance import BLOCK, BUILTIN_BACKENDS, Backend, sample
from chunkflow.volumes import open_volume, save_chunk

#: the same formats on a bucket of the local S3 server (moto): every path may be s3:// (issue 22)
S3_BUCKET = "conformance"
S3_BACKENDS = [
    Backend("s3-precomputed-raw", f"s3://{S3_BUCKET}{{tmp}}/pc", "float32", channels=3, layer_type="affinity_map",
            block=True, bad_dtype="bool"),
    Backend("s3-precomputed-cseg", f"s3://{S3_BUCKET}{{tmp}}/seg", "uint32", layer_type="segmentation", block=True,
            bad_dtype="bool", create=(("encoding", "compressed_segmentation"),)),
    Backend("s3-zarr-v3", f"zarr://s3://{S3_BUCKET}{{tmp}}/v3", "uint64", layer_type="segmentation", block=True,
            bad_dtype=None, create=(("zarr_format", 3),)),
    Backend("s3-ome-zarr", f"s3://{S3_BUCKET}{{tmp}}/ome.zarr", "float32", channels=2, block=True, bad_dtype=None,
            create=(("ome", True),)),
]  # fmt: skip
BACKENDS = BUILTIN_BACKENDS + S3_BACKENDS


@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def backend(request):
    if request.param.name.startswith("s3-"):
        request.getfixturevalue("moto_server")
        import boto3

        client = boto3.client("s3")
        if S3_BUCKET not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
            client.create_bucket(Bucket=S3_BUCKET)
    return request.param


def test_the_suite_is_the_packaged_one():
    import chunkflow.testing.volume_conformance as suite

    names = [n for n in suite.__all__ if n.startswith("test_")]
    assert len(names) == 9 and all(globals()[n] is getattr(suite, n) for n in names)


@pytest.mark.parametrize("backend", [b for b in BUILTIN_BACKENDS if "zarr" in b.name], ids=lambda b: b.name)
def test_zarr_data_goes_through_tensorstore_and_zarr_python_reads_it(backend: Backend, tmp_path):
    import zarr

    url = backend.make_url(tmp_path)
    chunk = sample(backend)
    save_chunk(url, chunk, block_size=BLOCK, **dict(backend.create))
    volume = open_volume(url)
    assert volume._tensorstore() is not None  # the faster library is the one in use
    np.testing.assert_array_equal(volume.read(chunk.bbox).array, chunk.array)
    node = zarr.open(volume._path, mode="r")  # what zarr-python (any other reader) sees
    np.testing.assert_array_equal(np.asarray(node[...]), chunk.array)
