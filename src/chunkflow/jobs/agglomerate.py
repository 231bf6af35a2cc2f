"""Seam-free agglomeration of an affinity volume as a staged job.

The stages run :mod:`chunkflow.segmentation.stitch`'s per-block steps; each task holds at most
one block's affinities plus margin (``agglomerate``), or a few face slabs (``match``), or one
block's labels (``relabel``):

1. ``agglomerate`` (per block): read the block grown by the margin, :func:`agglomerate_block`,
   store the core's local labels and its face slabs in ``blocks/<block>.npz``;
2. ``match`` (per block): :func:`match_faces` across its +z/+y/+x faces -> ``pairs/<block>.npz``;
3. ``merge`` (one task): union-find over every block's pairs -> ``table.npz`` (global ids);
4. ``relabel`` (per block): local -> global ids, written to the output volume.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.jobs.outputs import existing_output, open_or_create, save_npz
from chunkflow.jobs.staged import StagedJob, run_job

__all__ = ["AgglomerateJob", "agglomerate_volume"]

DEFAULTS = {"threshold": 0.7, "aff_threshold_low": 0.0001, "aff_threshold_high": 0.9999, "scoring": "mean",
            "min_contact": 1}  # fmt: skip


class AgglomerateJob(StagedJob):
    kind = "agglomerate"
    stages = ("agglomerate", "match", "merge", "relabel")
    single_task_stages = ("merge",)

    def __init__(self, params: dict[str, Any], work_dir: str) -> None:
        from chunkflow.segmentation.agglomerate import _check_thresholds, scoring_function
        from chunkflow.segmentation.stitch import check_margin

        params = {**DEFAULTS, **params}
        params["block_size"] = list(Vec3.of(params["block_size"]))
        params["margin"] = list(check_margin(params["margin"]))
        if any(b <= 0 for b in params["block_size"]):
            raise InvalidParameterError(f"block size {tuple(params['block_size'])} must be positive")
        if not 0.0 <= float(params["threshold"]) <= 1.0:
            raise InvalidParameterError(f"threshold {params['threshold']} must be between 0 and 1")
        _check_thresholds(params["aff_threshold_low"], params["aff_threshold_high"])
        scoring_function(params["scoring"])
        if int(params["min_contact"]) < 1:
            raise InvalidParameterError(f"min contact {params['min_contact']} must be at least 1")
        super().__init__(params, work_dir)

    @property
    def affs(self) -> Any:
        if "affs" not in self._cache:
            from chunkflow.volumes import open_volume

            volume = open_volume(self.params["affs_url"])
            if volume.num_channels != 3:
                raise InvalidParameterError(
                    f"affinity volume {self.params['affs_url']} has {volume.num_channels} channel(s), not 3 (z, y, x)"
                )
            self._cache["affs"] = volume
        return self._cache["affs"]

    @property
    def bbox(self) -> BoundingBox:
        return self.affs.bbox

    def validate(self) -> None:
        super().validate()
        existing_output(self.params["output_url"], self.params["affs_url"], "uint32", self.block_size)

    def prepare(self) -> None:
        super().prepare()
        for sub in ("blocks", "pairs"):
            (self.work_dir / sub).mkdir(exist_ok=True)
        open_or_create(self.params["output_url"], self.params["affs_url"], "uint32", self.block_size)

    def run(self, stage: str, bbox: BoundingBox | None) -> None:
        if stage == "merge":
            self._merge()
        else:
            assert bbox is not None
            {"agglomerate": self._agglomerate, "match": self._match, "relabel": self._relabel}[stage](bbox)

    def _agglomerate(self, block: BoundingBox) -> None:
        from chunkflow.segmentation.stitch import agglomerate_block

        box = block.grow(self.params["margin"]).intersection(self.bbox)
        assert box is not None
        p = self.params
        seg = agglomerate_block(self.affs.read(box), block, float(p["threshold"]), aff_threshold_low=p["aff_threshold_low"],
                                aff_threshold_high=p["aff_threshold_high"], scoring=p["scoring"])  # fmt: skip
        faces = {f"face_{axis}_{'+' if side > 0 else '-'}": slab for (axis, side), slab in seg.faces.items()}
        save_npz(self.work_dir / "blocks" / f"{block}.npz", labels=seg.labels, count=np.array(seg.count), **faces)

    def _block_file(self, block: BoundingBox) -> Any:
        return np.load(self.work_dir / "blocks" / f"{block}.npz")

    def _match(self, block: BoundingBox) -> None:
        from chunkflow.segmentation.stitch import match_faces

        own = self._block_file(block)
        grid = (block.start - self.bbox.start) // self.block_size
        found: dict[str, np.ndarray] = {}
        for axis in range(3):
            step = [0, 0, 0]
            step[axis] = 1
            neighbour = self.block_at(grid + Vec3.of(step))
            if neighbour is None:
                continue
            theirs = self._block_file(neighbour)
            pairs = match_faces(own[f"face_{axis}_+"], theirs[f"face_{axis}_-"], int(self.params["min_contact"]))
            found[f"pairs_{axis}"] = pairs
            found[f"neighbour_{axis}"] = np.array(self.block_index(neighbour))
        save_npz(self.work_dir / "pairs" / f"{block}.npz", **found)

    def _merge(self) -> None:
        from chunkflow.segmentation.stitch import block_offsets, merge_blocks

        blocks = self.blocks()
        counts = [int(self._block_file(b)["count"]) for b in blocks]
        position = {self.block_index(b): k for k, b in enumerate(blocks)}
        pairs = []
        for k, b in enumerate(blocks):
            found = np.load(self.work_dir / "pairs" / f"{b}.npz")
            for axis in range(3):
                if f"pairs_{axis}" in found:
                    pairs.append((k, position[int(found[f"neighbour_{axis}"])], found[f"pairs_{axis}"]))
        table = merge_blocks(counts, pairs)
        save_npz(
            self.work_dir / "table.npz", table=table, offsets=block_offsets(counts), counts=np.array(counts, np.int64)
        )

    def _relabel(self, block: BoundingBox) -> None:
        from chunkflow.segmentation.stitch import relabel_block

        if "table" not in self._cache:
            self._cache["table"] = dict(np.load(self.work_dir / "table.npz"))
            self._cache["order"] = {b: k for k, b in enumerate(self.blocks())}
        table, k = self._cache["table"], self._cache["order"][block]
        labels = self._block_file(block)["labels"]
        out = relabel_block(labels, table["table"], int(table["offsets"][k]), int(table["counts"][k]))
        if out.size and int(out.max()) >= 2**32:
            raise InvalidParameterError(f"block {block} has ids past 2**32; the uint32 output cannot hold them")
        output = self._volume_out()
        output.write(Chunk(out.astype(np.uint32, copy=False), block.start, output.voxel_size, "segmentation"))

    def _volume_out(self) -> Any:
        if "output" not in self._cache:
            from chunkflow.volumes import open_volume

            self._cache["output"] = open_volume(self.params["output_url"])
        return self._cache["output"]

    def count(self) -> int:
        table = np.load(self.work_dir / "table.npz")["table"]
        return int(table.max()) if len(table) else 0


def agglomerate_volume(
    affs_url: str,
    output_url: str,
    block_size: Vec3Like,
    margin: Vec3Like,
    threshold: float = 0.7,
    workers: int = 1,
    queue_name: str | None = None,
    work_dir: str | None = None,
    prepare_only: bool = False,
    dask: Any = None,
    **options: Any,
) -> tuple[AgglomerateJob, dict[str, float]]:
    """Seam-free agglomeration of a whole affinity volume; returns the job and seconds per stage.

    ``options``: ``aff_threshold_low``, ``aff_threshold_high``, ``scoring``, ``min_contact``. Without
    ``queue_name`` the tasks run in ``workers`` local processes; with it, this is the frontend and
    workers run ``chunkflow fetch-task -q QUEUE staged-task --job WORK_DIR delete-task-in-queue``.
    ``prepare_only``: write the manifest, create the output and the queue, and return (no stage runs).
    ``dask``: :class:`chunkflow.jobs.dask_executor.DaskOptions` to run the stages on a Dask cluster.
    """
    work_dir = work_dir or f"{output_url.split('://')[-1].rstrip('/')}.agglomerate-work"
    params = {"affs_url": affs_url, "output_url": output_url, "block_size": list(Vec3.of(block_size)),
              "margin": list(Vec3.of(margin)), "threshold": float(threshold), **options}  # fmt: skip
    job = AgglomerateJob(params, work_dir)
    seconds = run_job(job, workers, queue_name, prepare_only, dask=dask)
    return job, seconds
