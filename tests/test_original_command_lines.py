"""Command lines in chunkflow 1.2.0's style (its tests/command_line.sh and tutorial) run unchanged,
apart from file paths, which point into each case's own temporary directory.

Lines that write nothing in 1.2.0 get an observing sink (``save-h5``) appended so the result can be
checked; every case checks what the lines produced, not only their exit codes.
"""

from __future__ import annotations

import json
import shlex

import h5py
import numpy as np
import pytest
from cloudvolume import CloudVolume

from chunkflow.cli import main


def run(line: str, tmp, capsys) -> str:
    code = main(shlex.split(line.format(tmp=tmp)))
    captured = capsys.readouterr()
    assert code == 0, (line, captured.err)
    return captured.out


def test_evaluate_two_equal_chunks(tmp_path, capsys):
    out = run("create-chunk -o seg create-chunk -o gt evaluate-segmentation -s seg -g gt", tmp_path, capsys)
    assert "rand index                      1.0000" in out and "adapted Rand error              0.0000" in out


def test_normalize_intensity(tmp_path, capsys):
    run("create-chunk normalize-intensity save-h5 -f {tmp}/n.h5", tmp_path, capsys)
    run("create-chunk save-h5 -f {tmp}/raw.h5", tmp_path, capsys)
    with h5py.File(tmp_path / "n.h5") as n, h5py.File(tmp_path / "raw.h5") as raw:
        np.testing.assert_allclose(n["main"][()], raw["main"][()].astype(np.float32) / 127.5 - 1, rtol=1e-6)


def test_h5_connected_components_tif(tmp_path, capsys):
    import cc3d
    import tifffile

    run(
        "create-chunk save-h5 --file-name={tmp}/img.h5 connected-components --threshold 128 "
        "save-tif --file-name={tmp}/seg.tif",
        tmp_path,
        capsys,
    )
    run("load-h5 --file-name={tmp}/img.h5 save-h5 -f {tmp}/again.h5", tmp_path, capsys)
    with h5py.File(tmp_path / "img.h5") as img, h5py.File(tmp_path / "again.h5") as again:
        image = img["main"][()]
        np.testing.assert_array_equal(again["main"][()], image)
    seg = tifffile.imread(tmp_path / "seg.tif")
    expected = cc3d.connected_components(image > 128, connectivity=6)
    assert seg.max() == expected.max() >= 1
    # same partition (ids may differ)
    pairs = np.unique(np.stack([seg.ravel(), expected.ravel()]), axis=1)
    assert pairs.shape[1] == expected.max() + 1


def test_precomputed_mesh_pyramid_manifest_mask(tmp_path, capsys):
    """create-info, save-precomputed + mesh, downsample-upload, mesh-manifest, mask: one volume, in order."""
    lines = [
        "create-chunk --size 64 64 64 --dtype uint32 --pattern sin create-info --voxel-size 8 8 8 "
        "--block-size 64 64 64 --volume-path file://{tmp}/seg/",
        "create-chunk --size 64 64 64 --dtype uint32 --pattern sin save-precomputed --volume-path file://{tmp}/seg "
        "mesh --voxel-size 8 8 8 --output-format precomputed --output-path file://{tmp}/seg",
        "load-precomputed -v file://{tmp}/seg -m 0 downsample-upload -v file://{tmp}/seg -f 1 2 2 -c 0 -s 1 -p 3",
        "mesh-manifest -v file://{tmp}/seg",
        "generate-tasks --roi-start 0 0 0 --chunk-size 32 32 32 --grid-size 2 2 2 load-precomputed -v file://{tmp}/seg "
        "mask -i chunk -o masked -v file://{tmp}/seg -m 1 save-h5 -i masked -f {tmp}/masked/",
    ]
    for line in lines:
        run(line, tmp_path, capsys)
    cv = CloudVolume(f"file://{tmp_path}/seg", progress=False)
    assert cv.dtype == "uint32" and list(cv.resolution) == [8, 8, 8] and len(cv.info["scales"]) == 3
    full = np.asarray(cv[:, :, :])[..., 0]
    assert full.any()
    mip2 = np.asarray(CloudVolume(f"file://{tmp_path}/seg", mip=2, progress=False)[:, :, :])[..., 0]
    assert mip2.shape == (16, 16, 64)  # x y z: factor 1 2 2 in z y x is 4x in x and y
    # 1.2.0's create-info adds no mesh key (it compares the dtype with "segmentation"), so its mesh wrote
    # into mesh_err_<e>, gzip'ed
    assert cv.info["mesh"] == "mesh_err_40"
    manifests = [p for p in (tmp_path / "seg" / "mesh_err_40").iterdir() if p.name.endswith(":0")]
    assert manifests and all(json.loads(p.read_text())["fragments"] for p in manifests)
    masked = sorted((tmp_path / "masked").glob("*.h5"))
    assert len(masked) == 8
    with h5py.File(masked[0]) as f:
        assert f["main"].shape == (32, 32, 32) and f["main"][()].any()


@pytest.mark.parametrize("pattern", ["sin", "zero"])
def test_identity_inference_on_a_grid_of_patches(tmp_path, capsys, pattern):
    run(
        f"create-chunk --size 36 448 448 --pattern {pattern} save-h5 -f {{tmp}}/in.h5 inference --input-patch-size 20 256 256 "
        "--patch-num 2 2 2 --framework identity --batch-size 3 save-h5 -f {tmp}/out.h5",
        tmp_path,
        capsys,
    )
    with h5py.File(tmp_path / "in.h5") as i, h5py.File(tmp_path / "out.h5") as o:
        image, out = i["main"][()].astype(np.float64), o["main"][()].astype(np.float64)
        offset_in, offset_out = i["voxel_offset"][()], o["voxel_offset"][()]
    out = out[0] if out.ndim == 4 else out
    crop = tuple(slice(a - b, a - b + s) for a, b, s in zip(offset_out, offset_in, out.shape))
    expected = image[crop]
    if pattern == "zero":
        assert not out.any()
    else:  # identity, up to 1.2.0's scaling of integer input to [0, 1]
        scale = expected.max() / out.max()
        assert np.isclose(scale, 1.0) or np.isclose(scale, 255.0), scale
        np.testing.assert_allclose(out * scale, expected, atol=1e-3)


def test_skeletonize_selected_objects(tmp_path, capsys):
    run(
        "create-chunk --size 36 448 448 --dtype uint32 connected-components mask-out-objects -d 50 -s 2,3,4 "
        "skeletonize --voxel-size 1 1 1 --output-path file://{tmp}/skeleton",
        tmp_path,
        capsys,
    )
    info = json.loads((tmp_path / "skeleton" / "skeletons" / "info").read_text())
    assert info["@type"] == "neuroglancer_skeletons"
    # a uint32 sin chunk is one label per voxel: objects 2, 3 and 4 are single voxels, below the default
    # dust threshold (1000 voxels), so no fragment may be written, and none for any other id
    fragments = [p.name for p in (tmp_path / "skeleton").rglob("*") if p.is_file() and p.name != "info"]
    assert fragments == [], fragments


TUTORIAL = [
    "load-h5 --file-name {tmp}/affs.h5 -o affs agglomerate --threshold 0.7 --aff-threshold-low 0.001 "
    "--aff-threshold-high 0.9999 -i affs -o seg save-tif -i seg -f {tmp}/seg.tif",
    "load-tif --file-name {tmp}/gt.tif -o gt load-tif --file-name {tmp}/seg.tif -o seg evaluate-segmentation -g gt -s seg",
    "load-h5 --file-name {tmp}/affs.h5 -o affs save-precomputed -i affs --volume-path file://{tmp}/affs",
    "generate-tasks -v file://{tmp}/affs -m 0 -c 32 128 128 -q file://{tmp}/queue",
    "fetch-task -q file://{tmp}/queue -r 0 load-precomputed -v file://{tmp}/affs -m 0 --fill-missing "
    "downsample-upload -v file://{tmp}/affs --start-mip 1 --stop-mip 3 delete-task-in-queue",
]


def test_tutorial_lines_run(tmp_path, capsys):
    """The 1.2.0 tutorial's segmentation, evaluation and distributed downsampling lines."""
    import tifffile

    from chunkflow import Chunk
    from chunkflow.datasets import pinky40_labels
    from chunkflow.segmentation import noisy_affinities
    from chunkflow.volumes import save_chunk

    labels = pinky40_labels().array[:32, :128, :128].copy()
    affs = noisy_affinities(labels, seed=0)
    save_chunk(str(tmp_path / "affs.h5"), Chunk(affs, (0, 0, 0), (40, 4, 4), "affinity_map"))
    save_chunk(str(tmp_path / "gt.tif"), Chunk(labels, (0, 0, 0), (40, 4, 4), "segmentation"))
    outputs = [run(line, tmp_path, capsys) for line in TUTORIAL]
    assert "adapted Rand error" in outputs[1]
    are = float(next(line for line in outputs[1].splitlines() if line.startswith("adapted Rand error")).split()[-1])
    assert are < 0.2, outputs[1]
    assert tifffile.imread(tmp_path / "seg.tif").max() > 10
    cv = CloudVolume(f"file://{tmp_path}/affs", mip=2, progress=False)
    assert cv.num_channels == 3
    mip2 = np.asarray(cv[:, :, :])
    assert mip2.shape[:3] == (32, 32, 32)
    # the pyramid is the mean of 4x4 in-plane blocks of the stored affinities
    stored = np.asarray(CloudVolume(f"file://{tmp_path}/affs", progress=False)[:, :, :])
    expected = stored.reshape(32, 4, 32, 4, 32, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(mip2, expected, atol=1e-5)
