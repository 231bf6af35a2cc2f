"""The global connected-components job: :mod:`chunkflow.segmentation.global_cc`'s steps as stages.

Work files (under the work dir, compressed): ``faces/<block>.npz`` (six boundary planes and the block's
component count, from ``label``), ``contacts/<block>.npz`` (contacts across the block's +faces, from
``pairs``), then the bounded merge's files (``up-1 .. up-H``, ``down-H .. down-1``,
:mod:`chunkflow.jobs.hierarchy`) ending in ``tables/<block>.npz``, the only merge file a ``relabel``
task reads.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.jobs.hierarchy import HierarchicalMerge
from chunkflow.jobs.outputs import check_output, default_work_dir, open_or_create
from chunkflow.jobs.staged import Stage, StagedJob, run_job

__all__ = ["GlobalCCJob", "global_cc_job", "global_connected_components"]

log = logging.getLogger(__name__)


class GlobalCCJob(HierarchicalMerge, StagedJob):
    kind = "global-cc"
    contact_reach = (1, 1)  # a +face's plane grown by one voxel touches edge and corner neighbours
    contacts_stage = "pairs"

    def __init__(self, params: dict[str, Any], work_dir: str) -> None:
        from chunkflow.segmentation.global_cc import check_connectivity

        params = {"threshold": 0.5, "connectivity": 6, **params}
        params["block_size"] = list(Vec3.of(params["block_size"]))
        check_connectivity(int(params["connectivity"]))
        threshold = params["threshold"]
        if threshold is not None and not math.isfinite(float(threshold)):
            raise InvalidParameterError(
                f"threshold {threshold} must be a finite number (foreground is value > threshold)"
            )
        if any(b <= 0 for b in params["block_size"]):
            raise InvalidParameterError(f"block size {tuple(params['block_size'])} must be positive")
        super().__init__(params, work_dir)

    def _volume(self, key: str) -> Any:
        if key not in self._cache:
            from chunkflow.volumes import open_volume

            self._cache[key] = open_volume(self.params[key])
        return self._cache[key]

    @property
    def volume_bbox(self) -> BoundingBox:
        volume = self._volume("input_url")
        if volume.num_channels != 1:
            raise InvalidParameterError(
                f"input {self.params['input_url']} has {volume.num_channels} channels; connected components take "
                "one channel (a segmentation or a probability map)"
            )
        return volume.bbox

    def stages(self) -> list[Stage]:
        return [
            Stage.per_block("label", self._label, self),
            Stage.per_block("pairs", self._pairs, self),
            *self.merge_stages(),
            Stage.per_block("relabel", self._relabel, self),
        ]

    @property
    def stride(self) -> int:
        return self.block_size.prod()

    def validate(self) -> None:
        super().validate()
        p = self.params
        check_output(p["output_url"], [p["input_url"]], self.bbox, "uint32", self.block_size, self.overwrite)

    def prepare(self) -> None:
        p = self.params
        if open_or_create(p["output_url"], p["input_url"], self.bbox, "uint32", self.block_size, self.overwrite):
            self._cache["created"] = [p["output_url"]]

    def finish(self) -> dict[str, Any]:
        return {"count": self.count()}

    def _components(self, block: BoundingBox) -> tuple[np.ndarray, np.ndarray, int]:
        from chunkflow.segmentation.global_cc import label_block

        chunk = self._volume("input_url").read(block)
        self.count_volume_io("read", self._volume("input_url"), block, chunk.array.nbytes)
        if np.issubdtype(chunk.array.dtype, np.floating) and not np.isfinite(chunk.array).all():
            raise IncompatibleChunkError(
                f"input {self.params['input_url']} holds NaN/Inf values in {block}; connected components of a "
                "probability map need finite values"
            )
        return label_block(chunk, self.params["threshold"], int(self.params["connectivity"]))

    def _label(self, block: BoundingBox) -> None:
        from chunkflow.segmentation.global_cc import block_faces

        labels, fg, count = self._components(block)
        self.save_arrays(f"faces/{block}.npz", count=np.array(count), **block_faces(block, labels, fg))

    def _faces(self, name: str) -> Any:
        faces: dict[str, Any] = self._cache.setdefault("faces", {})
        if name not in faces:
            if len(faces) >= 64:  # bounded: a pairs task needs at most 18 blocks' faces
                faces.pop(next(iter(faces)))
            faces[name] = self.load_arrays(f"faces/{name}.npz", "label", keys=("count",))
        return faces[name]

    def _plane(self, region: BoundingBox, axis: int, side: int) -> tuple[np.ndarray, np.ndarray]:
        """Labels (globally unique) and foreground of the plane ``region`` from the blocks' faces.

        Plain integer arithmetic: this runs for every face of every block.
        """
        key = f"{axis}{'+' if side > 0 else '-'}"
        if "grid" not in self._cache:
            self._cache["grid"] = (
                tuple(self.bbox.start),
                tuple(self.bbox.stop),
                tuple(self.block_size),
                tuple(self.grid_shape()),
            )
        origin, stop, size, shape = self._cache["grid"]
        r0, r1 = tuple(region.start), tuple(region.stop)
        labels = np.zeros(region.shape, np.uint64)
        fg: np.ndarray | None = None
        ranges = [range((r0[a] - origin[a]) // size[a], (r1[a] - 1 - origin[a]) // size[a] + 1) for a in range(3)]
        for gz in ranges[0]:
            for gy in ranges[1]:
                for gx in ranges[2]:
                    g = (gz, gy, gx)
                    b0 = [origin[a] + g[a] * size[a] for a in range(3)]
                    b1 = [min(b0[a] + size[a], stop[a]) for a in range(3)]
                    f0, f1 = list(b0), list(b1)  # the face: one voxel thick along axis
                    if side > 0:
                        f0[axis] = b1[axis] - 1
                    else:
                        f1[axis] = b0[axis] + 1
                    lo = [max(f0[a], r0[a]) for a in range(3)]
                    hi = [min(f1[a], r1[a]) for a in range(3)]
                    if any(lo[a] >= hi[a] for a in range(3)):
                        continue
                    faces = self._faces("_".join(f"{b0[a]}-{b1[a]}" for a in range(3)))
                    into = tuple(slice(lo[a] - r0[a], hi[a] - r0[a]) for a in range(3))
                    src = tuple(slice(lo[a] - f0[a], hi[a] - f0[a]) for a in range(3))
                    local = faces[f"labels_{key}"][src].astype(np.uint64)
                    index = (gz * shape[1] + gy) * shape[2] + gx
                    labels[into] = np.where(local != 0, local + np.uint64(index * self.stride), np.uint64(0))
                    values = faces[f"fg_{key}"]
                    if fg is None:
                        fg = np.zeros(region.shape, values.dtype)
                    fg[into] = values[src]
        if fg is None:
            fg = np.zeros(region.shape, np.bool_)
        return labels.squeeze(axis), fg.squeeze(axis)

    def _pairs(self, block: BoundingBox) -> None:
        from chunkflow.segmentation.global_cc import plane_contacts

        found = [np.zeros((0, 2), np.uint64)]
        for axis in range(3):
            if block.stop[axis] >= self.bbox.stop[axis]:
                continue
            start, stop = list(block.start - 1), list(block.stop + 1)
            start[axis], stop[axis] = block.stop[axis] - 1, block.stop[axis]
            before = BoundingBox(Vec3.of(start), Vec3.of(stop)).intersection(self.bbox)
            assert before is not None
            shift = [0, 0, 0]
            shift[axis] = 1
            after = before.translate(shift)
            found.append(
                plane_contacts(
                    self._plane(before, axis, 1), self._plane(after, axis, -1), int(self.params["connectivity"])
                )
            )
        encoded = np.unique(np.concatenate(found), axis=0)
        stride = np.uint64(self.stride)
        count = int(self._faces(str(block))["count"])
        self.save_contacts(block, count, (encoded // stride).astype(np.int64), encoded % stride)

    def _relabel(self, block: BoundingBox) -> None:
        from chunkflow.segmentation.hierarchy import apply_table

        labels, _, count = self._components(block)
        table = self.block_table(block)
        if len(table) != count + 1:
            from chunkflow.errors import CorruptFileError

            raise CorruptFileError(
                f"block {block} has {count} components now but its table {len(table) - 1}; the input changed "
                f"during the job: delete {self.work_dir} and rerun the command"
            )
        output = self._volume("output_url")
        if len(table) and int(table.max()) > np.iinfo(output.dtype).max:
            raise InvalidParameterError(
                f"block {block} has component ids past {np.iinfo(output.dtype).max}; the {output.dtype} output "
                "cannot hold them (use larger blocks or a lower threshold)"
            )
        out = apply_table(labels, table, output.dtype)
        self.count_volume_io("write", output, block, out.nbytes)
        output.write(Chunk(out, block.start, output.voxel_size, "segmentation"))

    def count(self) -> int:
        if "count" in self.result:
            return int(self.result["count"])
        return self.total_count()


def global_cc_job(
    input_url: str,
    output_url: str,
    block_size: Vec3Like,
    threshold: float | None = 0.5,
    connectivity: int = 6,
    work_dir: str | None = None,
) -> GlobalCCJob:
    """The job (not yet run); ``work_dir`` defaults to ``OUTPUT.cc-work`` on the output's storage."""
    from chunkflow.volumes.registry import format_of

    format_of(output_url)  # refuse an output no format takes before a work dir is made beside it
    work_dir = work_dir or default_work_dir(output_url, "cc-work")
    return GlobalCCJob(
        {
            "input_url": input_url,
            "output_url": output_url,
            "block_size": list(Vec3.of(block_size)),
            "threshold": threshold,
            "connectivity": int(connectivity),
        },
        work_dir,
    )


def global_connected_components(
    input_url: str,
    output_url: str,
    block_size: Vec3Like,
    threshold: float | None = 0.5,
    connectivity: int = 6,
    workers: int = 1,
    work_dir: str | None = None,
    queue_name: str | None = None,
    prepare_only: bool = False,
    dask: Any = None,
    keep_work_dir: bool = False,
    overwrite: bool = False,
    start_workers: int = 0,
) -> Any:
    """Connected components of a whole volume, seam-free; returns the number of components
    (with ``prepare_only``: the work dir, after writing the manifest and creating the output).

    Without ``queue_name`` the stage tasks run here in ``workers`` local processes. With it, this
    is the frontend: each stage's tasks go to the queue, drained by workers running
    ``chunkflow fetch-task -q QUEUE staged-task --job WORK_DIR delete-task-in-queue``, before the
    next stage is sent. A rerun with the same arguments does only the tasks not yet done.
    """
    job = global_cc_job(input_url, output_url, block_size, threshold, connectivity, work_dir)
    run_job(
        job,
        workers,
        queue_name,
        prepare_only,
        dask,
        keep_work_dir=keep_work_dir,
        overwrite=overwrite,
        start_workers=start_workers,
    )
    return str(job.work_dir) if prepare_only else job.count()
