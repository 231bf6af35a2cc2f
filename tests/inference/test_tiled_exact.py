"""Exact tiled inference: tasks over a ragged grid equal one inference over the whole region.

Why plain tiling is not exact: each task lays its own patch grid from its chunk's corner (and
moves its last patch back flush with its chunk's end), so a voxel is predicted by patches at other
positions than in the single run, with other blending normalisers; a zero-padded ConvNet gives
different values for the same voxel in differently placed patches, and at the volume faces
``load-precomputed -e --fill-missing`` feeds it zeros the single run never sees. With
``--global-bbox`` every task uses the whole region's patches and weights, so it is exact.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from chunkflow import BoundingBox, Chunk
from chunkflow.cli import main
from chunkflow.errors import InvalidParameterError
from chunkflow.inference import Inferencer, make_engine

PATCH, OVERLAP = (4, 16, 16), (2, 8, 8)
MARGIN = tuple(p - 1 for p in PATCH)  # always enough: input patch - 1


@pytest.fixture(scope="module")
def engine(conv_model_files):
    return make_engine("pytorch", str(conv_model_files / "net.py"), str(conv_model_files / "net.pt"), 3, "cpu")


def tiles(engine, volume, task_size, global_bbox, margin=MARGIN):
    """Each task: its box grown by ``margin`` (zeros outside the volume, as --fill-missing), cropped back."""
    total = np.full((3, *volume.shape), np.nan, np.float32)
    for box in volume.bbox.split(task_size):
        grown = box.grow(margin)
        inside = grown.intersection(volume.bbox)
        array = np.zeros(grown.shape, volume.dtype)
        array[inside.slices(grown)] = volume.cutout(inside).array
        out = Inferencer(
            engine,
            PATCH,
            output_patch_overlap=OVERLAP,
            num_output_channels=3,
            output_crop_margin=margin,
            global_bbox=global_bbox,
            progress=False,
        )(Chunk(array, grown.start))
        assert out.bbox == box
        total[(slice(None), *box.slices(volume.bbox))] = out.array
    return total


def membranes(box: BoundingBox) -> Chunk:
    """A uint8 EM-like image of the real pinky40 labels in ``box``: dark where the label changes."""
    from chunkflow.datasets import pinky40_labels

    labels = pinky40_labels().cutout(box).array
    edge = np.zeros(labels.shape, bool)
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    edge[:, :, 1:] |= labels[:, :, 1:] != labels[:, :, :-1]
    return Chunk(np.where(edge, 40, 190).astype(np.uint8), box.start)


def test_ragged_tiles_with_global_bbox_equal_the_whole_run(engine):
    volume = membranes(BoundingBox.from_size((200, 130, 140), (10, 30, 34)))
    whole = Inferencer(
        engine, PATCH, output_patch_overlap=OVERLAP, num_output_channels=3, output_crop_margin=(0, 0, 0), progress=False
    )(volume)
    assert whole.bbox == volume.bbox
    exact = tiles(engine, volume, (6, 17, 19), volume.bbox)  # 2 x 2 x 2 tasks, none dividing the volume
    assert np.abs(exact - whole.array).max() <= 1e-5
    plain = tiles(engine, volume, (6, 17, 19), None)  # today's recipe: each task its own grid
    assert np.abs(plain - whole.array).max() > 1e-2  # the test can tell


def test_margin_too_small_names_the_fix(engine):
    volume = Chunk(np.zeros((12, 40, 40), np.uint8), (0, 0, 0))
    part = volume.cutout(BoundingBox.from_string("4-8_8-32_8-32"))
    with pytest.raises(InvalidParameterError, match="outside the input chunk.*larger margin"):
        Inferencer(
            engine, PATCH, output_patch_overlap=OVERLAP, num_output_channels=3, global_bbox=volume.bbox, progress=False
        )(part)


@pytest.mark.slow
def test_readme_recipe_over_precomputed(tmp_path, sample):
    """The README's "Exact tiled inference" commands, on a precomputed copy of the sample (= demo-output/image)."""
    from chunkflow.datasets import demo_model
    from chunkflow.volumes import open_volume
    from chunkflow.volumes.precomputed import PrecomputedVolume

    image = sample
    url = f"file://{tmp_path}/image"
    PrecomputedVolume.create(url, like=image, block_size=(16, 64, 64))
    open_volume(url).write(image)
    model = ["-m", str(demo_model()["onnx"]), "-s", "8", "64", "64", "-v", "2", "16", "16", "-c", "3"]
    assert (
        main(
            [
                "load-precomputed",
                "-v",
                url,
                "-s",
                "192",
                "128",
                "128",
                "-z",
                "20",
                "112",
                "112",
                "inference",
                *model,
                "--output-crop-margin",
                "0",
                "0",
                "0",
                "save-h5",
                "-f",
                f"{tmp_path}/whole-affs.h5",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "generate-tasks",
                "-s",
                "192",
                "128",
                "128",
                "-z",
                "20",
                "112",
                "112",
                "-c",
                "12",
                "64",
                "64",
                "load-precomputed",
                "-v",
                url,
                "-e",
                "7",
                "63",
                "63",
                "--fill-missing",
                "inference",
                *model,
                "--global-bbox",
                "192-212_128-240_128-240",
                "--output-crop-margin",
                "7",
                "63",
                "63",
                "save-h5",
                "-f",
                f"{tmp_path}/tiles/",
            ]
        )
        == 0
    )
    region = BoundingBox.from_string("192-212_128-240_128-240")
    with h5py.File(tmp_path / "whole-affs.h5") as f:
        whole = f["main"][()]
    total = np.full_like(whole, np.nan)
    files = sorted((tmp_path / "tiles").glob("*.h5"))
    shapes = set()
    for path in files:
        box = BoundingBox.from_string(path.stem)
        shapes.add(box.shape)
        with h5py.File(path) as f:
            total[(slice(None), *box.slices(region))] = f["main"][()]
    assert len(files) == 8 and (12, 64, 64) in shapes and (8, 48, 48) in shapes  # as the README says
    assert np.abs(total - whole).max() <= 1e-5 and whole.std() > 0.05
    # the plain recipe (own grid per task, -e = overlap, default crop) is far off: the README says up to 0.96
    assert (
        main(
            [
                "generate-tasks",
                "-s",
                "192",
                "128",
                "128",
                "-z",
                "20",
                "112",
                "112",
                "-c",
                "12",
                "64",
                "64",
                "load-precomputed",
                "-v",
                url,
                "-e",
                "2",
                "16",
                "16",
                "--fill-missing",
                "inference",
                *model,
                "save-h5",
                "-f",
                f"{tmp_path}/plain/",
            ]
        )
        == 0
    )
    for path in sorted((tmp_path / "plain").glob("*.h5")):
        box = BoundingBox.from_string(path.stem)
        with h5py.File(path) as f:
            total[(slice(None), *box.slices(region))] = f["main"][()]
    assert np.abs(total - whole).max() > 0.9
