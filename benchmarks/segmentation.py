"""Segmentation benchmarks on real neuron labels (pinky40); prints JSON lines.

- each operator's time as a ratio to the bare library call on the same chunk (target <= 1.2x);
- agglomerate adapted Rand error vs ground truth on a 128x256x256 crop with noisy affinities;
- evaluation on 512^3 vs scikit-image's adapted_rand_error + variation_of_information (target >= 5x);
- global connected components with 1 and 2 workers vs whole-volume cc3d;
- stitched chunked agglomeration vs the whole-volume run (target adapted Rand error <= 0.01).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit, paired_ratio  # noqa: E402

from chunkflow import Chunk  # noqa: E402
from chunkflow._quiet import quiet_stdout  # noqa: E402
from chunkflow.datasets import load_pinky40_512, pinky40_labels  # noqa: E402
from chunkflow.segmentation import (  # noqa: E402
    agglomerate,
    connected_components,
    evaluate_segmentation,
    noisy_affinities,
    watershed,
)


def bench_operators() -> None:
    import cc3d
    import waterz

    labels = pinky40_labels()
    affs = Chunk(noisy_affinities(labels.array, seed=0), labels.voxel_offset, labels.voxel_size, "affinity_map")
    seg = agglomerate(affs, 0.7)
    scores = evaluate_segmentation(seg, labels)
    emit(
        benchmark="agglomerate_quality",
        crop=list(labels.shape),
        threshold=0.7,
        adapted_rand_error=scores.adapted_rand_error,
        voi=scores.variation_of_information,
    )

    def bare_agglomerate() -> None:
        with quiet_stdout():
            list(waterz.agglomerate(affs.array, [0.7]))

    def bare_watershed() -> None:
        with quiet_stdout():
            list(waterz.agglomerate(affs.array, [0.0]))

    emit(
        benchmark="agglomerate_vs_waterz",
        target_ratio_max=1.2,
        **paired_ratio(lambda: agglomerate(affs, 0.7), bare_agglomerate, 3),
    )
    emit(
        benchmark="watershed_vs_waterz",
        target_ratio_max=1.2,
        **paired_ratio(lambda: watershed(affs), bare_watershed, 3),
    )
    prob = labels.with_array(((labels.array % 5 == 0) * 0.8 + 0.1).astype(np.float32), layer_type="probability_map")
    emit(
        benchmark="connected_components_vs_cc3d",
        target_ratio_max=1.2,
        **paired_ratio(
            lambda: connected_components(prob, 0.5, 26),
            lambda: cc3d.connected_components(prob.array > 0.5, connectivity=26),
            5,
        ),
    )


def bench_evaluation() -> None:
    from skimage.metrics import adapted_rand_error, variation_of_information

    gt = load_pinky40_512()
    rng = np.random.default_rng(0)
    seg = (gt.array % 1000).astype(np.uint32)
    seg[:, :, 256:] += 5000
    seg[rng.random(seg.shape) < 0.001] = 0
    start = time.perf_counter()
    ours = evaluate_segmentation(gt.with_array(seg), gt)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    are = adapted_rand_error(gt.array, seg, ignore_labels=(0,))
    t_are = time.perf_counter() - start
    start = time.perf_counter()
    vi = variation_of_information(gt.array, seg, ignore_labels=(0,))
    t_vi = time.perf_counter() - start
    emit(
        benchmark="evaluate_512_vs_skimage",
        ours_s=t_ours,
        skimage_are_s=t_are,
        skimage_vi_s=t_vi,
        speedup=(t_are + t_vi) / t_ours,
        target_speedup_min=5,
        max_abs_difference=max(
            abs(ours.adapted_rand_error - are[0]), abs(ours.voi_split - vi[0]), abs(ours.voi_merge - vi[1])
        ),
    )


def bench_global_cc() -> None:
    """Issue 12 target: 1 worker <= 4x whole-array cc3d, 2 workers >= 1.6x faster than 1."""
    import cc3d

    from chunkflow.jobs.global_cc import GlobalCCJob
    from chunkflow.jobs.staged import run_job
    from chunkflow.volumes import create_volume

    gt = load_pinky40_512()
    sub = gt.array[:256]
    prob = Chunk(((sub % 5 == 0) & (sub != 0)).astype(np.uint8) * 200, layer_type="image")
    tmp = tempfile.mkdtemp()
    try:
        create_volume(f"zarr://{tmp}/in", like=prob, block_size=(64, 128, 128)).write(prob)
        t_whole = min(_timed(lambda: cc3d.connected_components(prob.array > 100, connectivity=26)) for _ in range(3))
        whole = cc3d.connected_components(prob.array > 100, connectivity=26)
        record = {"benchmark": "global_cc", "volume": list(prob.shape), "block_size": [128, 256, 256],
                  "components": int(whole.max()), "whole_cc3d_s": t_whole, "target_ratio_1_worker_max": 4,
                  "target_speedup_2_vs_1_min": 1.6}  # fmt: skip
        for workers in (1, 2):
            job = GlobalCCJob(
                {
                    "input_url": f"zarr://{tmp}/in",
                    "output_url": f"zarr://{tmp}/out{workers}",
                    "block_size": [128, 256, 256],
                    "threshold": 100,
                    "connectivity": 26,
                },
                f"{tmp}/work{workers}",
            )
            start = time.perf_counter()
            stages = run_job(job, workers)
            record[f"workers_{workers}_s"] = time.perf_counter() - start
            record[f"workers_{workers}_stage_s"] = {k: round(v, 3) for k, v in stages.items()}
            record[f"workers_{workers}_mvoxel_per_s"] = prob.array.size / record[f"workers_{workers}_s"] / 1e6
            assert job.count() == whole.max()
        record["ratio_1_worker_vs_cc3d"] = record["workers_1_s"] / t_whole
        record["speedup_2_vs_1"] = record["workers_1_s"] / record["workers_2_s"]
        emit(**record)
    finally:
        shutil.rmtree(tmp)


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_stitching() -> None:
    from chunkflow.segmentation.stitch import chunked_agglomerate

    labels = pinky40_labels()
    affs = Chunk(noisy_affinities(labels.array, seed=0), labels.voxel_offset, labels.voxel_size, "affinity_map")
    whole = agglomerate(affs, 0.7)
    for core, margin in [((64, 128, 128), (8, 16, 16)), ((32, 96, 96), (8, 16, 16))]:
        start = time.perf_counter()
        stitched = chunked_agglomerate(affs, core, margin, 0.7)
        emit(
            benchmark="stitched_agglomeration",
            crop=list(labels.shape),
            core=list(core),
            margin=list(margin),
            seconds=time.perf_counter() - start,
            adapted_rand_error_vs_whole=evaluate_segmentation(stitched, whole).adapted_rand_error,
            adapted_rand_error_vs_gt=evaluate_segmentation(stitched, labels).adapted_rand_error,
            target_max=0.01,
        )


if __name__ == "__main__":
    # `python benchmarks/segmentation.py global_cc stitching` runs only those parts
    parts = {"operators": bench_operators, "stitching": bench_stitching, "global_cc": bench_global_cc,
             "evaluation": bench_evaluation}  # fmt: skip
    for name in sys.argv[1:] or list(parts):
        parts[name]()
