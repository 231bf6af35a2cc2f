"""The global connected-components job: :mod:`chunkflow.segmentation.global_cc`'s steps as stages.

Work files (under the work dir): ``faces/<block>.npz`` (six boundary planes and the block's
component count, from ``label``), ``pairs/<block>.npy`` (contacts across the block's +faces, ids
encoded ``block_index * stride + local``), ``table.npz`` (global ids, from ``merge``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.jobs.outputs import existing_output, open_or_create, save_npz
from chunkflow.jobs.staged import StagedJob, run_job
from chunkflow.volumes.base import atomic_path

__all__ = ["GlobalCCJob", "global_connected_components"]

log = logging.getLogger(__name__)


class GlobalCCJob(StagedJob):
    kind = "global-cc"
    stages = ("label", "pairs", "merge", "relabel")
    single_task_stages = ("merge",)

    def __init__(self, params: dict[str, Any], work_dir: str) -> None:
        from chunkflow.segmentation.global_cc import check_connectivity

        params = {"threshold": 0.5, "connectivity": 6, **params}
        params["block_size"] = list(Vec3.of(params["block_size"]))
        check_connectivity(int(params["connectivity"]))
        if any(b <= 0 for b in params["block_size"]):
            raise InvalidParameterError(f"block size {tuple(params['block_size'])} must be positive")
        super().__init__(params, work_dir)

    def _volume(self, key: str) -> Any:
        if key not in self._cache:
            from chunkflow.volumes import open_volume

            self._cache[key] = open_volume(self.params[key])
        return self._cache[key]

    @property
    def bbox(self) -> BoundingBox:
        return self._volume("input_url").bbox

    @property
    def stride(self) -> int:
        return self.block_size.prod()

    def validate(self) -> None:
        super().validate()
        existing_output(self.params["output_url"], self.params["input_url"], "uint32", self.block_size)

    def prepare(self) -> None:
        super().prepare()
        for sub in ("faces", "pairs"):
            (self.work_dir / sub).mkdir(exist_ok=True)
        open_or_create(self.params["output_url"], self.params["input_url"], "uint32", self.block_size)

    def run(self, stage: str, bbox: BoundingBox | None) -> None:
        if stage == "merge":
            self._merge()
        else:
            assert bbox is not None
            {"label": self._label, "pairs": self._pairs, "relabel": self._relabel}[stage](bbox)

    def _components(self, block: BoundingBox) -> tuple[np.ndarray, np.ndarray, int]:
        from chunkflow.segmentation.global_cc import label_block

        chunk = self._volume("input_url").read(block)
        return label_block(chunk, self.params["threshold"], int(self.params["connectivity"]))

    def _label(self, block: BoundingBox) -> None:
        from chunkflow.segmentation.global_cc import block_faces

        labels, fg, count = self._components(block)
        save_npz(self.work_dir / "faces" / f"{block}.npz", count=np.array(count), **block_faces(block, labels, fg))

    def _faces(self, name: str) -> Any:
        faces: dict[str, Any] = self._cache.setdefault("faces", {})
        if name not in faces:
            if len(faces) >= 64:  # bounded: a pairs task needs at most 18 blocks' faces
                faces.pop(next(iter(faces)))
            faces[name] = dict(np.load(self.work_dir / "faces" / f"{name}.npz"))
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
        with atomic_path(self.work_dir / "pairs" / f"{block}.npy") as tmp, tmp.open("wb") as f:
            np.save(f, np.unique(np.concatenate(found), axis=0))

    def _merge(self) -> None:
        from chunkflow.segmentation.unionfind import merge_consecutive

        blocks = self.blocks()
        counts = np.array([int(np.load(self.work_dir / "faces" / f"{b}.npz")["count"]) for b in blocks], np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        index = np.array([self.block_index(b) for b in blocks], np.int64)
        # encoded id -> consecutive id: block_index * stride + local -> offsets[k] + local
        by_index = np.zeros(int(index.max()) + 1, np.int64)
        by_index[index] = offsets[:-1]
        pairs = [np.zeros((0, 2), np.int64)]
        for b in blocks:
            encoded = np.load(self.work_dir / "pairs" / f"{b}.npy").astype(np.int64)
            pairs.append(by_index[encoded // self.stride] + encoded % self.stride)
        table = merge_consecutive(int(offsets[-1]), np.concatenate(pairs))
        save_npz(self.work_dir / "table.npz", table=table, offsets=offsets[:-1], counts=counts)

    def _table(self) -> Any:
        if "table" not in self._cache:
            self._cache["table"] = dict(np.load(self.work_dir / "table.npz"))
        return self._cache["table"]

    def _relabel(self, block: BoundingBox) -> None:
        from chunkflow.segmentation.unionfind import lookup_relabel

        labels, _, count = self._components(block)
        table = self._table()
        if "order" not in self._cache:
            self._cache["order"] = {b: k for k, b in enumerate(self.blocks())}
        k = self._cache["order"][block]
        out = lookup_relabel(labels, table["table"], int(table["offsets"][k]), count)
        output = self._volume("output_url")
        output.write(Chunk(out.astype(output.dtype, copy=False), block.start, output.voxel_size, "segmentation"))

    def count(self) -> int:
        table = np.load(self.work_dir / "table.npz")["table"]
        return int(table.max()) if len(table) else 0


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
) -> Any:
    """Connected components of a whole volume, seam-free; returns the number of components
    (with ``prepare_only``: the work dir, after writing the manifest and creating the output).

    Without ``queue_name`` the stage tasks run here in ``workers`` local processes. With it, this
    is the frontend: each stage's tasks go to the queue, drained by workers running
    ``chunkflow fetch-task -q QUEUE staged-task --job WORK_DIR delete-task-in-queue``, before the
    next stage is sent. A rerun with the same arguments does only the tasks not yet done.
    """
    from chunkflow.volumes.base import format_of

    format_of(output_url)  # refuse an output no format takes before a work dir is made beside it
    work_dir = work_dir or f"{output_url.split('://')[-1].rstrip('/')}.cc-work"
    job = GlobalCCJob({"input_url": input_url, "output_url": output_url, "block_size": list(Vec3.of(block_size)),
                       "threshold": threshold, "connectivity": int(connectivity)}, work_dir)  # fmt: skip
    run_job(job, workers, queue_name, prepare_only, dask=dask)
    return str(job.work_dir) if prepare_only else job.count()
