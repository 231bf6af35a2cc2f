"""Scale benchmark of the staged segmentation (issue 23.6); prints JSON lines.

    .venv/bin/python benchmarks/scale.py                 # everything (about 10 minutes on 2 cores)
    .venv/bin/python benchmarks/scale.py merge           # the merge simulation only
    .venv/bin/python benchmarks/scale.py volume cc       # the staged jobs on 1x, 2x, 4x / global CC vs cc3d

- ``volume``: ``agglomerate-volume`` and ``global-connected-components`` on 1x, 2x and 4x a real-looking
  volume (pinky40 labels -> noisy affinities, tiled by mirroring): wall time per voxel, peak RSS of the
  tasks of each stage (measured in the worker processes around each task), scratch bytes per voxel (the
  work dir's largest size, sampled after every stage), and the output's partition against the in-memory
  single-process answer.
- ``merge``: the up/down merge on synthetic block tables (random local counts and face contacts, no
  voxels) of 10^3, 10^4 and 10^5 blocks: per stage family the largest task's numpy peak (tracemalloc)
  and time, against today's single-task merge of every block's pairs.
- ``cc``: global connected components on one machine: the stages against one cc3d call on the whole
  array, and the whole command against a script that reads the volume, runs cc3d and writes the result.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402

# ---- merge simulation ---------------------------------------------------------------------------


def synthetic_tables(shape: tuple[int, int, int], seed: int = 0, fragments: int = 300, per_face: int = 40) -> Any:
    """Random local counts (about ``fragments`` per block) and ``per_face`` contacts on each +face."""
    from chunkflow.segmentation.hierarchy import linear_index

    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*map(np.arange, shape), indexing="ij"), -1).reshape(-1, 3)
    counts_array = rng.poisson(fragments, len(grid)) + 1
    counts = {tuple(map(int, g)): int(c) for g, c in zip(grid, counts_array)}
    owner_ends: list[list[np.ndarray]] = [[] for _ in grid]
    owner_ids: list[list[np.ndarray]] = [[] for _ in grid]
    for axis in range(3):
        for k, g in enumerate(grid):
            if g[axis] + 1 >= shape[axis]:
                continue
            h = g.copy()
            h[axis] += 1
            j = linear_index(shape, tuple(h))
            n = rng.poisson(per_face)
            owner_ends[k].append(np.tile(np.array([k, j], np.int64), (n, 1)))
            owner_ids[k].append(
                np.stack([rng.integers(1, counts_array[k] + 1, n), rng.integers(1, counts_array[j] + 1, n)], 1)
            )
    contacts = {
        tuple(map(int, g)): (
            np.concatenate(owner_ends[k] or [np.zeros((0, 2), np.int64)]),
            np.concatenate(owner_ids[k] or [np.zeros((0, 2), np.int64)]).astype(np.int64),
        )
        for k, g in enumerate(grid)
    }
    return counts, contacts


def _measure(fn: Any, *args: Any, trace: bool = True) -> tuple[Any, int, float]:
    """Result, peak bytes allocated while it ran (tracemalloc sees numpy's buffers), seconds."""
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    out = fn(*args)
    seconds = time.perf_counter() - start
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return out, peak, seconds


def _nbytes(*arrays: np.ndarray) -> int:
    return int(sum(a.nbytes for a in arrays))


def simulate_merge(shape: tuple[int, int, int]) -> dict[str, Any]:
    """Run every up/down task of the bounded merge in turn; the largest task's peak and time per family."""
    from chunkflow.segmentation.hierarchy import (
        Summary,
        children,
        down_node,
        global_table,
        leaf_endpoints,
        levels,
        linear_index,
        merge_node,
        neighbour_contacts,
        nodes,
    )
    from chunkflow.segmentation.stitch import merge_blocks

    counts, contacts = synthetic_tables(shape)
    record: dict[str, Any] = {"benchmark": "merge_simulation", "blocks": int(np.prod(shape)), "grid": list(shape),
                              "fragments": int(sum(counts.values())),
                              "contacts": int(sum(len(e) for e, _ in contacts.values()))}  # fmt: skip
    worst: dict[str, tuple[int, float]] = {}

    def note(family: str, peak: int, seconds: float) -> None:
        old = worst.get(family, (0, 0.0))
        worst[family] = (max(old[0], peak), max(old[1], seconds))

    height = levels(shape)
    sample = max(1, int(np.prod(shape)) // 300)  # leaf and level-1 tasks are alike: measure about 300
    merged: dict[Any, Any] = {}
    for k, g in enumerate(nodes(shape, 0)):  # inside the up-1 tasks: a block's contact ends and its open ids
        lists = neighbour_contacts(shape, contacts, g)
        inputs = _nbytes(*[a for _, e, i in lists for a in (e, i)])
        trace = k % sample == 0
        (keys, ids), peak, seconds = _measure(leaf_endpoints, linear_index(shape, g), lists, trace=trace)
        merged[(0, g)], peak2, seconds2 = _measure(merge_node, [Summary(counts[g], 0, keys, ids)], trace=trace)
        note("leaf", inputs + max(peak, _nbytes(keys, ids) + peak2), seconds + seconds2)
    for level in range(1, height + 1):
        for k, g in enumerate(nodes(shape, level)):
            kids = [merged[(level - 1, c)].summary for c in children(shape, level, g)]
            inputs = _nbytes(*[a for s in kids for a in (s.keys, s.ids)])
            merged[(level, g)], peak, seconds = _measure(merge_node, kids, trace=level > 1 or k % sample == 0)
            note("up", inputs + peak, seconds)
            note(f"up-{level}", inputs + peak, seconds)
    down = {(height, (0, 0, 0)): (0, np.zeros(1, np.int64))}
    for level in range(height, 0, -1):
        for k, g in enumerate(nodes(shape, level)):
            offset, open_global = down.pop((level, g))
            node = merged[(level, g)]
            inputs = _nbytes(open_global, *node.child_maps)
            trace = level > 1 or k % sample == 0
            values, peak, seconds = _measure(down_node, node, offset, open_global, trace=trace)
            if level == 1:
                for c, (o, v) in zip(children(shape, level, g), values):
                    _, peak2, seconds2 = _measure(global_table, merged[(0, c)].child_maps[0], o, v, trace=trace)
                    peak, seconds = max(peak, peak2), seconds + seconds2
            else:
                for c, value in zip(children(shape, level, g), values):
                    down[(level - 1, c)] = value
            note("down", inputs + peak, seconds)
    # today's single merge task over every block's pairs, for comparison
    order = list(nodes(shape, 0))
    pairs = []  # merge_blocks' block positions are the linear indices (nodes() runs z, y, x)
    for g in order:
        ends, ids = contacts[g]
        for b in np.unique(ends[:, 1]).tolist():
            pairs.append((linear_index(shape, g), b, ids[ends[:, 1] == b]))
    inputs = _nbytes(*[i for _, _, i in pairs])
    _, single_peak, single_s = _measure(merge_blocks, [counts[g] for g in order], pairs)
    record["levels"] = height
    for family, (peak_bytes, seconds) in worst.items():
        if family in ("leaf", "up", "down"):
            record[f"largest_{family}_task_mib"] = round(peak_bytes / 2**20, 3)
            record[f"largest_{family}_task_s"] = round(seconds, 4)
    record["largest_up_task_by_level_mib"] = {f: round(worst[f][0] / 2**20, 3) for f in worst if f.startswith("up-")}
    record["single_merge_task_mib"] = round((inputs + single_peak) / 2**20, 3)
    record["single_merge_task_s"] = round(single_s, 4)
    return record


def bench_merge() -> None:
    for shape in [(10, 10, 10), (20, 25, 20), (40, 50, 50)]:
        emit(**simulate_merge(shape))


# ---- the staged jobs on 1x, 2x, 4x -----------------------------------------------------------------
#: factor -> (start, shape) of a crop of the 512^3 pinky40 labels (ZYX); at least 4 blocks along every axis, so
#: that the largest task (an inner block with its margin on every side) is the same at every size
SIZES = {1: ((192, 128, 128), (128, 256, 256)), 2: ((192, 128, 0), (128, 256, 512)), 4: ((192, 0, 0), (128, 512, 512))}
BLOCK = (32, 64, 64)
MARGIN = (8, 16, 16)


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:  # noqa: PTH123 - the kernel's counters, not a work file
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def measured_task(work_dir: str, target: str, stage: str, item: str) -> tuple[str, float, float, float]:
    """Run one task in a pool worker; its peak RSS (the high-water mark reset before it), RSS before, seconds."""
    from chunkflow.jobs.executors import _box, _job_in_worker
    from chunkflow.jobs.staged import run_task

    job = _job_in_worker(work_dir, target)
    try:
        with open("/proc/self/clear_refs", "w") as clear:  # noqa: PTH123 - resets VmHWM (Linux)
            clear.write("5")
    except OSError:
        pass
    before = _rss_kib("VmRSS:")
    start = time.perf_counter()
    run_task(job, stage, _box(item))
    return item, _rss_kib("VmHWM:") / 1024, before / 1024, time.perf_counter() - start


def run_measured(job: Any, workers: int = 2) -> dict[str, Any]:
    """Every stage in ``workers`` forkserver processes, each task measured; scratch sampled after each stage."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from chunkflow import files
    from chunkflow.jobs.staged import job_target

    job.validate()
    job.write_manifest()
    job.prepare()
    here = os.path.dirname(os.path.abspath(__file__))
    os.environ["PYTHONPATH"] = os.pathsep.join([here, *filter(None, [os.environ.get("PYTHONPATH")])])
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([type(job).__module__, "numpy", "cc3d", "fastremap", "crackle"])
    stages: dict[str, Any] = {}
    scratch = 0
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pool.submit(time.sleep, 0).result()  # start the workers outside the timed stages
        start = time.perf_counter()
        for stage in job._stages():
            t = time.perf_counter()
            items = ["all" if box is None else str(box) for box in job.missing(stage.name)]
            results = list(
                pool.map(measured_task, *zip(*[(job.work_dir, job_target(type(job)), stage.name, i) for i in items]))
            )
            stages[stage.name] = {"tasks": len(results), "s": round(time.perf_counter() - t, 3),
                                  "peak_rss_mib": round(max(r[1] for r in results), 1),
                                  "peak_above_start_mib": round(max(r[1] - r[2] for r in results), 1),
                                  "largest_task_s": round(max(r[3] for r in results), 3)}  # fmt: skip
            scratch = max(scratch, files.size_of_prefix(job.work_dir))
    wall = time.perf_counter() - start
    return {"wall_s": wall, "stages": stages, "scratch_bytes": scratch}


def single_merge_partition_matches(job: Any, labels_of: Any) -> bool:
    """Today's single merge (one union-find over every block's contacts) gives the job's partition."""
    from chunkflow.segmentation.unionfind import merge_consecutive

    blocks = job.blocks()
    found = [job.load_arrays(f"contacts/{b}.npz") for b in blocks]
    counts = np.array([int(f["count"]) for f in found], np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    position = {job.block_index(b): k for k, b in enumerate(blocks)}
    joins = [np.zeros((0, 2), np.int64)]
    for f in found:
        ends = np.vectorize(position.__getitem__, otypes=[np.int64])(f["ends"]) if f["ends"].size else f["ends"]
        joins.append(offsets[ends] + f["ids"].astype(np.int64))
    table = merge_consecutive(int(offsets[-1]), np.concatenate(joins).reshape(-1, 2)).astype(np.int64)
    output = job._volume_out() if hasattr(job, "_volume_out") else job._volume("output_url")
    pairs = set()
    for k, block in enumerate(blocks):
        reference = table[offsets[k] + labels_of(job, block).astype(np.int64)]
        reference[labels_of(job, block) == 0] = 0
        ours = output.read(block).array.astype(np.int64)
        if not np.array_equal(ours == 0, reference == 0):
            return False
        pairs |= set(zip(reference[ours != 0].tolist(), ours[ours != 0].tolist()))
    refs, outs = zip(*pairs) if pairs else ((), ())
    return len(pairs) == len(set(refs)) == len(set(outs))


def _agglomerate_labels(job: Any, block: Any) -> np.ndarray:
    import crackle

    return crackle.decompress(job.load_bytes(f"blocks/{block}.ckl"))


def _cc_labels(job: Any, block: Any) -> np.ndarray:
    return job._components(block)[0]


def bench_volume() -> None:
    from chunkflow import Chunk
    from chunkflow.datasets import load_pinky40_512
    from chunkflow.jobs.agglomerate import agglomerate_job
    from chunkflow.jobs.global_cc import global_cc_job
    from chunkflow.segmentation import noisy_affinities
    from chunkflow.volumes import create_volume

    full = load_pinky40_512()
    for factor, (corner, shape) in SIZES.items():
        labels = full.array[tuple(slice(c, c + n) for c, n in zip(corner, shape))]
        tmp = tempfile.mkdtemp()
        try:
            affs = Chunk(noisy_affinities(labels, seed=0), (0, 0, 0), full.voxel_size, "affinity_map")
            create_volume(f"zarr://{tmp}/affs", like=affs, block_size=BLOCK).write(affs)
            seg = Chunk(np.ascontiguousarray(labels), (0, 0, 0), full.voxel_size, "segmentation")
            create_volume(f"zarr://{tmp}/labels", like=seg, block_size=BLOCK).write(seg)
            del affs
            jobs = [("agglomerate", agglomerate_job(f"zarr://{tmp}/affs", f"zarr://{tmp}/seg", BLOCK, MARGIN, 0.7,
                                                    f"{tmp}/agg-work"), _agglomerate_labels),
                    ("global_cc", global_cc_job(f"zarr://{tmp}/labels", f"zarr://{tmp}/cc", BLOCK, None, 6,
                                                f"{tmp}/cc-work"), _cc_labels)]  # fmt: skip
            for name, job, labels_of in jobs:
                result = run_measured(job)
                voxels = int(np.prod(shape))
                emit(
                    benchmark="scale_volume",
                    job=name,
                    factor=factor,
                    shape=list(shape),
                    block=list(BLOCK),
                    blocks=len(job.blocks()),
                    levels=job.height,
                    wall_s=round(result["wall_s"], 2),
                    us_per_voxel=round(result["wall_s"] / voxels * 1e6, 4),
                    scratch_bytes_per_voxel=round(result["scratch_bytes"] / voxels, 4),
                    peak_task_rss_mib=max(s["peak_rss_mib"] for s in result["stages"].values()),
                    count=job.finish()["count"],
                    same_partition_as_single_merge=single_merge_partition_matches(job, labels_of),
                    stages=result["stages"],
                )
        finally:
            shutil.rmtree(tmp)


# ---- global connected components vs cc3d on one machine ----------------------------------------------
CC_SCRIPT = r"""
import sys, cc3d, numpy as np
from chunkflow import Chunk
from chunkflow.volumes import create_volume, open_volume
src, dst = sys.argv[1], sys.argv[2]
chunk = open_volume(src).read()
labels = cc3d.connected_components(chunk.array > 100, connectivity=26, out_dtype=np.uint32)
create_volume(dst, like=Chunk(labels, chunk.voxel_offset, chunk.voxel_size, "segmentation"),
              block_size=(128, 256, 256)).write(Chunk(labels, chunk.voxel_offset, chunk.voxel_size, "segmentation"))
"""


def bench_cc(repeat: int = 3) -> None:
    """Issue 23.3: stages <= 4x one cc3d call on the whole array; the command <= 2x read + cc3d + write."""
    import statistics

    import cc3d
    from _common import BIN, run_process

    from chunkflow import Chunk
    from chunkflow.datasets import load_pinky40_512
    from chunkflow.jobs.executors import run_job
    from chunkflow.jobs.global_cc import global_cc_job
    from chunkflow.volumes import create_volume

    sub = load_pinky40_512().array[:256]
    image = Chunk(((sub % 5 == 0) & (sub != 0)).astype(np.uint8) * 200, layer_type="image")
    tmp = tempfile.mkdtemp()
    try:
        src = f"zarr://{tmp}/in"
        create_volume(src, like=image, block_size=(64, 128, 128)).write(image)
        whole, stage_runs, commands, scripts = [], [], [], []
        for k in range(repeat):
            t = time.perf_counter()
            expected = int(cc3d.connected_components(image.array > 100, connectivity=26).max())
            whole.append(time.perf_counter() - t)
            job = global_cc_job(src, f"zarr://{tmp}/stages{k}", (128, 256, 256), 100, 26, f"{tmp}/work{k}")
            seconds = run_job(job, workers=1)
            assert job.count() == expected
            stage_runs.append(seconds)
            commands.append(
                run_process(
                    [
                        str(BIN / "chunkflow"),
                        "global-connected-components",
                        "-v",
                        src,
                        "-o",
                        f"zarr://{tmp}/cmd{k}",
                        "-b",
                        "128",
                        "256",
                        "256",
                        "-t",
                        "100",
                        "-c",
                        "26",
                    ]
                )
            )
            scripts.append(run_process([sys.executable, "-c", CC_SCRIPT, src, f"zarr://{tmp}/script{k}"]))
        stage_total = [sum(s.values()) for s in stage_runs]
        emit(
            benchmark="global_cc_vs_cc3d",
            volume=list(image.shape),
            block=[128, 256, 256],
            components=expected,
            whole_cc3d_s=[round(x, 3) for x in whole],
            stages_s=[round(x, 3) for x in stage_total],
            stages_vs_cc3d=round(statistics.median(a / b for a, b in zip(stage_total, whole)), 2),
            target_stages_max=4,
            per_stage_s={k: round(statistics.median(s[k] for s in stage_runs), 3) for k in stage_runs[0]},
            command_s=[round(c["wall_s"], 3) for c in commands],
            script_s=[round(c["wall_s"], 3) for c in scripts],
            command_vs_script=round(statistics.median(c["wall_s"] / s["wall_s"] for c, s in zip(commands, scripts)), 2),
            target_command_max=2,
            command_peak_mib=max(c["peak_mib"] for c in commands),
            script_peak_mib=max(c["peak_mib"] for c in scripts),
        )
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    parts = {"merge": bench_merge, "volume": bench_volume, "cc": bench_cc}
    for name in sys.argv[1:] or list(parts):
        parts[name]()
