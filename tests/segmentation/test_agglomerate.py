from __future__ import annotations

import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.cli import main
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.segmentation import agglomerate, evaluate_segmentation, watershed
from chunkflow.segmentation.stitch import chunked_agglomerate
from chunkflow.volumes import open_volume, save_chunk


def test_agglomerate_real_neurons_equals_bare_waterz(affs, labels):
    import waterz

    seg = agglomerate(affs, threshold=0.7)
    assert seg.dtype == np.uint32 and seg.layer_type == "segmentation" and seg.bbox == labels.bbox
    assert evaluate_segmentation(seg, labels).adapted_rand_error < 0.1
    (bare,) = waterz.agglomerate(affs.array.copy(), [0.7])
    np.testing.assert_array_equal(seg.array, bare)


def test_fragments_then_agglomerate_equals_one_step(affs):
    fragments = watershed(affs)
    assert len(np.unique(fragments.array)) > len(np.unique(agglomerate(affs).array))
    two_step = agglomerate(affs, 0.7, fragments=fragments)
    one_step = agglomerate(affs, 0.7)
    np.testing.assert_array_equal(two_step.array, one_step.array)


def test_uint8_affinities_are_scaled(affs):
    as_uint8 = affs.with_array(np.round(affs.array * 255).astype(np.uint8))
    seg = agglomerate(as_uint8)
    ref = agglomerate(affs.with_array(as_uint8.array.astype(np.float32) / 255))
    np.testing.assert_array_equal(seg.array, ref.array)


@pytest.mark.parametrize(
    "array,error,message",
    [
        (np.zeros((2, 4, 4, 4), np.float32), IncompatibleChunkError, "3 channels"),
        (np.zeros((4, 4, 4), np.float32), IncompatibleChunkError, "3 channels"),
        (np.zeros((3, 4, 4, 4), np.int32), IncompatibleChunkError, "float or uint8"),
    ],
)
def test_bad_affinities(array, error, message):
    with pytest.raises(error, match=message):
        agglomerate(Chunk(array))


def test_bad_thresholds_and_scoring(affs):
    with pytest.raises(InvalidParameterError, match="low"):
        agglomerate(affs, aff_threshold_low=0.9, aff_threshold_high=0.1)
    with pytest.raises(InvalidParameterError, match="scoring function"):
        agglomerate(affs, scoring="nonsense")


def test_chunked_agglomeration_is_seam_free(affs):
    whole = agglomerate(affs, 0.7)
    stitched = chunked_agglomerate(affs, core_size=(32, 64, 64), margin=(8, 16, 16), threshold=0.7)
    assert evaluate_segmentation(stitched, whole).adapted_rand_error <= 0.01
    # the test can fail: without stitching (every core its own ids) the error is large
    unstitched = stitched.array.astype(np.uint64)
    unstitched[:32] += 10**6
    unstitched[:, :64] += 10**7
    assert evaluate_segmentation(stitched.with_array(unstitched), whole).adapted_rand_error > 0.05


def test_cli_chain_agglomerate_and_fragments(affs, labels, tmp_path):
    save_chunk(str(tmp_path / "affs.h5"), affs)
    save_chunk(str(tmp_path / "gt.h5"), labels)
    code = main(
        [
            "load-h5",
            "-f",
            f"{tmp_path}/affs.h5",
            "-o",
            "affs",
            "load-h5",
            "-f",
            f"{tmp_path}/gt.h5",
            "-o",
            "gt",
            "agglomerate",
            "-i",
            "affs",
            "-o",
            "seg",
            "--fragments-output",
            "frags",
            "-t",
            "0.7",
            "evaluate-segmentation",
            "-s",
            "seg",
            "-g",
            "gt",
            "-o",
            f"{tmp_path}/s.json",
            "save-h5",
            "-i",
            "frags",
            "-f",
            f"{tmp_path}/frags.h5",
            "save-precomputed",
            "-i",
            "seg",
            "-v",
            f"file://{tmp_path}/seg",
        ]
    )
    assert code == 0
    seg = open_volume(f"file://{tmp_path}/seg").read()
    assert seg.layer_type == "segmentation" and seg.dtype == np.uint32
    np.testing.assert_array_equal(seg.array, agglomerate(affs, 0.7).array)


def test_cli_wrong_channel_count_is_one_line(run_cli, tmp_path):
    save_chunk(str(tmp_path / "a.h5"), Chunk(np.zeros((2, 4, 8, 8), np.float32)))
    r = run_cli("load-h5", "-f", f"{tmp_path}/a.h5", "agglomerate")
    assert r.returncode == 1 and "Traceback" not in r.stderr and "3 channels" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
