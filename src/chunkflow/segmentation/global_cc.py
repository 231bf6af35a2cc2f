"""Seam-free connected components over a volume larger than one chunk, as independent stages.

1. ``label``   (one task per block): threshold, ``cc3d`` inside the block, ids offset into a
   range unique to the block (``block_index * block_voxels``), written to a work volume.
2. ``pairs``   (one task per block): read 2-voxel slabs across the block's +z/+y/+x faces
   (grown by one voxel in the other axes, so edge and corner contacts are seen) and record
   the pairs of labels that touch under the connectivity.
3. ``merge``   (one task): union of all pairs; a consecutive id for every global component.
4. ``relabel`` (one task per block): map the work labels to final ids, write the output volume.

Stages 1, 2 and 4 are embarrassingly parallel; stage n + 1 starts when stage n is done. The
queue layer runs the same stage tasks on many machines (:func:`stage_tasks`, :func:`run_task`);
:func:`global_connected_components` runs them here in local processes.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.volumes import create_volume, open_volume
from chunkflow.volumes.base import atomic_path

__all__ = ["GlobalCCJob", "global_connected_components", "STAGES"]

log = logging.getLogger(__name__)

STAGES = ("label", "pairs", "merge", "relabel")


@dataclass(frozen=True)
class GlobalCCJob:
    """Everything a worker needs to run one stage task; serialisable as JSON."""

    input_url: str
    output_url: str
    work_dir: str
    block_size: tuple[int, int, int]
    threshold: float | None = 0.5
    connectivity: int = 6

    def __post_init__(self) -> None:
        if self.connectivity not in (6, 18, 26):
            raise InvalidParameterError(f"connectivity {self.connectivity} is not one of 6, 18, 26")
        if any(b <= 0 for b in self.block_size):
            raise InvalidParameterError(f"block size {self.block_size} must be positive")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> GlobalCCJob:
        data = json.loads(text)
        data["block_size"] = tuple(data["block_size"])
        return cls(**data)

    # ---- geometry -----------------------------------------------------------------------
    @property
    def bbox(self) -> BoundingBox:
        return open_volume(self.input_url).bbox

    def blocks(self) -> list[BoundingBox]:
        return self.bbox.split(self.block_size)

    def block_index(self, block: BoundingBox) -> int:
        grid = (block.start - self.bbox.start) // Vec3.of(self.block_size)
        shape = self.bbox.size.ceildiv(self.block_size)
        return (grid.z * shape.y + grid.y) * shape.x + grid.x

    @property
    def work_url(self) -> str:
        return f"zarr://{self.work_dir}/labels.zarr"


def stage_tasks(job: GlobalCCJob, stage: str) -> list[str]:
    """Task payloads of one stage: block bbox strings, or ``"all"`` for the merge."""
    if stage not in STAGES:
        raise InvalidParameterError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    return ["all"] if stage == "merge" else [str(b) for b in job.blocks()]


def prepare(job: GlobalCCJob) -> None:
    """Create the work volume (uint64 labels) before stage 1."""
    source = open_volume(job.input_url)
    Path(job.work_dir, "pairs").mkdir(parents=True, exist_ok=True)
    create_volume(job.work_url, volume_size=source.bbox.size, voxel_offset=source.bbox.start,
                  voxel_size=source.voxel_size, dtype="uint64", layer_type="segmentation",
                  block_size=job.block_size)  # fmt: skip


def run_task(job: GlobalCCJob, stage: str, payload: str) -> None:
    """Run one stage task; safe to repeat (every write is idempotent)."""
    if stage == "merge":
        _merge(job)
        return
    block = BoundingBox.from_string(payload)
    {"label": _label, "pairs": _pairs, "relabel": _relabel}[stage](job, block)


def _label(job: GlobalCCJob, block: BoundingBox) -> None:
    import cc3d

    from chunkflow.segmentation.components import foreground

    chunk = open_volume(job.input_url).read(block)
    labels = cc3d.connected_components(foreground(chunk, job.threshold), connectivity=job.connectivity, out_dtype=np.uint64)
    offset = np.uint64(job.block_index(block) * Vec3.of(job.block_size).prod())
    labels[labels != 0] += offset
    open_volume(job.work_url).write(Chunk(labels, block.start, chunk.voxel_size, "segmentation"))


def _in_plane_offsets(connectivity: int) -> list[tuple[int, int]]:
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    if connectivity == 6:
        return [(0, 0)]
    if connectivity == 18:
        return [o for o in offsets if abs(o[0]) + abs(o[1]) <= 1]
    return offsets


def _pairs(job: GlobalCCJob, block: BoundingBox) -> None:
    work = open_volume(job.work_url)
    found = [np.zeros((0, 2), np.uint64)]
    for axis in range(3):
        if block.stop[axis] >= work.bbox.stop[axis]:
            continue
        start, stop = list(block.start - 1), list(block.stop + 1)
        start[axis], stop[axis] = block.stop[axis] - 1, block.stop[axis] + 1
        slab_box = BoundingBox(Vec3.of(start), Vec3.of(stop)).intersection(work.bbox)
        slab = np.moveaxis(work.read(slab_box).array, axis, 0)  # (2, A, B)
        before, after = slab[0], slab[1]
        for dy, dx in _in_plane_offsets(job.connectivity):
            a = before[max(0, -dy) : before.shape[0] - max(0, dy), max(0, -dx) : before.shape[1] - max(0, dx)]
            b = after[max(0, dy) : after.shape[0] - max(0, -dy), max(0, dx) : after.shape[1] - max(0, -dx)]
            touch = (a != 0) & (b != 0) & (a != b)
            if touch.any():
                found.append(np.unique(np.stack([a[touch], b[touch]], axis=1), axis=0))
    pairs = np.unique(np.concatenate(found), axis=0)
    with atomic_path(Path(job.work_dir, "pairs", f"{block}.npy")) as tmp:
        np.save(tmp.open("wb"), pairs)


def _merge(job: GlobalCCJob) -> None:
    import fastremap

    from chunkflow.segmentation.unionfind import merge_pairs

    work = open_volume(job.work_url)
    labels = [np.zeros(0, np.uint64)]
    for block in job.blocks():
        labels.append(fastremap.unique(work.read(block).array))
    pair_files = [Path(job.work_dir, "pairs", f"{b}.npy") for b in job.blocks()]
    missing = [p.name for p in pair_files if not p.exists()]
    if missing:
        raise InvalidParameterError(f"stage 'pairs' is not finished: {len(missing)} blocks missing (e.g. {missing[0]})")
    pairs = np.concatenate([np.zeros((0, 2), np.uint64), *(np.load(p) for p in pair_files)])
    mapping = merge_pairs(np.concatenate(labels), pairs)
    keys = np.fromiter(mapping.keys(), np.uint64, len(mapping))
    values = np.fromiter(mapping.values(), np.uint64, len(mapping))
    with atomic_path(Path(job.work_dir, "mapping.npz")) as tmp:
        np.savez(tmp.open("wb"), keys=keys, values=values)


def _relabel(job: GlobalCCJob, block: BoundingBox) -> None:
    import fastremap

    mapping = np.load(Path(job.work_dir, "mapping.npz"))
    table = dict(zip(mapping["keys"].tolist(), mapping["values"].tolist()))
    table[0] = 0
    labels = open_volume(job.work_url).read(block).array
    out = fastremap.remap(labels, table, preserve_missing_labels=False)
    output = open_volume(job.output_url)
    output.write(Chunk(out.astype(output.dtype), block.start, output.voxel_size, "segmentation"))


def queue_stages(job: GlobalCCJob) -> list[tuple[str, list[str]]]:
    """The job as queue stages: message bodies for ``fetch-task ... global-cc-task``."""
    from chunkflow.queues.messages import encode

    return [
        (stage, [encode(None if p == "all" else BoundingBox.from_string(p), stage=stage, job=job.to_json())
                 for p in stage_tasks(job, stage)])  # fmt: skip
        for stage in STAGES
    ]


def create_output(job: GlobalCCJob) -> None:
    source = open_volume(job.input_url)
    create_volume(job.output_url, volume_size=source.bbox.size, voxel_offset=source.bbox.start,
                  voxel_size=source.voxel_size, dtype="uint32", layer_type="segmentation",
                  block_size=job.block_size)  # fmt: skip


def _run_stage(job_json: str, stage: str, payload: str) -> None:
    run_task(GlobalCCJob.from_json(job_json), stage, payload)


def global_connected_components(
    input_url: str,
    output_url: str,
    block_size: Vec3Like,
    threshold: float | None = 0.5,
    connectivity: int = 6,
    workers: int = 1,
    work_dir: str | None = None,
    queue_name: str | None = None,
) -> int:
    """Run all four stages; returns the number of components.

    Without ``queue_name`` the stage tasks run here in ``workers`` local processes. With it, this
    is the frontend: each stage is sent to the queue and drained by whatever workers consume it
    (``chunkflow fetch-task -q QUEUE global-cc-task delete-task-in-queue``) before the next.
    """
    work_dir = work_dir or f"{output_url.split('://')[-1].rstrip('/')}.cc-work"
    job = GlobalCCJob(input_url, output_url, work_dir, tuple(Vec3.of(block_size)), threshold, connectivity)  # type: ignore[arg-type]
    prepare(job)
    create_output(job)
    if queue_name is not None:
        from chunkflow.queues import open_queue
        from chunkflow.queues.stages import run_stages

        run_stages(open_queue(queue_name), queue_stages(job))
    else:
        _run_local(job, workers)
    mapping = np.load(Path(work_dir, "mapping.npz"))
    return int(mapping["values"].max()) if len(mapping["values"]) else 0


def _run_local(job: GlobalCCJob, workers: int) -> None:
    import multiprocessing

    # forkserver, not fork: tensorstore and torch run threads that a forked child would inherit broken;
    # the server process starts clean and forks workers with the modules below already imported
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["chunkflow.segmentation.global_cc", "cc3d", "numpy"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) if workers > 1 else _Inline() as pool:
        for stage in STAGES:
            futures = [pool.submit(_run_stage, job.to_json(), stage, p) for p in stage_tasks(job, stage)]
            for f in futures:
                f.result()
            log.info("global connected components: stage %s done (%d tasks)", stage, len(futures))


class _Inline:
    """The executor interface, run in this process (workers=1: no pickling, easy to debug)."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn, *args):  # type: ignore[no-untyped-def]
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)
        return future


