"""Task layouts for a precomputed volume, like igneous's design helpers: which task shape a transfer
(``save-precomputed``) and a one-pass pyramid (``downsample-upload``) need, how many tasks, and how much
memory each takes. ``chunkflow plan`` prints it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from chunkflow.geometry import BoundingBox, Vec3, Vec3Like

__all__ = ["TaskLayout", "plan_volume", "pyramid_unit"]


@dataclass(frozen=True)
class TaskLayout:
    """One kind of task over a volume."""

    job: str  # "transfer" or "pyramid"
    task_shape: Vec3  # ZYX voxels at the chunk mip
    task_count: int
    bytes_per_task: int  # estimated peak memory of one task
    mips: tuple[int, int]  # first and last mip written
    files_per_mip: dict[int, int] = field(default_factory=dict)  # files the whole job writes per mip
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "job": self.job,
            "task_shape": list(self.task_shape),
            "task_count": self.task_count,
            "bytes_per_task": self.bytes_per_task,
            "mips": list(self.mips),
            "files_per_mip": {str(k): v for k, v in self.files_per_mip.items()},
            "note": self.note,
        }


def _lcm(a: Vec3, b: Vec3) -> Vec3:
    return Vec3(*(x * y // math.gcd(x, y) for x, y in zip(a, b)))


def _grow(unit: Vec3, limit: Vec3, voxel_bytes: float, memory_target: int) -> Vec3:
    """Double ``unit`` (x and y first, then z) while it stays under ``limit`` and ``memory_target``."""
    shape = unit
    while True:
        for axis in (2, 1, 0):
            bigger = list(shape)
            bigger[axis] *= 2
            candidate = Vec3(*bigger)
            if candidate[axis] <= max(limit[axis], unit[axis]) and candidate.prod() * voxel_bytes <= memory_target:
                shape = candidate
                break
        else:
            return shape


def _files(volume, tasks: list[BoundingBox]) -> int:
    from chunkflow.volumes.sharded import ShardedPrecomputedVolume

    if isinstance(volume, ShardedPrecomputedVolume):
        return len(volume.shard_boxes())
    return len(volume.bbox.aligned_to(volume.block_size, volume.bbox.start).split(volume.block_size))


def plan_volume(
    url: str, chunk_mip: int = 0, stop_mip: int = 3, factor: Vec3Like = (1, 2, 2), memory_target: int = 2**30
) -> list[TaskLayout]:
    """The transfer layout at ``chunk_mip`` and the one-pass pyramid layout for mips
    ``chunk_mip+1 .. stop_mip`` (inclusive; scales the info lacks are planned, not written).

    A sharded transfer task is one shard. A pyramid task is the smallest box that is whole blocks (or
    whole shards) at every mip it writes (:func:`pyramid_unit`); unsharded ones then grow in powers of
    two up to ``memory_target`` bytes of task array.
    """
    from chunkflow.volumes.precomputed import PrecomputedVolume
    from chunkflow.volumes.sharded import ShardedPrecomputedVolume, pyramid_volumes

    base = PrecomputedVolume.open(url, mip=chunk_mip)
    voxel_bytes = np.dtype(base.dtype).itemsize * base.num_channels
    factors, volumes, _ = pyramid_volumes(url, chunk_mip, stop_mip, factor) if stop_mip > chunk_mip else ([], {}, None)
    steps = factors[chunk_mip:stop_mip]
    sharded = isinstance(base, ShardedPrecomputedVolume)
    pyramid_bytes = sum(1 / _prod_steps(steps[:k]).prod() for k in range(1, len(steps) + 1))  # mips / task array

    if isinstance(base, ShardedPrecomputedVolume):
        unit = base.shard_shape
    else:
        unit = _grow(base.block_size, base.bbox.size, voxel_bytes, memory_target)
    transfer_tasks = base.bbox.aligned_to(unit, base.bbox.start).split(unit)
    layouts = [TaskLayout("transfer", unit, len(transfer_tasks), int(unit.prod() * voxel_bytes * 2),
                          (chunk_mip, chunk_mip), {chunk_mip: _files(base, transfer_tasks)},
                          "one task per shard" if sharded else "")]  # fmt: skip
    if not steps:
        return layouts

    need = pyramid_unit(base, volumes, steps, chunk_mip)
    if isinstance(base, ShardedPrecomputedVolume):  # whole shards at every mip; no bigger than that
        covered = base.bbox.size.ceildiv(base.shard_shape) * base.shard_shape
        shape = need.minimum(covered)
        per_task = (shape // base.shard_shape).prod()
        note = (
            ""
            if per_task == 1
            else (f"a task holds {per_task} shards of mip {chunk_mip}: the smallest box of whole shards at every mip")
        )
    else:
        shape = _grow(need, base.bbox.size, voxel_bytes * (1 + pyramid_bytes), memory_target)
        note = ""
    if need.minimum(base.bbox.size).prod() * voxel_bytes > memory_target:
        note = (note + "; " if note else "") + (
            f"the smallest aligned task, {tuple(need.minimum(base.bbox.size))}, is above the memory target: "
            "write fewer mips per pass (--stop-mip), then the rest from the last mip written (--chunk-mip)"
        )
    tasks = base.bbox.aligned_to(shape, base.bbox.start).split(shape)
    reached = stop_mip
    files = {mip: _files(volumes[mip], tasks) for mip in range(chunk_mip + 1, reached + 1)}
    memory = int(shape.prod() * voxel_bytes * (2 + pyramid_bytes))
    layouts.append(TaskLayout("pyramid", shape, len(tasks), memory, (chunk_mip + 1, reached), files, note))
    return layouts


def _unit(volume) -> Vec3:
    from chunkflow.volumes.sharded import ShardedPrecomputedVolume

    return volume.shard_shape if isinstance(volume, ShardedPrecomputedVolume) else volume.block_size


def pyramid_unit(base, volumes: dict, steps: list[Vec3], chunk_mip: int) -> Vec3:
    """The smallest task (ZYX voxels at ``chunk_mip``) that is whole blocks, or whole shards of sharded
    scales, at ``chunk_mip`` and at every mip of ``volumes`` (by mip) it downsamples to by ``steps``."""
    need, total = _unit(base), Vec3(1, 1, 1)
    for mip, step in enumerate(steps, start=chunk_mip + 1):
        total = total * step
        if mip in volumes:
            need = _lcm(need, _unit(volumes[mip]) * total)
    return need


def _prod_steps(steps: list[Vec3]) -> Vec3:
    total = Vec3(1, 1, 1)
    for step in steps:
        total = total * step
    return total
