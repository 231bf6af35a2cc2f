"""Seam-free segmentation as a staged job over a file queue (issue 18); prints JSON lines.

Affinities made from the real pinky40 labels (noisy_affinities, seed 0) on Z x 512 x 512, cut into
tasks of 48 x 256 x 256 (8 tasks at Z = 96) with a margin of 8 x 32 x 32, run by 2 worker processes
(`fetch-task -q Q staged-task --job W delete-task-in-queue`) while `agglomerate-volume -q Q` sends
the stages. Reported: wall time per stage, the peak RSS of each worker process at 1x and 2x the
volume (it must not grow with the volume), adapted Rand error and VI against the ground truth and
against the single-chunk run (waterz on the whole affinity map, same threshold).

    python benchmarks/seamfree.py [--depth 96] [--scales 1 2] [--no-single]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import _WRAPPER, emit  # noqa: E402, I001  (first: it takes this folder off sys.path)

import numpy as np  # noqa: E402

from chunkflow import Chunk  # noqa: E402
from chunkflow.datasets import load_pinky40_512  # noqa: E402

BLOCK, MARGIN, THRESHOLD = (48, 256, 256), (8, 32, 32), 0.7


def _affinities(depth: int) -> tuple[Chunk, Chunk]:
    from chunkflow.segmentation import noisy_affinities

    gt = load_pinky40_512()
    labels = gt.with_array(np.ascontiguousarray(gt.array[:depth]))
    return labels, Chunk(noisy_affinities(labels.array, seed=0), labels.voxel_offset, labels.voxel_size, "affinity_map")


def run_staged(tmp: str, affs: Chunk, workers: int = 2) -> dict[str, object]:
    """The job through a file queue with ``workers`` worker processes; wall, stages, peaks."""
    from chunkflow.queues import open_queue
    from chunkflow.volumes import create_volume

    affs_url, seg_url, queue, work = f"zarr://{tmp}/affs", f"zarr://{tmp}/seg", f"file://{tmp}/q", f"{tmp}/work"
    create_volume(affs_url, like=affs, block_size=(48, 128, 128)).write(affs)
    open_queue(queue)
    chunkflow = [sys.executable, "-m", "chunkflow"]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WRAPPER,
                *chunkflow,
                "fetch-task",
                "-q",
                queue,
                "-r",
                "100",
                "--retry-interval",
                "0.2",
                "staged-task",
                "--job",
                work,
                "delete-task-in-queue",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    start = time.perf_counter()
    front = subprocess.run(
        [
            *chunkflow,
            "agglomerate-volume",
            "-v",
            affs_url,
            "-o",
            seg_url,
            "-b",
            *map(str, BLOCK),
            "-m",
            *map(str, MARGIN),
            "-t",
            str(THRESHOLD),
            "-q",
            queue,
            "--work-dir",
            work,
        ],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if front.returncode != 0:
        raise RuntimeError(front.stderr[-2000:])
    peaks = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        peaks.append(round(json.loads(out.strip().splitlines()[-1])["peak_mib"], 1))
    stages = {}
    summary = front.stdout.strip().splitlines()[-1]
    for part in summary.split(";")[-1].rstrip(")").split(","):
        name, seconds, _ = part.split()
        stages[name] = float(seconds)
    return {
        "wall_s": round(wall, 2),
        "stage_s": stages,
        "worker_peak_mib": peaks,
        "seg_url": seg_url,
        "tasks_per_stage": int(np.prod([-(-s // b) for s, b in zip(affs.shape[1:], BLOCK)])),
    }


def _border_vs_interior_splits(seg: np.ndarray, gt: np.ndarray) -> dict[str, list[int]]:
    """Per axis: the most ground-truth pairs split on one task-border plane vs on one interior plane."""
    out: dict[str, list[int]] = {"border_plane_splits_max_zyx": [], "interior_plane_splits_max_zyx": []}
    for axis in range(3):
        a, g = np.moveaxis(seg, axis, 0), np.moveaxis(gt, axis, 0)
        split = (g[1:] == g[:-1]) & (g[1:] != 0) & (a[1:] != a[:-1])
        counts = np.concatenate([[0], split.reshape(split.shape[0], -1).sum(axis=1)])
        borders = np.arange(BLOCK[axis], seg.shape[axis], BLOCK[axis])
        interior = np.setdiff1d(np.arange(1, seg.shape[axis]), borders)
        out["border_plane_splits_max_zyx"].append(int(counts[borders].max()) if len(borders) else 0)
        out["interior_plane_splits_max_zyx"].append(int(counts[interior].max()))
    return out


def single_chunk(affs: Chunk) -> tuple[Chunk, float]:
    """waterz on the whole affinity map in one process: the reference; and its seconds."""
    from chunkflow.segmentation import agglomerate

    start = time.perf_counter()
    seg = agglomerate(affs, THRESHOLD)
    return seg, time.perf_counter() - start


def main() -> None:
    from chunkflow.segmentation import evaluate_segmentation
    from chunkflow.volumes import open_volume

    parser = argparse.ArgumentParser()
    parser.add_argument("--depth", type=int, default=96, help="Z of the 1x volume (x 512 x 512)")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2], help="volume multiples to run")
    parser.add_argument("--no-single", action="store_true", help="skip the single-chunk reference (memory)")
    args = parser.parse_args()
    for scale in args.scales:
        labels, affs = _affinities(args.depth * scale)
        tmp = tempfile.mkdtemp()
        try:
            staged = run_staged(tmp, affs)
            seg = open_volume(str(staged.pop("seg_url"))).read()
            vs_gt = evaluate_segmentation(seg, labels)
            borders = _border_vs_interior_splits(seg.array, labels.array)
            record = {"benchmark": "seamfree_staged", **borders, "volume": list(labels.shape), "scale": scale, "block": list(BLOCK),
                      "margin": list(MARGIN), "threshold": THRESHOLD, "workers": 2, **staged,
                      "are_vs_gt": round(vs_gt.adapted_rand_error, 4), "vi_vs_gt": round(vs_gt.variation_of_information, 4)}  # fmt: skip
            if scale == 1 and not args.no_single:
                whole, seconds = single_chunk(affs)
                vs_whole = evaluate_segmentation(seg, whole)
                whole_gt = evaluate_segmentation(whole, labels)
                record.update(
                    single_chunk_s=round(seconds, 2),
                    are_vs_single=round(vs_whole.adapted_rand_error, 4),
                    vi_vs_single=round(vs_whole.variation_of_information, 4),
                    single_are_vs_gt=round(whole_gt.adapted_rand_error, 4),
                    target_are_vs_single_max=0.005,
                )
            emit(**record)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
