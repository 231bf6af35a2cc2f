"""Downsampling, meshes, skeletons and masks on real neuron labels; chunked vs whole results."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cloudvolume import CloudVolume

from chunkflow import BoundingBox, Chunk
from chunkflow.cli import main
from chunkflow.datasets import pinky40_labels
from chunkflow.datasets.synthetic_em import synthesize_em
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.postprocess import (
    aggregate_fragments,
    apply_mask,
    downsample,
    downsample_upload,
    mesh_chunk,
    skeletonize_chunk,
    write_manifests,
)
from chunkflow.volumes import open_volume, save_chunk


@pytest.fixture(scope="module")
def seg() -> Chunk:
    """32x128x128 of real neurons at a block-aligned global offset."""
    labels = pinky40_labels()
    box = BoundingBox.from_string("192-224_128-256_128-256")
    return labels.cutout(box).with_array(np.ascontiguousarray(labels.cutout(box).array))


@pytest.fixture(scope="module")
def image(seg: Chunk) -> Chunk:
    return seg.with_array(synthesize_em(seg.array), layer_type="image")


def test_downsample_image_is_mean_and_segmentation_is_mode(image, seg):
    (small,) = downsample(image, (1, 2, 2))
    expected = image.array.reshape(32, 64, 2, 64, 2).astype(np.float64).mean(axis=(2, 4))
    assert (
        small.shape == (32, 64, 64)
        and tuple(small.voxel_size) == (40, 8, 8)
        and tuple(small.voxel_offset) == (192, 64, 64)
    )
    assert np.abs(small.array.astype(np.float64) - expected).max() <= 1  # integer rounding
    (labels,) = downsample(seg, (1, 2, 2))
    blocks = seg.array.reshape(32, 64, 2, 64, 2).transpose(0, 1, 3, 2, 4).reshape(32, 64, 64, 4)
    # the mode pooling returns a label present in its 2x2 block, the majority one when there is one
    assert (labels.array[..., None] == blocks).any(axis=-1).all()
    majority = (blocks == blocks[..., :1]).sum(-1) >= 3
    assert (labels.array[majority] == blocks[..., 0][majority]).all()


@pytest.mark.parametrize("split", [(32, 64, 64), (16, 32, 128)])
def test_downsample_chunked_equals_whole(image, seg, split):
    for chunk in (image, seg):
        whole = downsample(chunk, (1, 2, 2), num_mips=2)
        out = [np.zeros_like(m.array) for m in whole]
        for box in chunk.bbox.split(split):
            for mip, part in enumerate(downsample(chunk.cutout(box), (1, 2, 2), num_mips=2)):
                out[mip][part.bbox.slices(whole[mip].bbox)] = part.array
        for mip, expected in enumerate(whole):
            np.testing.assert_array_equal(out[mip], expected.array)


def test_downsample_upload_writes_aligned_mips(tmp_path, image, seg):
    for name, chunk in (("img", image), ("seg", seg)):
        url = f"file://{tmp_path / name}"
        save_chunk(url, chunk, block_size=(16, 32, 32))
        downsample_upload(chunk, url, 0, 3)
        cv = CloudVolume(url, mip=3, progress=False)
        assert len(cv.info["scales"]) == 4 and list(cv.resolution) == [32, 32, 40]
        (expected,) = downsample(chunk, (1, 8, 8))
        if name == "seg":
            assert set(np.unique(cv[:, :, :])) <= set(np.unique(chunk.array))
        else:
            got = open_volume(url, mip=3).read(open_volume(url, mip=3).bbox).array
            assert np.abs(got.astype(int) - expected.array.astype(int)).max() <= 2


def test_downsample_bad_input():
    chunk = Chunk(np.zeros((4, 6, 6), np.uint8), (0, 1, 0))
    with pytest.raises(IncompatibleChunkError, match="not divisible"):
        downsample(chunk, (1, 2, 2))
    with pytest.raises(InvalidParameterError):
        downsample(chunk.with_array(chunk.array, voxel_offset=(0, 0, 0)), (0, 2, 2))


def test_meshes_across_chunks_read_with_cloudvolume(tmp_path, seg):
    url = f"file://{tmp_path / 'seg'}"
    save_chunk(url, seg)
    whole_ids = set(mesh_chunk(seg, str(tmp_path / "whole"), "obj", dust_size_threshold=1000))
    meshed = set()
    for box in seg.bbox.split((32, 64, 64)):  # 4 chunks; objects crossing them get several fragments
        meshed |= set(mesh_chunk(seg.cutout(box), url))
    assert write_manifests(url, merge=False) == len(
        meshed
    )  # lists the fragments (seam-free merging: test_mesh_seamfree)
    cv = CloudVolume(url, progress=False)
    ids, counts = np.unique(seg.array, return_counts=True)
    biggest = int(ids[np.argmax(counts)])
    manifest = json.loads((tmp_path / "seg" / "mesh" / f"{biggest}:0").read_text())
    assert len(manifest["fragments"]) > 1
    mesh = cv.mesh.get(biggest)
    mesh = mesh[biggest] if isinstance(mesh, dict) else mesh
    lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    # global nanometre coordinates (XYZ) inside the object's bounding box
    zz, yy, xx = np.nonzero(seg.array == biggest)
    start = (np.array([xx.min(), yy.min(), zz.min()]) + seg.voxel_offset.xyz) * seg.voxel_size.xyz
    stop = (np.array([xx.max(), yy.max(), zz.max()]) + 1 + np.array(seg.voxel_offset.xyz)) * seg.voxel_size.xyz
    assert (lo >= start - 40).all() and (hi <= stop + 40).all()
    assert len(mesh.faces) > 100
    assert whole_ids <= meshed and (tmp_path / "whole" / f"{biggest}.obj").read_text().startswith(("v ", "#"))


def test_mesh_formats_and_bad_input(tmp_path, seg):
    ids = mesh_chunk(seg, str(tmp_path / "ply"), "ply", skip_ids={int(seg.array[0, 0, 0])}, dust_size_threshold=5000)
    assert ids and int(seg.array[0, 0, 0]) not in ids
    assert (tmp_path / "ply" / f"{ids[0]}.ply").read_bytes().startswith(b"ply")
    with pytest.raises(IncompatibleChunkError, match="integer labels"):
        mesh_chunk(seg.with_array(seg.array.astype(np.float32)), str(tmp_path / "x"))
    with pytest.raises(InvalidParameterError, match="stl"):
        mesh_chunk(seg, str(tmp_path / "x"), "stl")


def test_skeletons_chunked_and_merged_match_whole(tmp_path, seg):
    whole_url, chunked_url = f"file://{tmp_path / 'whole'}", f"file://{tmp_path / 'chunked'}"
    save_chunk(whole_url, seg)
    save_chunk(chunked_url, seg)
    ids = skeletonize_chunk(seg, whole_url, dust_threshold=2000)
    assert ids and aggregate_fragments(whole_url) == len(ids)
    for box in seg.bbox.split((32, 64, 128)):  # two chunks along y
        skeletonize_chunk(seg.cutout(box), chunked_url, dust_threshold=0)
    fragments = list((tmp_path / "chunked" / "skeletons" / "fragments").iterdir())
    assert aggregate_fragments(chunked_url) > 0
    whole, chunked = CloudVolume(whole_url, progress=False), CloudVolume(chunked_url, progress=False)
    ids_counts = np.unique(seg.array, return_counts=True)
    biggest = int(ids_counts[0][np.argmax(ids_counts[1])])
    assert sum(f.name.startswith(f"{biggest}:") for f in fragments) == 2  # it crosses the chunk face
    a, b = whole.skeleton.get(biggest), chunked.skeleton.get(biggest)
    assert len(b.edges) > 0 and 0.7 < b.cable_length() / a.cable_length() < 1.3
    zz, yy, xx = np.nonzero(seg.array == biggest)
    lo = (np.array([xx.min(), yy.min(), zz.min()]) + seg.voxel_offset.xyz) * seg.voxel_size.xyz
    hi = (np.array([xx.max(), yy.max(), zz.max()]) + 1 + np.array(seg.voxel_offset.xyz)) * seg.voxel_size.xyz
    assert (b.vertices.min(axis=0) >= lo - 40).all() and (b.vertices.max(axis=0) <= hi + 40).all()
    # the merged skeleton spans both chunks
    middle_nm = (seg.voxel_offset.y + 64) * seg.voxel_size.y
    assert b.vertices[:, 1].min() < middle_nm < b.vertices[:, 1].max()


def test_mask_at_coarser_mip(tmp_path, image):
    mask = np.zeros((32, 16, 16), np.uint8)  # 8x coarser in y, x
    mask[:, :8, :] = 1
    save_chunk(f"file://{tmp_path / 'mask'}", Chunk(mask, (192, 16, 16), (40, 32, 32), "segmentation"))
    out = apply_mask(image, f"file://{tmp_path / 'mask'}")
    assert (out.array[:, 64:, :] == 0).all() and (out.array[:, :64, :] == image.array[:, :64, :]).all()
    inverse = apply_mask(image, f"file://{tmp_path / 'mask'}", inverse=True)
    np.testing.assert_array_equal(inverse.array + out.array, image.array)
    for box in image.bbox.split((16, 40, 56)):  # chunked (boxes not aligned to the mask's voxels) equals whole
        np.testing.assert_array_equal(
            apply_mask(image.cutout(box), f"file://{tmp_path / 'mask'}").array, out.cutout(box).array
        )
    odd = Chunk(np.ones((4, 6, 6), np.uint8), (192, 130, 131), (40, 4, 4))  # not aligned to the mask's voxels
    np.testing.assert_array_equal(apply_mask(odd, f"file://{tmp_path / 'mask'}").array, 1)


def test_operators_chain_and_bad_input(tmp_path, seg, capsys):
    h5 = tmp_path / "seg.h5"
    save_chunk(str(h5), seg)
    url = f"file://{tmp_path / 'out'}"
    code = main(
        [
            "load-h5",
            "-f",
            str(h5),
            "-o",
            "seg",
            "save-precomputed",
            "-i",
            "seg",
            "-v",
            url,
            "downsample-upload",
            "-i",
            "seg",
            "-v",
            url,
            "--stop-mip",
            "3",  # exclusive, as in 1.2.0
            "downsample",
            "-i",
            "seg",
            "-o",
            "small",
            "-f",
            "1",
            "2",
            "2",
            "mesh",
            "-i",
            "seg",
            "-o",
            url,
            "--dust-size-threshold",
            "1000",
            "mesh-manifest",
            "-v",
            url,
            "skeletonize",
            "-i",
            "seg",
            "-v",
            url,
            "--dust-threshold",
            "5000",
            "--aggregate",
            "mask",
            "-i",
            "seg",
            "-o",
            "masked",
            "-v",
            url,
            "-m",
            "2",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "mesh manifests" in capsys.readouterr().out
    assert len(CloudVolume(url, progress=False).info["scales"]) == 3
    # a chunk without a task box is meshed as 1.2.0 did: into mesh_err_<e>, gzip'ed fragments
    assert CloudVolume(url, progress=False).info["mesh"] == "mesh_err_40"
    meshes = list((tmp_path / "out" / "mesh_err_40").iterdir())
    assert any(p.name.endswith(":0") for p in meshes) and any(p.name.endswith(".gz") for p in meshes)
    assert (tmp_path / "out" / "skeletons" / "info").exists()
    assert any(p.is_file() and p.name.isdigit() for p in (tmp_path / "out" / "skeletons").iterdir())
    code = main(["load-h5", "-f", str(h5), "downsample-upload", "-v", f"file://{tmp_path / 'none'}"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "no precomputed volume" in err
    code = main(["load-h5", "-f", str(h5), "mesh", "-s", "1,x"])
    assert code == 2 and "comma-separated" in capsys.readouterr().err


def test_downsample_upload_misaligned_task_says_which_task_size_works(tmp_path, seg):
    url = f"file://{tmp_path / 'seg'}"
    save_chunk(url, seg, block_size=(16, 64, 64))
    part = seg.cutout(BoundingBox.from_string("192-224_128-192_128-192"))  # one block at mip 0, half a block at mip 1
    with pytest.raises(IncompatibleChunkError, match=r"tasks must be multiples of \(16, 128, 128\)"):
        downsample_upload(part, url, 0, 1)
    downsample_upload(seg, url, 0, 1)  # the whole volume reaches its edges at every mip
