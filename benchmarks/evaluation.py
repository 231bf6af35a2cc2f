"""Evaluation benchmarks (issue 16); prints JSON lines.

- ERL on the 512^3 pinky40 labels given their skeletons (target <= 5 s): the perfect segmentation
  and one with injected splits and merges; skeletons are made once with kimimaro and cached as
  precomputed skeletons (``--cache DIR``, default ``/tmp/chunkflow-bench-skeletons-<stride>``),
  reading them back is timed apart; making them at full resolution took 55 min wall (11 CPU-min)
  here, ``--skeleton-stride 4`` skeletonizes every 4th voxel in Y and X instead (5 min);
- a 6-threshold sweep (one waterz run, each scored) vs one agglomeration at the highest
  threshold on the 128x256x256 crop with noisy affinities (target <= 1.5x), paired and alternated;
- normalize-contrast of a 128x256x256 uint8 image, own histograms vs levels read from disk.

Usage: ``.venv/bin/python benchmarks/evaluation.py [--only erl|sweep|contrast] [--cache DIR] [--skeleton-stride S]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402

from chunkflow import Chunk  # noqa: E402
from chunkflow.datasets import load_pinky40_512, pinky40_labels  # noqa: E402


def _cached_skeletons(labels: Chunk, cache: Path, stride: int = 1):  # type: ignore[no-untyped-def]
    import kimimaro
    from cloudvolume import Skeleton

    from chunkflow.postprocess.skeleton import skeleton_dir
    from chunkflow.segmentation.erl import Skeletons
    from chunkflow.segmentation.skeletons import load_skeletons

    if not (cache / "skeletons" / "info").exists():
        # made once: quality does not matter for timing ERL, so kimimaro's fast settings
        # --skeleton-stride S skeletonizes labels[:, ::S, ::S] with S times the voxel size in Y and X: every
        # vertex still lands on a full-resolution voxel of its own object (kimimaro on the whole 512^3 takes
        # tens of CPU minutes, too long for this shared machine)
        start = time.perf_counter()
        sampled = labels.array[:, ::stride, ::stride]
        z, y, x = labels.voxel_size
        made = kimimaro.skeletonize(
            np.asfortranarray(sampled.T),
            teasar_params={"scale": 4, "const": 500},
            anisotropy=(x * stride, y * stride, z),
            dust_threshold=5000 // stride**2,
            fix_branching=False,
            progress=False,
            parallel=2,
        )
        skeletons = Skeletons.from_parts(
            [(int(k), s.vertices[:, ::-1].astype(np.float64), s.edges) for k, s in sorted(made.items())]
        )
        emit(
            benchmark="erl_skeletonize_512",
            seconds=time.perf_counter() - start,
            skeletons=len(skeletons.ids),
            stride=stride,
        )
        directory = skeleton_dir(str(cache))
        for i, obj in enumerate(skeletons.ids):
            index = np.flatnonzero(skeletons.owner == i)
            edges = skeletons.edges[np.isin(skeletons.edges[:, 0], index)] - index[0]
            xyz = skeletons.vertices[index][:, ::-1].astype(np.float32)
            (directory / str(obj)).write_bytes(Skeleton(xyz, edges, segid=int(obj)).to_precomputed())
    start = time.perf_counter()
    skeletons = load_skeletons(f"file://{cache}")
    emit(
        benchmark="erl_load_skeletons_512",
        seconds=time.perf_counter() - start,
        skeletons=len(skeletons.ids),
        nodes=len(skeletons.vertices),
    )
    return skeletons


def bench_erl(cache: Path, stride: int) -> None:
    from chunkflow.segmentation.erl import expected_run_length

    labels = load_pinky40_512()
    skeletons = _cached_skeletons(labels, cache, stride)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        perfect = expected_run_length(skeletons, labels)
        times.append(time.perf_counter() - start)
    lengths = skeletons.path_lengths()
    emit(
        benchmark="erl_512_perfect",
        seconds=statistics.median(times),
        target_s=5.0,
        erl_nm=perfect.erl,
        gt_erl_nm=perfect.gt_erl,
        length_weighted_mean_nm=float((lengths**2).sum() / lengths.sum()),
        splits=perfect.splits,
        merges=perfect.merges,
    )
    seg = labels.array.copy()
    order = np.argsort(lengths)[::-1]
    section = np.rint(skeletons.vertices[:, 0] / labels.voxel_size[0]).astype(int)
    spans = [i for i in order if section[skeletons.owner == i].min() < 256 <= section[skeletons.owner == i].max()]
    new_id = int(seg.max()) + 1
    for i in spans[:10]:  # split 10 long objects whose skeleton crosses section 256 there; merge 10 others in pairs
        seg[256:][seg[256:] == skeletons.ids[i]] = new_id
        new_id += 1
    others = [i for i in order if i not in set(spans[:10])][:10]
    for a, b in zip(others[0::2], others[1::2]):
        seg[seg == skeletons.ids[b]] = skeletons.ids[a]
    broken = labels.with_array(seg)
    start = time.perf_counter()
    result = expected_run_length(skeletons, broken)
    emit(
        benchmark="erl_512_injected",
        seconds=time.perf_counter() - start,
        erl_nm=result.erl,
        normalized_erl=result.normalized_erl,
        splits=result.splits,
        merges=result.merges,
        injected_splits=10,
        injected_merges=5,
    )


def bench_sweep() -> None:
    from chunkflow.segmentation import agglomerate, noisy_affinities
    from chunkflow.segmentation.sweep import sweep_thresholds

    labels = pinky40_labels()
    affs = Chunk(noisy_affinities(labels.array, seed=0), labels.voxel_offset, labels.voxel_size, "affinity_map")
    thresholds = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    agglomerate(affs, 0.8)  # warm up (waterz compiles nothing for mean, but the first call pays page faults)
    one, swept, ratios = [], [], []
    result = None
    for _ in range(3):
        a = time.perf_counter()
        agglomerate(affs, max(thresholds))
        b = time.perf_counter()
        result, _best = sweep_thresholds(affs, labels, thresholds)
        c = time.perf_counter()
        one.append(b - a)
        swept.append(c - b)
        ratios.append((c - b) / (b - a))
    assert result is not None
    emit(
        benchmark="sweep_6_thresholds",
        crop=list(labels.shape),
        one_agglomeration_s=statistics.median(one),
        sweep_s=statistics.median(swept),
        ratio=statistics.median(ratios),
        target_ratio=1.5,
        best_threshold=result.best_threshold,
        are=[round(r["adapted_rand_error"], 4) for r in result.rows],
    )


def bench_contrast() -> None:
    from chunkflow.datasets import sample_image
    from chunkflow.preprocess import aggregate_levels, normalize_contrast, read_levels, write_levels_fragment

    image = sample_image()
    start = time.perf_counter()
    normalize_contrast(image)
    own = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as levels:
        for box in image.bbox.split((32, 128, 128)):
            write_levels_fragment(image.cutout(box), levels)
        aggregate_levels(levels)
        start = time.perf_counter()
        z0 = image.voxel_offset[0]
        normalize_contrast(image, levels=read_levels(levels, range(z0, z0 + image.shape[0])))
        from_levels = time.perf_counter() - start
    emit(benchmark="normalize_contrast", shape=list(image.shape), own_histograms_s=own, levels_from_disk_s=from_levels)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["erl", "sweep", "contrast"])
    parser.add_argument("--cache", default=None, help="skeleton cache [/tmp/chunkflow-bench-skeletons-<stride>]")
    parser.add_argument("--skeleton-stride", type=int, default=1, help="skeletonize every S-th voxel in Y and X")
    args = parser.parse_args()
    if args.only in (None, "erl"):
        cache = args.cache or f"/tmp/chunkflow-bench-skeletons-{args.skeleton_stride}"
        bench_erl(Path(cache), args.skeleton_stride)
    if args.only in (None, "sweep"):
        bench_sweep()
    if args.only in (None, "contrast"):
        bench_contrast()


if __name__ == "__main__":
    main()
