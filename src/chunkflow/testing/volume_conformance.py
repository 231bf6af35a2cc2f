"""The volume conformance suite: what every :class:`~chunkflow.volumes.base.Volume` format must do.

Round trip with placement, partial (unaligned) reads, out-of-bounds reads refused or zero-filled,
dtype refusal without leftover files, a missing volume, writes outside the bounds refused, and for
block formats concurrent aligned writes and refused unaligned ones (single-file formats: partial
writes refused). Every case works in its own pytest ``tmp_path``.

A format in another package runs it by registering the format (its ``chunkflow.volumes`` entry
point, or ``chunkflow.volumes.registry.FORMATS.register``), defining a ``backend`` fixture that
returns a :class:`Backend` (or is parametrised over several) and importing the tests::

    import pytest
    from chunkflow.testing.volume_conformance import *  # noqa: F403 - the test functions

    @pytest.fixture
    def backend():
        return Backend("npzdir", "npzdir://{tmp}/vol", "uint16", block=True)

For pytest's detailed assertion messages, call ``pytest.register_assert_rewrite("chunkflow.testing")``
in your ``conftest.py`` before the import. chunkflow's own formats are :data:`BUILTIN_BACKENDS`
(``tests/volumes/test_conformance.py``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, VolumeFormatError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.volumes import create_volume, open_volume, save_chunk
from chunkflow.volumes.base import Volume

__all__ = [
    "Backend", "BUILTIN_BACKENDS", "OFFSET", "SHAPE", "BLOCK", "sample", "write_whole", "assert_same",
    "test_round_trip", "test_partial_read_is_the_cutout", "test_out_of_bounds_read_refused_or_filled",
    "test_dtype_refused_without_leaving_files", "test_missing_volume", "test_write_outside_volume_refused",
    "test_concurrent_aligned_writes", "test_unaligned_write_refused", "test_single_file_formats_refuse_partial_writes",
]  # fmt: skip


@dataclass(frozen=True)
class Backend:
    """One format (with one set of creation options) under test.

    Attributes
    ----------
    name : str
        Test id.
    url : str
        The volume's URL; ``{tmp}`` is replaced by the test's temporary directory.
    dtype : str
        The dtype written and read back.
    channels : int
        1 for a 3D volume, more for channels-first 4D.
    layer_type : str
        Written with the chunk and, where ``stores_placement``, expected back.
    lossless : bool
        False for lossy codecs: smooth data is written and compared within a mean error of 3.
    block : bool
        A block format (created with :func:`create_volume`, block-aligned partial writes); otherwise a
        single-file format (written whole with :func:`save_chunk`).
    stores_placement : bool
        Whether the volume keeps voxel offset, voxel size and layer type.
    bad_dtype : str or None
        A dtype the format must refuse with :class:`VolumeFormatError`; ``None`` if it stores every one.
    create : tuple of (str, object) pairs
        Extra keyword arguments of :func:`create_volume` (block formats) such as ``(("encoding", "jpeg"),)``.
    """

    name: str
    url: str
    dtype: str
    channels: int = 1
    layer_type: str = "image"
    lossless: bool = True
    block: bool = False
    stores_placement: bool = True
    bad_dtype: str | None = "complex64"
    create: tuple[tuple[str, Any], ...] = ()

    def make_url(self, tmp: Path) -> str:
        return self.url.format(tmp=tmp)


BUILTIN_BACKENDS = [
    Backend("h5", "{tmp}/vol.h5", "float32", channels=3, layer_type="affinity_map"),
    Backend("tif", "{tmp}/vol.tif", "uint16"),
    Backend("npy", "{tmp}/vol.npy", "uint8", stores_placement=False, bad_dtype=None),
    Backend("png", "png://{tmp}/pngs", "uint8", stores_placement=False, bad_dtype="float32"),
    Backend("precomputed-raw", "file://{tmp}/pc", "float32", channels=3, layer_type="affinity_map", block=True, bad_dtype="bool"),
    Backend("precomputed-cseg", "file://{tmp}/seg", "uint32", layer_type="segmentation", block=True, bad_dtype="bool",
            create=(("encoding", "compressed_segmentation"),)),
    Backend("precomputed-jpeg", "file://{tmp}/jpg", "uint8", block=True, lossless=False, bad_dtype="bool",
            create=(("encoding", "jpeg"),)),
    Backend("zarr-v2", "{tmp}/v2.zarr", "uint8", block=True, bad_dtype=None, create=(("zarr_format", 2),)),
    Backend("zarr-v3", "zarr://{tmp}/v3", "uint64", layer_type="segmentation", block=True, bad_dtype=None,
            create=(("zarr_format", 3),)),
    Backend("ome-zarr", "{tmp}/ome.zarr", "float32", channels=2, block=True, bad_dtype=None, create=(("ome", True),)),
]  # fmt: skip

OFFSET = Vec3(8, 16, 32)
SHAPE = (20, 48, 40)
BLOCK = (8, 16, 16)


def sample(backend: Backend, bbox: BoundingBox | None = None, seed: int = 0) -> Chunk:
    """The test data of ``backend`` over ``bbox`` (default: ``SHAPE`` at ``OFFSET``), voxel size (40, 4, 4)."""
    bbox = bbox or BoundingBox.from_size(OFFSET, SHAPE)
    rng = np.random.default_rng(seed)
    shape = bbox.shape if backend.channels == 1 else (backend.channels, *bbox.shape)
    if backend.lossless:
        array = rng.integers(0, 250, size=shape).astype(backend.dtype)
    else:  # smooth so that a lossy codec keeps it close
        z, y, x = np.meshgrid(*(np.arange(a, b) for a, b in zip(bbox.start, bbox.stop)), indexing="ij")
        array = (100 + 50 * np.sin(y / 9.0) * np.cos(x / 11.0)).astype(backend.dtype)
        array = np.broadcast_to(array, shape).copy()
    return Chunk(array, bbox.start, (40, 4, 4), backend.layer_type)


def write_whole(backend: Backend, tmp_path: Path) -> tuple[str, Chunk]:
    """Create the volume of ``backend`` under ``tmp_path`` holding :func:`sample`; returns (url, chunk)."""
    url = backend.make_url(tmp_path)
    chunk = sample(backend)
    if backend.block:
        volume = create_volume(url, like=chunk, block_size=BLOCK, **dict(backend.create))
        volume.write(chunk)
    else:
        save_chunk(url, chunk)
    return url, chunk


def assert_same(backend: Backend, got: Chunk, want: Chunk) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype
    if backend.lossless:
        np.testing.assert_array_equal(got.array, want.array)
    else:
        assert np.abs(got.array.astype(float) - want.array).mean() < 3


def test_round_trip(backend: Backend, tmp_path: Path) -> None:
    url, chunk = write_whole(backend, tmp_path)
    volume = open_volume(url)
    assert isinstance(volume, Volume)
    assert volume.dtype == chunk.dtype and volume.num_channels == backend.channels
    got = volume.read()
    assert_same(backend, got, chunk)
    if backend.stores_placement:
        assert volume.bbox == chunk.bbox
        assert got.voxel_offset == chunk.voxel_offset and got.voxel_size == chunk.voxel_size
        assert got.layer_type == chunk.layer_type


def test_partial_read_is_the_cutout(backend: Backend, tmp_path: Path) -> None:
    url, chunk = write_whole(backend, tmp_path)
    volume = open_volume(url)
    inner = BoundingBox.from_size(volume.bbox.start + (3, 5, 7), (9, 13, 17))  # not block aligned
    got = volume.read(inner)
    assert got.bbox == inner
    want = (
        sample(backend, volume.bbox).cutout(inner)
        if backend.stores_placement
        else chunk.cutout(BoundingBox.from_size(chunk.voxel_offset + (3, 5, 7), (9, 13, 17)))
    )
    assert_same(backend, got, want)


def test_out_of_bounds_read_refused_or_filled(backend: Backend, tmp_path: Path) -> None:
    url, _ = write_whole(backend, tmp_path)
    volume = open_volume(url)
    outside = BoundingBox.from_size(volume.bbox.stop - 4, (8, 8, 8))
    with pytest.raises(IncompatibleChunkError, match="not inside the volume"):
        volume.read(outside)
    filled = volume.read(outside, fill_missing=True)
    inner = outside.intersection(volume.bbox)
    assert inner is not None
    assert filled.bbox == outside
    assert (filled.array[(..., *inner.slices(outside))] == volume.read(inner).array).all()
    np.testing.assert_array_equal(filled.array[..., 4:, :, :], 0)


def test_dtype_refused_without_leaving_files(backend: Backend, tmp_path: Path) -> None:
    if backend.bad_dtype is None:
        pytest.skip(f"{backend.name} stores every numeric dtype")
    url = backend.make_url(tmp_path)
    shape = SHAPE if backend.channels == 1 else (backend.channels, *SHAPE)
    bad = Chunk(np.zeros(shape, dtype=backend.bad_dtype), OFFSET, layer_type=backend.layer_type)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(VolumeFormatError, match=backend.bad_dtype):
        if backend.block:
            create_volume(url, like=bad, block_size=BLOCK, **dict(backend.create))
        else:
            save_chunk(url, bad)
    assert sorted(tmp_path.rglob("*")) == before


def test_missing_volume(backend: Backend, tmp_path: Path) -> None:
    with pytest.raises(VolumeNotFoundError):
        open_volume(backend.make_url(tmp_path / "nowhere"))


def test_write_outside_volume_refused(backend: Backend, tmp_path: Path) -> None:
    url, chunk = write_whole(backend, tmp_path)
    volume = open_volume(url)
    moved = chunk.with_array(chunk.array, voxel_offset=volume.bbox.start + (1000, 0, 0))
    with pytest.raises(IncompatibleChunkError):
        volume.write(moved)


def test_concurrent_aligned_writes(backend: Backend, tmp_path: Path) -> None:
    if not backend.block:
        pytest.skip(f"{backend.name} holds one chunk per file")
    url = backend.make_url(tmp_path)
    whole = sample(backend, seed=3)
    create_volume(url, like=whole, block_size=BLOCK, **dict(backend.create))
    boxes = whole.bbox.split((8, 16, 32))  # several blocks each, last ones clipped at the edge
    errors: list[BaseException] = []

    def write(box: BoundingBox) -> None:
        try:
            open_volume(url).write(whole.cutout(box))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(b,)) for b in boxes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert_same(backend, open_volume(url).read(), whole)


def test_unaligned_write_refused(backend: Backend, tmp_path: Path) -> None:
    if not backend.block:
        pytest.skip(f"{backend.name} holds one chunk per file")
    url, chunk = write_whole(backend, tmp_path)
    volume = open_volume(url)
    unaligned = BoundingBox.from_size(volume.bbox.start + (1, 0, 0), BLOCK)
    with pytest.raises(IncompatibleChunkError, match="not aligned"):
        volume.write(chunk.cutout(unaligned))
    # a box ending at the volume's upper edge is fine even off the grid
    edge = BoundingBox(volume.bbox.stop - (4, 16, 8), volume.bbox.stop).aligned_to(BLOCK, volume.bbox.start)
    inside = edge.intersection(volume.bbox)
    assert inside is not None
    volume.write(chunk.cutout(inside))


def test_single_file_formats_refuse_partial_writes(backend: Backend, tmp_path: Path) -> None:
    if backend.block:
        pytest.skip("block format")
    url, chunk = write_whole(backend, tmp_path)
    volume = open_volume(url)
    part = chunk.cutout(BoundingBox.from_size(chunk.voxel_offset, (4, 4, 4)))
    part = part.with_array(part.array, voxel_offset=volume.bbox.start)
    with pytest.raises(IncompatibleChunkError, match="holds one chunk"):
        volume.write(part)
