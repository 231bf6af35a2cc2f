"""Staged jobs: what a job declares (stages of independent tasks) and the state it keeps in its work dir.

A job (:class:`StagedJob`) is a kind (``global-cc``, ``agglomerate``, a plug-in's), parameters (volumes,
block size, thresholds) and a work dir, which may be a plain path, ``file://``, ``gs://`` or ``s3://``
(every read and write goes through :mod:`chunkflow.files`). The job lists its stages per instance
(:meth:`StagedJob.stages`): each :class:`Stage` has a name, a function run on one task and the task
list (any boxes: blocks, unions of blocks, or ``None`` for a one-task stage). The stages run in order;
the tasks of one stage are independent. Executors (:mod:`chunkflow.jobs.executors`: in-process, a local
process pool, a queue, Dask) run any job; they share what lives here:

- the **manifest** ``<work_dir>/manifest.json`` (kind, job id, parameters), created with
  :func:`chunkflow.files.create_exclusive`; the job id is a hash of kind and parameters, so a rerun with
  the same parameters is the same job and another job in the same work dir is refused;
- **done markers** ``<work_dir>/done/<stage>/<box|all>`` created exclusively when a task has returned
  (content: the job id); a rerun runs only the tasks without one;
- **work files** (:meth:`StagedJob.save_arrays` / :meth:`StagedJob.load_arrays`), compressed, read back
  through one place that turns a missing, truncated or foreign file into one line naming the file and
  the fix.

A queue message names work, never places: ``{"bbox": ..., "job": JOB_ID, "stage": STAGE}``; the worker
(``chunkflow fetch-task -q Q staged-task --job WORK_DIR delete-task-in-queue``) rebuilds the job from
the manifest and refuses anything else (:func:`run_message` raises :class:`ForeignTaskError`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from chunkflow import files
from chunkflow.errors import ChunkflowError, CorruptFileError, InvalidParameterError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.queues.messages import PoisonMessageError
from chunkflow.registry import Registry

__all__ = ["StagedJob", "Stage", "ForeignTaskError", "JOB_KINDS", "load_job", "run_task", "run_message",
           "task_message", "manifest_url", "worker_command", "run_job", "job_target"]  # fmt: skip

log = logging.getLogger(__name__)

#: job kind -> "module:Class" (built-ins; plug-ins add theirs through the ``chunkflow.jobs`` entry points
#: or ``JOB_KINDS.register``); the manifest's ``kind`` picks the class
JOB_KINDS: Registry[type[StagedJob]] = Registry(
    "staged-job kind",
    "chunkflow.jobs",
    {"global-cc": "chunkflow.jobs.global_cc:GlobalCCJob", "agglomerate": "chunkflow.jobs.agglomerate:AgglomerateJob"},
)
_STAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ForeignTaskError(PoisonMessageError):
    """A task message that does not belong to the job this worker runs."""


Box = BoundingBox | None


@dataclass(frozen=True)
class Stage:
    """One stage: ``run(box)`` for each of ``tasks()``; ``contains(box)`` says whether a box is a task.

    ``family`` groups stages whose tasks cost alike (the levels of a hierarchical merge) for the plan;
    ``scales="volume"`` marks a one-task stage whose cost grows with the whole volume.
    """

    name: str
    run: Callable[[Box], None]
    tasks: Callable[[], Sequence[Box]] = lambda: (None,)
    contains: Callable[[Box], bool] | None = None
    family: str = ""
    scales: str = "task"
    #: the number of tasks without listing them (a petavoxel job has millions of blocks); default len(tasks())
    count: Callable[[], int] | None = None

    @classmethod
    def per_block(cls, name: str, run: Callable[[BoundingBox], None], job: StagedJob, **kw: Any) -> Stage:
        """One task per block of ``job`` (``run`` gets the block's box)."""

        def run_block(box: Box) -> None:
            assert box is not None  # messages are checked against contains() first
            run(box)

        kw.setdefault("count", lambda: job.grid_shape().prod())
        return cls(name, run_block, job.blocks, lambda box: box is not None and job.is_block(box), **kw)

    @classmethod
    def single(cls, name: str, run: Callable[[], None], **kw: Any) -> Stage:
        return cls(name, lambda box: run(), lambda: (None,), lambda box: box is None, **kw)

    def task_count(self) -> int:
        return self.count() if self.count is not None else len(self.tasks())

    def is_task(self, box: Box) -> bool:
        if self.contains is not None:
            return self.contains(box)
        return box in set(self.tasks())

    @property
    def kind(self) -> str:
        return self.family or self.name


def check_work_dir(url: str) -> str:
    """``url`` as a work dir: a local path, ``file://``, ``gs://`` or ``s3://`` (trailing ``/`` dropped)."""
    text = url.rstrip("/") or url
    if not (files.is_local(text) or files.is_remote(text)):
        raise InvalidParameterError(
            f"work dir {text!r}: scheme {text.split('://')[0]}:// is not a storage chunkflow writes to; "
            "use a local path, file://, gs:// or s3:// (--work-dir)"
        )
    if files.is_remote(text) and not text.split("://", 1)[1].strip("/"):
        raise InvalidParameterError(f"work dir {text!r} names no bucket; use {text.split('://')[0]}://BUCKET/PATH")
    return text


def manifest_url(work_dir: str) -> str:
    return files.join(work_dir, "manifest.json")


def job_target(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


class StagedJob(ABC):
    """A job of ordered stages; subclasses declare :meth:`stages` and :attr:`volume_bbox`."""

    kind: ClassVar[str]
    #: params that name volumes the job writes (checked against the inputs, redirected by the plan's sample)
    output_keys: ClassVar[tuple[str, ...]] = ("output_url",)
    input_keys: ClassVar[tuple[str, ...]] = ("input_url",)

    def __init__(self, params: dict[str, Any], work_dir: str) -> None:
        self.params = params
        self.work_dir = check_work_dir(str(work_dir))
        self._cache: dict[str, Any] = {}
        self.result: dict[str, Any] = {}
        #: per-task I/O counts (work files and volumes), reset by :func:`run_task`; the plan reads them
        self.io: Counter[str] = Counter()
        #: set by the frontend: replace an existing output that does not match instead of refusing
        self.overwrite = False

    # ---- identity and manifest ------------------------------------------------------------------
    @property
    def job_id(self) -> str:
        text = json.dumps({"kind": self.kind, "params": self.params}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def manifest(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "job_id": self.job_id,
            "params": self.params,
            "stages": [s.name for s in self.stages()],
            "class": job_target(type(self)),
        }

    def write_manifest(self) -> bool:
        """Create ``manifest.json`` (whether this call created it); refuse a work dir holding another job."""
        url = manifest_url(self.work_dir)
        data = json.dumps(self.manifest(), indent=1, sort_keys=True).encode()
        if files.create_exclusive(url, data):
            return True
        old = files.read_json(url, "job manifest", f"delete {self.work_dir} or use another --work-dir")
        old_id = old.get("job_id") if isinstance(old, dict) else None
        if old_id != self.job_id:
            params = old.get("params") if isinstance(old, dict) else None
            raise InvalidParameterError(
                f"work dir {self.work_dir} holds job {old_id} with other parameters ({params}); "
                "use another --work-dir or delete that one"
            )
        return False

    # ---- geometry -------------------------------------------------------------------------------
    @property
    @abstractmethod
    def volume_bbox(self) -> BoundingBox:
        """The input's box; :attr:`bbox` is this cut to ``params["region"]`` where one is given."""

    @property
    def bbox(self) -> BoundingBox:
        if "bbox" not in self._cache:
            box = self.volume_bbox
            region = self.params.get("region")
            if region is not None:
                cut = box.intersection(BoundingBox.from_string(region))
                if cut is None:
                    raise InvalidParameterError(f"region {region} lies outside the input {box}")
                box = cut
            self._cache["bbox"] = box
        return self._cache["bbox"]

    @property
    def block_size(self) -> Vec3:
        return Vec3.of(self.params["block_size"])

    def grid_shape(self) -> Vec3:
        return self.bbox.size.ceildiv(self.block_size)

    def blocks(self) -> list[BoundingBox]:
        return self.bbox.split(self.block_size)

    def block_index(self, block: BoundingBox) -> int:
        grid = (block.start - self.bbox.start) // self.block_size
        shape = self.grid_shape()
        return (grid.z * shape.y + grid.y) * shape.x + grid.x

    def block_at(self, grid: Vec3) -> BoundingBox | None:
        if any(g < 0 or g >= s for g, s in zip(grid, self.grid_shape())):
            return None
        start = self.bbox.start + grid * self.block_size
        return BoundingBox(start, (start + self.block_size).minimum(self.bbox.stop))

    def is_block(self, bbox: BoundingBox) -> bool:
        if not self.bbox.contains(bbox):
            return False
        return self.block_at((bbox.start - self.bbox.start) // self.block_size) == bbox

    # ---- stages ---------------------------------------------------------------------------------
    @abstractmethod
    def stages(self) -> list[Stage]:
        """The stages in order, computed for this instance (deterministic from params and geometry)."""

    def stage(self, name: str) -> Stage:
        for stage in self._stages():
            if stage.name == name:
                return stage
        raise KeyError(name)

    def _stages(self) -> list[Stage]:
        if "stages" not in self._cache:
            stages = self.stages()
            names = [s.name for s in stages]
            bad = [n for n in names if not _STAGE_NAME.match(n)]
            if bad or len(set(names)) != len(names):
                raise InvalidParameterError(f"{self.kind} job: stage names {names} must be unique [a-z0-9_-]+")
            self._cache["stages"] = stages
        return list(self._cache["stages"])

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self._stages()]

    # ---- hooks ----------------------------------------------------------------------------------
    def validate(self) -> None:
        """Check inputs and outputs (read only) before anything is written; raise one line."""
        if self.bbox.volume == 0:
            raise InvalidParameterError(f"{self.kind} job: the input volume is empty ({self.bbox})")

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Create the outputs (frontend only, after every check, before any task)."""

    def finish(self) -> dict[str, Any]:
        """After the last stage, before the work dir is removed: the job's result (e.g. a count)."""
        return {}

    def created(self) -> list[str]:
        """Storage URLs :meth:`prepare` created (removed again when the job is refused)."""
        return list(self._cache.get("created", []))

    # ---- work files -----------------------------------------------------------------------------
    def work_url(self, *parts: str) -> str:
        return files.join(self.work_dir, *parts)

    def _fix(self, stage: str | None) -> str:
        if stage is None:
            return f"delete the work dir {self.work_dir} and rerun the command"
        return f"delete {self.work_url('done', stage)} and rerun the command to redo stage {stage}"

    def save_bytes(self, name: str, data: bytes) -> None:
        files.write_bytes(self.work_url(name), data)
        self.io["work_writes"] += 1
        self.io["work_write_bytes"] += len(data)

    def load_bytes(self, name: str, stage: str | None = None) -> bytes:
        url = self.work_url(name)
        try:
            data = files.read_bytes(url, "work file", f"it is written by stage {stage}; {self._fix(stage)}")
        except CorruptFileError as exc:
            raise CorruptFileError(f"{exc}; {self._fix(stage)}") from None
        self.io["work_reads"] += 1
        self.io["work_read_bytes"] += len(data)
        return data

    def load_decoded(self, name: str, stage: str | None, decode: Callable[[bytes], Any]) -> Any:
        """``decode(bytes)`` of a work file in your own codec (crackle); its failure is one line naming the file."""
        data = self.load_bytes(name, stage)
        try:
            return decode(data)
        except ChunkflowError:
            raise
        except Exception as exc:  # noqa: BLE001 - every codec raises its own kinds: one line
            raise CorruptFileError(
                f"work file {self.work_url(name)} is damaged or not ours ({type(exc).__name__}); {self._fix(stage)}"
            ) from None

    def save_arrays(self, name: str, **arrays: np.ndarray) -> None:
        """``arrays`` as a compressed ``.npz`` at ``<work_dir>/<name>``."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        self.save_bytes(name, buffer.getvalue())

    def load_arrays(self, name: str, stage: str | None = None, keys: Iterable[str] = ()) -> dict[str, np.ndarray]:
        """The arrays of a work file; missing, truncated or foreign: one line naming it and the fix."""
        data = self.load_bytes(name, stage)
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except Exception as exc:  # noqa: BLE001 - zip, zlib and format errors of a damaged file: one line
            raise CorruptFileError(
                f"work file {self.work_url(name)} is damaged or not ours ({type(exc).__name__}); {self._fix(stage)}"
            ) from None
        missing = [k for k in keys if k not in arrays]
        if missing:
            raise CorruptFileError(f"work file {self.work_url(name)} lacks {missing}; {self._fix(stage)}")
        return arrays

    def count_volume_io(self, kind: str, volume: Any, box: BoundingBox, nbytes: int) -> None:
        """Count a volume ``read`` or ``write`` of ``box`` for the plan: the storage blocks it touches."""
        block, origin = Vec3.of(volume.block_size), volume.bbox.start
        low, high = (box.start - origin) // block, (box.stop - origin - (1, 1, 1)) // block
        self.io[f"volume_{kind}s"] += (high - low + (1, 1, 1)).prod()
        self.io[f"volume_{kind}_bytes"] += nbytes

    # ---- done markers ---------------------------------------------------------------------------
    def done_marker(self, stage: str, bbox: Box) -> str:
        return self.work_url("done", stage, "all" if bbox is None else str(bbox))

    def is_done(self, stage: str, bbox: Box) -> bool:
        return files.exists(self.done_marker(stage, bbox))

    def mark_done(self, stage: str, bbox: Box) -> bool:
        return files.create_exclusive(self.done_marker(stage, bbox), self.job_id.encode())

    def missing(self, stage: str, verify: bool = True) -> list[Box]:
        """The tasks of ``stage`` without a done marker (one listing); ``verify`` reads the markers found
        and refuses one that is not this job's."""
        prefix = self.work_url("done", stage)
        names = set(files.list_names(prefix))
        tasks = list(self.stage(stage).tasks())
        done = [t for t in tasks if ("all" if t is None else str(t)) in names]
        if verify and done:
            keys = ["all" if t is None else str(t) for t in done]
            for key, content in files.read_many(prefix, keys).items():
                if content is not None and content != self.job_id.encode():
                    raise CorruptFileError(
                        f"done marker {files.join(prefix, key)} is not one this job ({self.job_id}) wrote; "
                        "delete the marker (or the work dir) and rerun"
                    )
        finished = set(done)
        return [t for t in tasks if t not in finished]

    def remove_work_dir(self) -> int:
        return files.delete_prefix(self.work_dir)


def load_job(where: str, target: str | None = None) -> StagedJob:
    """The job of a manifest: its work dir or ``manifest.json`` (any storage chunkflow.files takes).

    ``target`` (``"module:Class"``): registers the kind first (process-pool and Dask workers of a job
    class that is not a built-in or an entry point).
    """
    where = str(where).rstrip("/")
    url = where if where.endswith("manifest.json") else manifest_url(where)
    fix = "rerun the frontend command (e.g. agglomerate-volume ... --prepare), or delete the work dir"
    try:
        data = files.read_json(url, "job manifest", fix)
    except VolumeNotFoundError:
        raise InvalidParameterError(
            f"no job manifest at {url}; the frontend writes it (e.g. agglomerate-volume)"
        ) from None
    try:
        kind, params, job_id = data["kind"], data["params"], data["job_id"]
        if not isinstance(params, dict) or not isinstance(kind, str):
            raise TypeError("kind must be a string and params an object")
    except (KeyError, TypeError) as exc:
        raise CorruptFileError(f"job manifest {url} is not valid ({type(exc).__name__}: {exc}); {fix}") from None
    if target is not None and kind not in JOB_KINDS:
        JOB_KINDS.register(kind, target)
    if kind not in JOB_KINDS:
        raise CorruptFileError(f"job manifest {url} names kind {kind!r}, not one of {JOB_KINDS.names()}; {fix}")
    try:
        job = JOB_KINDS.load(kind)(params, files.parent(url))
    except ChunkflowError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(f"job manifest {url} is not valid ({type(exc).__name__}: {exc}); {fix}") from None
    if job_id != job.job_id:
        raise CorruptFileError(f"job manifest {url} names job {job_id} but its parameters make {job.job_id}; {fix}")
    return job


def run_task(job: StagedJob, stage: str, bbox: Box) -> bool:
    """Run one task unless its done marker exists; the marker is created only once it has returned."""
    if job.is_done(stage, bbox):
        return False
    start = time.perf_counter()
    job.stage(stage).run(bbox)
    job.mark_done(stage, bbox)
    log.debug("%s %s %s: %.2f s", job.kind, stage, bbox, time.perf_counter() - start)
    return True


def task_message(job: StagedJob, stage: str, bbox: Box) -> str:
    from chunkflow.queues.messages import encode

    return encode(bbox, job=job.job_id, stage=stage)


def run_message(job: StagedJob, bbox: Box, params: dict[str, Any]) -> bool:
    """Run a queue message's task after checking it belongs to ``job``; refuse anything else."""
    where = f"(worker job {job.job_id}, manifest {manifest_url(job.work_dir)})"
    extra = sorted(set(params) - {"job", "stage"})
    if extra:
        raise ForeignTaskError(f"task message has fields {extra} a staged task never carries {where}; refused")
    if params.get("job") != job.job_id:
        raise ForeignTaskError(f"task message names job {params.get('job')!r}, not this worker's {where}; refused")
    stage = params.get("stage")
    if stage not in job.stage_names:
        raise ForeignTaskError(
            f"task message names stage {stage!r}, not one of {', '.join(job.stage_names)} {where}; refused"
        )
    if not job.stage(stage).is_task(bbox):
        raise ForeignTaskError(f"task message box {bbox} is not a task of stage {stage} {where}; refused")
    return run_task(job, stage, bbox)


def worker_command(job: StagedJob, queue_name: str) -> str:
    """The worker chain that consumes this job's tasks."""
    return f"chunkflow fetch-task -q {queue_name} staged-task --job {job.work_dir} delete-task-in-queue"


def run_job(
    job: StagedJob,
    workers: int = 1,
    queue_name: str | None = None,
    prepare_only: bool = False,
    dask: Any = None,
    **options: Any,
) -> dict[str, float]:
    """Check, prepare and run every stage of ``job``; see :func:`chunkflow.jobs.executors.run_job`."""
    from chunkflow.jobs.executors import run_job as run

    return run(job, workers, queue_name, prepare_only, dask, **options)
