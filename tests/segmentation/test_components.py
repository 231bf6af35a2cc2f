from __future__ import annotations

import cc3d
import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.cli import main
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.jobs.global_cc import global_connected_components
from chunkflow.segmentation import connected_components, evaluate_segmentation, mask_out_objects, relabel
from chunkflow.volumes import create_volume, open_volume


@pytest.fixture(scope="module")
def probability(labels):
    """A probability map whose foreground has real neuron geometry and many components."""
    fg = (labels.array % 5 == 0) & (labels.array != 0)
    return labels.with_array(np.where(fg, 0.9, 0.1).astype(np.float32), layer_type="probability_map")


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_threshold_components_equal_cc3d(probability, connectivity):
    got = connected_components(probability, threshold=0.5, connectivity=connectivity)
    np.testing.assert_array_equal(
        got.array, cc3d.connected_components(probability.array > 0.5, connectivity=connectivity)
    )
    assert got.layer_type == "segmentation"


def test_segmentation_input_splits_each_label(labels):
    got = connected_components(labels)
    np.testing.assert_array_equal(got.array, cc3d.connected_components(labels.array, connectivity=6))


def test_bad_components_input(probability):
    with pytest.raises(InvalidParameterError, match="connectivity"):
        connected_components(probability, 0.5, connectivity=8)
    with pytest.raises(InvalidParameterError, match="--threshold"):
        connected_components(probability)
    with pytest.raises(IncompatibleChunkError, match="float"):
        connected_components(Chunk(np.zeros((4, 4, 4), np.float32), layer_type="segmentation"))


def test_mask_out_objects_and_relabel(labels):
    ids, counts = np.unique(labels.array, return_counts=True)
    small = ids[(counts < 1000) & (ids != 0)]
    masked = mask_out_objects(labels, dust_size_threshold=1000)
    assert not np.isin(masked.array, small).any()
    kept = ids[counts >= 1000]
    assert set(np.unique(masked.array)) <= set(kept) | {0}
    chosen = mask_out_objects(labels, selected_obj_ids=[int(kept[-1])])
    assert set(np.unique(chosen.array)) == {0, int(kept[-1])}
    renumbered = relabel(masked)
    assert renumbered.array.max() == len(np.unique(renumbered.array)) - 1
    assert evaluate_segmentation(renumbered, masked.with_array(masked.array)).adapted_rand_error == pytest.approx(
        0, abs=1e-12
    )


@pytest.mark.parametrize("connectivity", [6, 26])
@pytest.mark.parametrize("block_size", [(16, 32, 32), (21, 45, 37), (64, 128, 128)])
def test_global_cc_equals_whole_volume_cc3d(probability, tmp_path, connectivity, block_size):
    src = f"zarr://{tmp_path}/prob"
    create_volume(src, like=probability, block_size=(16, 32, 32)).write(probability)
    count = global_connected_components(
        src, f"zarr://{tmp_path}/cc", block_size, 0.5, connectivity, workers=1, work_dir=str(tmp_path / "work")
    )
    whole = cc3d.connected_components(probability.array > 0.5, connectivity=connectivity)
    got = open_volume(f"zarr://{tmp_path}/cc").read()
    assert got.bbox == probability.bbox
    assert count == whole.max() == len(np.unique(got.array)) - 1
    np.testing.assert_array_equal(got.array == 0, whole == 0)
    assert evaluate_segmentation(got, Chunk(whole.astype(np.uint32), got.voxel_offset)).adapted_rand_error == 0


@pytest.mark.subprocess
def test_global_cc_two_worker_processes_after_tensorstore_io_in_this_process(probability, tmp_path):
    """Zarr data goes through tensorstore, whose threads a forked child would inherit broken: the
    worker pool must not fork."""
    src = f"zarr://{tmp_path}/prob"
    create_volume(src, like=probability, block_size=(16, 32, 32)).write(probability)  # tensorstore now runs here
    count = global_connected_components(
        src, f"zarr://{tmp_path}/cc", (32, 64, 64), 0.5, 26, workers=2, work_dir=str(tmp_path / "work")
    )
    whole = cc3d.connected_components(probability.array > 0.5, connectivity=26)
    assert count == whole.max()
    got = open_volume(f"zarr://{tmp_path}/cc").read()
    assert evaluate_segmentation(got, Chunk(whole.astype(np.uint32), got.voxel_offset)).adapted_rand_error == 0


def test_global_cc_cli_with_two_workers(probability, tmp_path, run_cli):
    src = f"file://{tmp_path}/prob"
    create_volume(src, like=probability, block_size=(16, 32, 32)).write(probability)
    r = run_cli(
        "global-connected-components",
        "-v",
        src,
        "-o",
        f"file://{tmp_path}/cc",
        "--block-size",
        "32",
        "64",
        "64",
        "--threshold",
        "0.5",
        "--connectivity",
        "26",
        "--workers",
        "2",
    )
    assert r.returncode == 0, r.stderr
    whole = cc3d.connected_components(probability.array > 0.5, connectivity=26)
    assert f"{whole.max()} connected components" in r.stdout
    got = open_volume(f"file://{tmp_path}/cc").read()
    assert evaluate_segmentation(got, Chunk(whole.astype(np.uint32), got.voxel_offset)).adapted_rand_error == 0


def test_cli_components_chain(labels, tmp_path):
    from chunkflow.volumes import save_chunk

    save_chunk(str(tmp_path / "l.h5"), labels)
    assert (
        main(
            [
                "load-h5",
                "-f",
                f"{tmp_path}/l.h5",
                "connected-components",
                "-c",
                "26",
                "mask-out-objects",
                "-d",
                "50",
                "relabel",
                "save-h5",
                "-f",
                f"{tmp_path}/out.h5",
            ]
        )
        == 0
    )


def test_connected_components_dtype_is_120s_unless_asked():
    from chunkflow import Chunk
    from chunkflow.segmentation import connected_components

    image = np.zeros((4, 8, 8), np.uint8)
    image[:, :2, :2] = 200
    image[:, 5:, 5:] = 200
    chunk = Chunk(image, (0, 0, 0), (1, 1, 1), "image")
    labels = connected_components(chunk, threshold=100)
    assert labels.array.dtype == np.uint16 and labels.array.max() == 2  # as chunkflow 1.2.0 (cc3d's choice)
    assert connected_components(chunk, threshold=100, dtype="uint32").array.dtype == np.uint32
    # a chunk that could hold more than 2**16 labels gets uint32 (cc3d's worst-case estimate)
    checker = Chunk((np.indices((2, 256, 256)).sum(axis=0) % 2 * 200).astype(np.uint8), layer_type="image")
    assert connected_components(checker, threshold=100).array.dtype == np.uint32
