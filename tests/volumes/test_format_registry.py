"""The volume-format registry: every URL form picks its format, one scheme stripper, and a format
defined here (a directory of one .npy file per block) registered the way an entry point registers
one passes the packaged conformance suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chunkflow.chunk import Chunk
from chunkflow.errors import InvalidParameterError, VolumeFormatError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.registry import Registry
from chunkflow.testing.volume_conformance import *  # noqa: F403 - the suite, run on the format below
from chunkflow.testing.volume_conformance import Backend, sample
from chunkflow.volumes import create_volume, open_volume, registry
from chunkflow.volumes.base import Volume, check_dtype, strip_scheme, write_atomic
from chunkflow.volumes.base_block import BlockVolume


class NpyDirVolume(BlockVolume):
    """``npydir://DIR``: ``DIR/info.json`` and one ``<bbox>.npy`` per written block."""

    dtypes = ("uint8", "uint16", "uint32", "float32")

    def __init__(self, url: str, info: dict[str, Any]) -> None:
        self.url = url
        self.root = Path(strip_scheme(url))
        self.dtype = np.dtype(info["dtype"])
        self.bbox = BoundingBox.from_size(info["voxel_offset"], info["volume_size"])
        self.voxel_size = Vec3.of(info["voxel_size"])
        self.block_size = Vec3.of(info["block_size"])
        self.num_channels = int(info["num_channels"])
        self.layer_type = info["layer_type"]

    @classmethod
    def open(cls, url: str, **_: Any) -> NpyDirVolume:
        info = Path(strip_scheme(url)) / "info.json"
        if not info.is_file():
            raise VolumeNotFoundError(f"no npydir volume at {url}")
        return cls(url, json.loads(info.read_text()))

    @classmethod
    def create(cls, url: str, like: Chunk | None = None, *, block_size: Vec3Like = 64, **_: Any) -> NpyDirVolume:
        assert like is not None
        check_dtype(like.dtype, cls.dtypes, url)
        info = {
            "dtype": like.dtype.name, "voxel_offset": list(like.voxel_offset), "volume_size": list(like.bbox.size),
            "voxel_size": list(like.voxel_size), "block_size": list(Vec3.of(block_size)),
            "num_channels": like.num_channels, "layer_type": like.layer_type,
        }  # fmt: skip
        write_atomic(Path(strip_scheme(url)) / "info.json", json.dumps(info).encode())
        return cls.open(url)

    def _blocks(self, bbox: BoundingBox) -> list[BoundingBox]:
        grid = bbox.aligned_to(self.block_size, self.bbox.start)
        return [b for b in (g.intersection(self.bbox) for g in grid.split(self.block_size)) if b is not None]

    def _read(self, bbox: BoundingBox) -> np.ndarray:
        out = np.zeros(self._array_shape(bbox), dtype=self.dtype)
        for block in self._blocks(bbox):
            path = self.root / f"{block}.npy"
            part = block.intersection(bbox)
            if path.is_file() and part is not None:
                out[(..., *part.slices(bbox))] = np.load(path)[(..., *part.slices(block))]
        return out

    def _write(self, chunk: Chunk) -> None:
        for block in self._blocks(chunk.bbox):
            data = np.ascontiguousarray(chunk.cutout(block).array)
            with (self.root / f".{block}.tmp").open("wb") as tmp:
                np.save(tmp, data)
            (self.root / f".{block}.tmp").replace(self.root / f"{block}.npy")


@pytest.fixture
def npydir_format():
    # a string target, imported on first use: exactly what an entry point's value is
    registry.FORMATS.register("npydir", f"{__name__}:NpyDirVolume")
    yield
    registry.FORMATS.unregister("npydir")


@pytest.fixture(params=["uint16", "float32"])
def backend(request, npydir_format):
    return Backend(
        f"npydir-{request.param}",
        "npydir://{tmp}/vol",
        request.param,
        block=True,
        bad_dtype="int64",
        layer_type="segmentation",
    )


URL_FORMATS = [
    ("zarr:///d/a", "zarr"), ("zarr3://rel/a", "zarr"), ("/d/a.zarr", "zarr"), ("/d/a.ome.zarr/", "zarr"),
    ("/d/a.h5", "h5"), ("file:///d/a.HDF5", "h5"), ("a.tif", "tif"), ("a.tiff", "tif"), ("a.npy", "npy"),
    ("png:///d/pngs", "png"), ("file:///d/pc", "precomputed"), ("gs://b/pc", "precomputed"),
    ("s3://b/pc", "precomputed"), ("https://h/pc", "precomputed"), ("precomputed://file:///d/pc", "precomputed"),
    ("precomputed://gs://b/pc", "precomputed"), ("matrix://b/pc", "precomputed"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "name"), URL_FORMATS)
def test_every_url_form_picks_its_format(url, name):
    assert registry.format_of(url) == name


def test_unknown_url_names_the_known_forms():
    with pytest.raises(VolumeFormatError, match=r"'/d/a\.txt'.*h5 \(\*\.h5, \*\.hdf5, \*\.hdf\).*png \(png://PATH\)"):
        registry.format_of("/d/a.txt")


@pytest.mark.parametrize(
    ("url", "path", "storage"),
    [
        ("file:///d/a.h5", "/d/a.h5", "file:///d/a.h5"),
        ("zarr:///d/z", "/d/z", "/d/z"),
        ("zarr3://file:///d/z", "/d/z", "file:///d/z"),
        ("png://rel/p", "rel/p", "rel/p"),
        ("precomputed://file:///d/pc", "/d/pc", "file:///d/pc"),
        ("precomputed://gs://b/pc", "gs://b/pc", "gs://b/pc"),
        ("gs://b/pc", "gs://b/pc", "gs://b/pc"),
        ("/d/a.npy", "/d/a.npy", "/d/a.npy"),
    ],
)
def test_one_scheme_stripper(url, path, storage):
    assert strip_scheme(url) == path
    assert strip_scheme(url, keep_storage=True) == storage


def test_precomputed_and_zarr_use_it(tmp_path):
    from chunkflow.volumes.precomputed import _normalise_url

    assert _normalise_url("precomputed://file:///d/pc") == "file:///d/pc"
    assert _normalise_url(f"{tmp_path}/pc") == f"file://{tmp_path}/pc"
    chunk = Chunk(np.arange(8 * 8 * 8, dtype=np.uint8).reshape(8, 8, 8), (0, 0, 0))
    for url in (f"zarr://file://{tmp_path}/z", f"precomputed://file://{tmp_path}/pc"):
        create_volume(url, like=chunk, block_size=8).write(chunk)
        np.testing.assert_array_equal(open_volume(url).read().array, chunk.array)
    assert (tmp_path / "z").is_dir() and (tmp_path / "pc" / "info").is_file()


def test_registered_format_is_opened_by_its_scheme(npydir_format, tmp_path):
    chunk = sample(Backend("x", "", "uint8"))
    created = create_volume(f"npydir://{tmp_path}/v", like=chunk, block_size=(4, 16, 16))
    created.write(chunk)
    assert isinstance(created, NpyDirVolume) and registry.format_of(f"npydir://{tmp_path}/v") == "npydir"
    assert len(list((tmp_path / "v").glob("*.npy"))) == 5 * 3 * 3  # one file per block
    np.testing.assert_array_equal(open_volume(f"npydir://{tmp_path}/v").read().array, chunk.array)


def test_a_name_is_registered_once(npydir_format):
    with pytest.raises(InvalidParameterError, match="'npydir' is already registered"):
        registry.FORMATS.register("npydir", "elsewhere:Volume")
    with pytest.raises(InvalidParameterError, match="'h5' is already registered"):
        registry.FORMATS.register("h5", "elsewhere:Volume")


def test_a_broken_registration_is_named(tmp_path):
    registry.FORMATS.register("broken", "no_such_module_xyz:Volume")
    registry.FORMATS.register("notavolume", f"{__name__}:URL_FORMATS")
    try:
        with pytest.raises(InvalidParameterError, match="'broken' is registered as 'no_such_module_xyz:Volume'"):
            registry.format_of("broken://x")
    finally:
        registry.FORMATS.unregister("broken")
    try:
        with pytest.raises(VolumeFormatError, match="neither a VolumeFormat nor a Volume subclass"):
            registry.format_of("notavolume://x")
    finally:
        registry.FORMATS.unregister("notavolume")
    assert registry.format_of(f"{tmp_path}/a.h5") == "h5"


def test_entry_point_group_is_read(tmp_path, monkeypatch):
    dist = tmp_path / "site" / "npydir_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: npydir-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[chunkflow.volumes]\nnpydir = {__name__}:NpyDirVolume\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    fresh = Registry("volume format", registry.ENTRY_POINT_GROUP, registry.BUILTIN_FORMATS, check=registry._as_format)
    monkeypatch.setattr(registry, "FORMATS", fresh)
    assert fresh.names()[-1] == "npydir"
    assert registry.format_of("npydir:///d/v") == "npydir"
    assert registry.volume_class("npydir:///d/v") is NpyDirVolume


def test_base_class_declares_open_and_create():
    class ReadNothing(Volume):
        def _read(self, bbox: BoundingBox) -> np.ndarray:
            raise AssertionError

        def _write(self, chunk: Chunk) -> None:
            raise AssertionError

    with pytest.raises(VolumeFormatError, match="ReadNothing cannot open volumes"):
        ReadNothing.open("x://y")
    with pytest.raises(VolumeFormatError, match="ReadNothing cannot create volumes"):
        ReadNothing.create("x://y")
