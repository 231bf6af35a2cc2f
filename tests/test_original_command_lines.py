"""Command lines in chunkflow 1.2.0's style (its tests/command_line.sh and tutorial) run unchanged,
apart from file paths, which point into a temporary directory."""

from __future__ import annotations

import shlex

import numpy as np
import pytest
from cloudvolume import CloudVolume

from chunkflow.cli import main

LINES = [
    "create-chunk -o seg create-chunk -o gt evaluate-segmentation -s seg -g gt",
    "create-chunk normalize-intensity",
    "create-chunk save-h5 --file-name={tmp}/img.h5 connected-components --threshold 128 save-tif --file-name={tmp}/seg.tif",
    "load-h5 --file-name={tmp}/img.h5",
    "create-chunk --size 64 64 64 --dtype uint32 --pattern sin create-info --voxel-size 8 8 8 --block-size 64 64 64 "
    "--volume-path file://{tmp}/seg/",
    "create-chunk --size 64 64 64 --dtype uint32 --pattern sin save-precomputed --volume-path file://{tmp}/seg "
    "mesh --voxel-size 8 8 8 --output-format precomputed --output-path file://{tmp}/seg",
    "create-chunk --size 36 448 448 inference --input-patch-size 20 256 256 --patch-num 2 2 2 --framework identity "
    "--batch-size 3",
    "create-chunk --size 36 448 448 --pattern zero inference --input-patch-size 20 256 256 --patch-num 2 2 2 "
    "--framework identity --batch-size 3",
    "create-chunk --size 36 448 448 --dtype uint32 connected-components mask-out-objects -d 50 -s 2,3,4 "
    "skeletonize --voxel-size 1 1 1 --output-path file://{tmp}/skeleton",
    "load-precomputed -v file://{tmp}/seg -m 0 downsample-upload -v file://{tmp}/seg -f 1 2 2 -c 0 -s 1 -p 3",
    "mesh-manifest -v file://{tmp}/seg",
    "generate-tasks --roi-start 0 0 0 --chunk-size 32 32 32 --grid-size 2 2 2 load-precomputed -v file://{tmp}/seg "
    "mask -i chunk -o masked -v file://{tmp}/seg -m 1",
]


@pytest.mark.parametrize("line", LINES, ids=lambda s: s.split(" -")[0][:40])
def test_original_line_runs(line, tmp_path_factory, capsys):
    tmp = tmp_path_factory.getbasetemp() / "original"
    tmp.mkdir(exist_ok=True)
    code = main(shlex.split(line.format(tmp=tmp)))
    assert code == 0, capsys.readouterr().err


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
    from chunkflow import Chunk
    from chunkflow.datasets import pinky40_labels
    from chunkflow.segmentation import noisy_affinities
    from chunkflow.volumes import save_chunk

    labels = pinky40_labels().array[:32, :128, :128].copy()
    save_chunk(str(tmp_path / "affs.h5"), Chunk(noisy_affinities(labels, seed=0), (0, 0, 0), (40, 4, 4), "affinity_map"))
    save_chunk(str(tmp_path / "gt.tif"), Chunk(labels, (0, 0, 0), (40, 4, 4), "segmentation"))
    for line in TUTORIAL:
        assert main(shlex.split(line.format(tmp=tmp_path))) == 0, (line, capsys.readouterr().err)
    assert "adapted Rand error" in capsys.readouterr().out
    cv = CloudVolume(f"file://{tmp_path}/affs", mip=2, progress=False)
    assert cv.num_channels == 3 and np.asarray(cv[:, :, :]).any()


def test_results_of_the_original_lines(tmp_path_factory):
    tmp = tmp_path_factory.getbasetemp() / "original"
    if not (tmp / "seg" / "info").exists():
        pytest.skip("runs after the lines above")
    cv = CloudVolume(f"file://{tmp}/seg", progress=False)
    assert cv.dtype == "uint32" and list(cv.resolution) == [8, 8, 8] and len(cv.info["scales"]) == 3
    assert any(p.name.endswith(":0") for p in (tmp / "seg" / "mesh").iterdir())
    assert np.asarray(cv[:, :, :]).any()
