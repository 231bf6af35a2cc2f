"""Seam-free agglomeration of an affinity volume as a staged job.

The stages run :mod:`chunkflow.segmentation.stitch`'s per-block steps; each task holds at most
one block's affinities plus margin (``agglomerate``), or a few face slabs (``match``), or one
block's labels (``relabel``):

1. ``agglomerate`` (per block): read the block grown by the margin, :func:`agglomerate_block`,
   store the core's local labels (``blocks/<block>.ckl``, crackle) and its face slabs and id count
   (``faces/<block>.npz``, compressed);
2. ``match`` (per block): :func:`match_faces` across its +z/+y/+x faces -> ``contacts/<block>.npz``;
3. ``up-1 .. up-H``, ``down-H .. down-1`` (per node of 2x2x2 groups, :mod:`chunkflow.jobs.hierarchy`):
   the bounded merge -> ``tables/<block>.npz`` (the block's local -> global ids);
4. ``relabel`` (per block): local -> global ids through the block's own table, written to the output.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.jobs.hierarchy import HierarchicalMerge
from chunkflow.jobs.outputs import check_output, default_work_dir, open_or_create
from chunkflow.jobs.staged import Stage, StagedJob, run_job

__all__ = ["AgglomerateJob", "agglomerate_job", "agglomerate_volume"]

DEFAULTS = {"threshold": 0.7, "aff_threshold_low": 0.0001, "aff_threshold_high": 0.9999, "scoring": "mean",
            "min_contact": 1}  # fmt: skip


class AgglomerateJob(HierarchicalMerge, StagedJob):
    kind = "agglomerate"
    input_keys = ("affs_url",)
    contact_reach = (1, 0)  # a block's pairs file lists contacts with its +z/+y/+x neighbours
    contacts_stage = "match"

    def __init__(self, params: dict[str, Any], work_dir: str) -> None:
        from chunkflow.segmentation.agglomerate import _check_thresholds, scoring_function
        from chunkflow.segmentation.stitch import check_margin

        params = {**DEFAULTS, **params}
        params["block_size"] = list(Vec3.of(params["block_size"]))
        params["margin"] = list(check_margin(params["margin"]))
        if any(b <= 0 for b in params["block_size"]):
            raise InvalidParameterError(f"block size {tuple(params['block_size'])} must be positive")
        if not math.isfinite(float(params["threshold"])) or not 0.0 <= float(params["threshold"]) <= 1.0:
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
    def volume_bbox(self) -> BoundingBox:
        return self.affs.bbox

    def stages(self) -> list[Stage]:
        return [
            Stage.per_block("agglomerate", self._agglomerate, self),
            Stage.per_block("match", self._match, self),
            *self.merge_stages(),
            Stage.per_block("relabel", self._relabel, self),
        ]

    def validate(self) -> None:
        super().validate()
        p = self.params
        check_output(p["output_url"], [p["affs_url"]], self.bbox, "uint32", self.block_size, self.overwrite)

    def prepare(self) -> None:
        p = self.params
        if open_or_create(p["output_url"], p["affs_url"], self.bbox, "uint32", self.block_size, self.overwrite):
            self._cache["created"] = [p["output_url"]]

    def finish(self) -> dict[str, Any]:
        return {"count": self.count()}

    def _agglomerate(self, block: BoundingBox) -> None:
        from chunkflow.segmentation.stitch import agglomerate_block

        box = block.grow(self.params["margin"]).intersection(self.bbox)
        assert box is not None
        p = self.params
        affs = self.affs.read(box)
        self.count_volume_io("read", self.affs, box, affs.array.nbytes)
        if np.issubdtype(affs.array.dtype, np.floating) and not np.isfinite(affs.array).all():
            bad = int(np.count_nonzero(~np.isfinite(affs.array)))
            raise IncompatibleChunkError(
                f"affinities {p['affs_url']} hold {bad} NaN/Inf values in {box}; fix the model or its input "
                "(inference --nonfinite replace counts and zeroes them)"
            )
        seg = agglomerate_block(
            affs,
            block,
            float(p["threshold"]),
            aff_threshold_low=p["aff_threshold_low"],
            aff_threshold_high=p["aff_threshold_high"],
            scoring=p["scoring"],
        )
        import crackle

        faces = {f"face_{axis}_{'+' if side > 0 else '-'}": slab for (axis, side), slab in seg.faces.items()}
        self.save_bytes(f"blocks/{block}.ckl", crackle.compress(np.ascontiguousarray(seg.labels)))
        self.save_arrays(f"faces/{block}.npz", count=np.array(seg.count), **faces)

    def _block_file(self, block: BoundingBox) -> Any:
        return self.load_arrays(f"faces/{block}.npz", "agglomerate", keys=("count",))

    def _match(self, block: BoundingBox) -> None:
        from chunkflow.segmentation.stitch import block_contacts, match_faces

        own = self._block_file(block)
        grid = (block.start - self.bbox.start) // self.block_size
        found: list[tuple[int, np.ndarray]] = []
        for axis in range(3):
            step = [0, 0, 0]
            step[axis] = 1
            neighbour = self.block_at(grid + Vec3.of(step))
            if neighbour is None:
                continue
            theirs = self._block_file(neighbour)
            pairs = match_faces(own[f"face_{axis}_+"], theirs[f"face_{axis}_-"], int(self.params["min_contact"]))
            found.append((self.block_index(neighbour), pairs))
        ends, ids = block_contacts(self.block_index(block), found)
        self.save_contacts(block, int(own["count"]), ends, ids)

    def _relabel(self, block: BoundingBox) -> None:
        import crackle

        from chunkflow.segmentation.hierarchy import apply_table

        table = self.block_table(block)
        labels = self.load_decoded(f"blocks/{block}.ckl", "agglomerate", crackle.decompress)
        if labels.shape != tuple(block.shape) or (labels.size and int(labels.max()) >= len(table)):
            from chunkflow.errors import CorruptFileError

            raise CorruptFileError(
                f"work file {self.work_url('blocks', f'{block}.ckl')} does not match its block {block}; "
                f"delete {self.work_url('done')} and rerun the command"
            )
        if len(table) and int(table.max()) >= 2**32:
            raise InvalidParameterError(f"block {block} has ids past 2**32; the uint32 output cannot hold them")
        out = apply_table(labels, table, np.uint32)
        output = self._volume_out()
        self.count_volume_io("write", output, block, out.nbytes)
        output.write(Chunk(out, block.start, output.voxel_size, "segmentation"))

    def _volume_out(self) -> Any:
        if "output" not in self._cache:
            from chunkflow.volumes import open_volume

            self._cache["output"] = open_volume(self.params["output_url"])
        return self._cache["output"]

    def count(self) -> int:
        if "count" in self.result:
            return int(self.result["count"])
        return self.total_count()


def agglomerate_job(
    affs_url: str,
    output_url: str,
    block_size: Vec3Like,
    margin: Vec3Like,
    threshold: float = 0.7,
    work_dir: str | None = None,
    **options: Any,
) -> AgglomerateJob:
    """The job (not yet run); ``work_dir`` defaults to ``OUTPUT.agglomerate-work`` on the output's storage."""
    work_dir = work_dir or default_work_dir(output_url, "agglomerate-work")
    params = {"affs_url": affs_url, "output_url": output_url, "block_size": list(Vec3.of(block_size)),
              "margin": list(Vec3.of(margin)), "threshold": float(threshold), **options}  # fmt: skip
    return AgglomerateJob(params, work_dir)


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
    keep_work_dir: bool = False,
    overwrite: bool = False,
    start_workers: int = 0,
    **options: Any,
) -> tuple[AgglomerateJob, dict[str, float]]:
    """Seam-free agglomeration of a whole affinity volume; returns the job and seconds per stage.

    ``options``: ``aff_threshold_low``, ``aff_threshold_high``, ``scoring``, ``min_contact``. Without
    ``queue_name`` the tasks run in ``workers`` local processes; with it, this is the frontend and
    workers run ``chunkflow fetch-task -q QUEUE staged-task --job WORK_DIR delete-task-in-queue``.
    ``prepare_only``: write the manifest, create the output and the queue, and return (no stage runs).
    ``dask``: :class:`chunkflow.jobs.dask_executor.DaskOptions` to run the stages on a Dask cluster.
    The work dir (default: beside the output on the same storage, ``OUTPUT.agglomerate-work``) is removed
    when the job ends unless ``keep_work_dir``; ``overwrite`` replaces a mismatched existing output.
    """
    job = agglomerate_job(affs_url, output_url, block_size, margin, threshold, work_dir, **options)
    seconds = run_job(
        job,
        workers,
        queue_name,
        prepare_only,
        dask,
        keep_work_dir=keep_work_dir,
        overwrite=overwrite,
        start_workers=start_workers,
    )
    return job, seconds
