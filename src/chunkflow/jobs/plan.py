"""Cost and scale of a staged job before paying for it: per stage the tasks, object reads and writes, bytes,
scratch, memory and time per task, for any volume size.

:func:`plan_job` runs the job on a corner of at most 2x2x2 blocks (its own temporary work dir and output;
the job's real places are not touched, only that corner of the input is read), measures every task (I/O
counted by the job's work-file and volume helpers, peak memory, seconds), and scales each stage to the
full job's task count. A stage marked ``scales="volume"`` (one task over every block, e.g. a single
merge) is scaled by the number of blocks; the stages of a family (``Stage.family``, e.g. the levels of
a hierarchical merge) that the corner lacks take the figures of the family's last stage it has.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
import tracemalloc
from dataclasses import asdict, dataclass
from typing import Any

from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.jobs.staged import StagedJob, run_task

__all__ = ["StagePlan", "plan_job", "format_plan", "sample_job"]


@dataclass
class StagePlan:
    stage: str
    tasks: int
    object_reads: int
    object_writes: int
    bytes_read: int
    bytes_written: int
    scratch_bytes: int
    memory_per_task: int
    seconds_per_task: float
    note: str = ""

    @property
    def task_seconds(self) -> float:
        return self.seconds_per_task * self.tasks

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "task_seconds": self.task_seconds}


def sample_job(job: StagedJob, where: str) -> StagedJob:
    """``job`` cut to its first <= 2x2x2 blocks, writing to a Zarr output and work dir under ``where``."""
    count = job.grid_shape().minimum((2, 2, 2))
    start = job.bbox.start
    corner = BoundingBox(start, (start + count * job.block_size).minimum(job.bbox.stop))
    params = {**job.params, "region": str(corner)}
    for key in job.output_keys:
        params[key] = f"zarr://{os.path.join(where, key)}"
    return type(job)(params, os.path.join(where, "work"))


class _Memory:
    """Peak memory of one task: the larger of the process's peak RSS growth (reset through /proc on Linux;
    misses memory reused from earlier tasks) and tracemalloc's peak (NumPy and Python allocations)."""

    def __init__(self) -> None:
        self.proc = os.access("/proc/self/clear_refs", os.W_OK)
        self.base = 0

    @staticmethod
    def _status(field: str) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
        return 0

    def start(self) -> None:
        if self.proc:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.base = self._status("VmRSS:")
        tracemalloc.start()

    def peak(self) -> int:
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rss = max(0, self._status("VmHWM:") - self.base) if self.proc else 0
        return max(traced, rss)


def _measure(sample: StagedJob) -> dict[str, dict[str, float]]:
    """Run every stage of ``sample`` here; per stage the mean per task of each count, max memory, seconds."""
    memory = _Memory()
    found: dict[str, dict[str, float]] = {}
    for stage in sample._stages():
        tasks = list(stage.tasks())
        totals: dict[str, float] = {"tasks": len(tasks), "memory": 0.0, "seconds": 0.0}
        for task in tasks:
            sample.io.clear()
            memory.start()
            begin = time.perf_counter()
            run_task(sample, stage.name, task)
            totals["seconds"] += time.perf_counter() - begin
            totals["memory"] = max(totals["memory"], memory.peak())
            for key, value in sample.io.items():
                totals[key] = totals.get(key, 0) + value
        n = max(len(tasks), 1)
        found[stage.name] = {k: (v if k in ("tasks", "memory") else v / n) for k, v in totals.items()}
        found[stage.name]["family"] = stage.kind  # type: ignore[assignment]
    return found


def _block_bytes(url: str) -> int:
    from chunkflow.volumes import open_volume

    volume = open_volume(url)
    import numpy as np

    return Vec3.of(volume.block_size).prod() * np.dtype(volume.dtype).itemsize * int(volume.num_channels)


def plan_job(job: StagedJob) -> list[StagePlan]:
    """Per stage of ``job``: counts for the whole job from a run on its corner (see the module doc)."""
    with tempfile.TemporaryDirectory(prefix="chunkflow-plan-") as where:
        sample = sample_job(job, where)
        sample.validate()
        sample.write_manifest()
        sample.prepare()
        measured = _measure(sample)
        in_block = max(1, _block_bytes(job.params[job.input_keys[0]]))
        out_block = max(1, _block_bytes(sample.params[job.output_keys[0]]))
    sample_blocks = max(1, sample.grid_shape().prod())
    full_blocks = job.grid_shape().prod()
    by_family: dict[str, dict[str, float]] = {}
    for m in measured.values():
        by_family[str(m["family"])] = m
    plans = []
    for stage in job._stages():
        m = measured.get(stage.name) or by_family.get(stage.kind, {})
        tasks = stage.task_count()
        scale = full_blocks / sample_blocks if stage.scales == "volume" else 1.0
        note = f"one task over all {full_blocks} blocks: grows with the volume" if stage.scales == "volume" else ""
        if not m:
            note = "not measured on the sample"
        vr, vw = m.get("volume_read_bytes", 0) * scale, m.get("volume_write_bytes", 0) * scale
        wr, ww = m.get("work_read_bytes", 0) * scale, m.get("work_write_bytes", 0) * scale
        # volume objects: the storage blocks the sample's tasks touched (bytes / block bytes where a job
        # does not count them); + 1 for the done-marker check and + 1 for the marker
        volume_reads = m.get("volume_reads", math.ceil(vr / in_block)) * scale
        volume_writes = m.get("volume_writes", math.ceil(vw / out_block)) * scale
        reads = m.get("work_reads", 0) * scale + volume_reads + 1
        writes = m.get("work_writes", 0) * scale + volume_writes + 1
        plans.append(
            StagePlan(
                stage=stage.name,
                tasks=tasks,
                object_reads=round(reads * tasks),
                object_writes=round(writes * tasks),
                bytes_read=round((vr + wr) * tasks),
                bytes_written=round((vw + ww) * tasks),
                scratch_bytes=round(ww * tasks),
                memory_per_task=round(m.get("memory", 0) * scale),
                seconds_per_task=m.get("seconds", 0.0) * scale,
                note=note,
            )
        )
    return plans


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def format_plan(job: StagedJob, plans: list[StagePlan]) -> list[str]:
    lines = [f"{job.kind} job {job.job_id} over {job.bbox} ({job.bbox.volume} voxels, {job.grid_shape().prod()} blocks "
             f"of {tuple(job.block_size)}); work dir {job.work_dir}; estimated from a corner of <= 2x2x2 blocks"]  # fmt: skip
    for p in plans:
        lines.append(
            f"  {p.stage}: {p.tasks} tasks; {p.object_reads} object reads ({_size(p.bytes_read)}), "
            f"{p.object_writes} object writes ({_size(p.bytes_written)}); scratch {_size(p.scratch_bytes)}; "
            f"memory ~{_size(p.memory_per_task)}/task; ~{p.seconds_per_task:.2f} s/task, {p.task_seconds:.1f} task-s"
            + (f" ({p.note})" if p.note else "")
        )
    total = sum(p.task_seconds for p in plans)
    lines.append(
        f"  total: {sum(p.object_reads for p in plans)} object reads, {sum(p.object_writes for p in plans)} object "
        f"writes, {_size(sum(p.bytes_written for p in plans))} written, scratch {_size(sum(p.scratch_bytes for p in plans))}, "
        f"peak memory/task ~{_size(max((p.memory_per_task for p in plans), default=0))}, {total:.1f} task-s "
        "(divide by the number of workers)"
    )
    return lines
