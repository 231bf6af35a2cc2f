"""One suite, run on every volume backend: the tests of :mod:`chunkflow.testing.volume_conformance`
(the suite a format in another package imports too) over chunkflow's own formats."""

from __future__ import annotations

import numpy as np
import pytest

from chunkflow.testing.volume_conformance import *  # noqa: F403 - the suite's test functions
from chunkflow.testing.volume_conformance import BLOCK, BUILTIN_BACKENDS, Backend, sample
from chunkflow.volumes import open_volume, save_chunk

BACKENDS = BUILTIN_BACKENDS


@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def backend(request):
    return request.param


def test_the_suite_is_the_packaged_one():
    import chunkflow.testing.volume_conformance as suite

    names = [n for n in suite.__all__ if n.startswith("test_")]
    assert len(names) == 9 and all(globals()[n] is getattr(suite, n) for n in names)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if "zarr" in b.name], ids=lambda b: b.name)
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
