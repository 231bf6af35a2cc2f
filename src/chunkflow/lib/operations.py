"""Pure functions behind chunkflow 1.2.0's smaller operators (task control, files, points, meshes)."""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from chunkflow import files
from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox, Vec3

__all__ = [
    "adjust_corners", "touch", "open_precomputed", "blocks_all_exist", "cleanup_files", "quantize", "multiply",
    "read_json", "log_summary",
]  # fmt: skip

log = logging.getLogger(__name__)


def adjust_corners(bbox: BoundingBox, corner_offset: tuple[int, ...]) -> BoundingBox:
    """``start + corner_offset[:3]``, ``stop + corner_offset[3:]``."""
    return BoundingBox(bbox.start + corner_offset[:3], bbox.stop + corner_offset[3:])


def touch(path: str) -> None:
    """Create an empty marker file (and its folder) where none exists; a local path, gs:// or s3://."""
    from chunkflow import files

    files.create_exclusive(path, b"")


def open_precomputed(url: str, operator: str, mip: int = 0) -> Any:
    """The precomputed volume at ``url``: another format, a missing or garbage info, an absent mip or an
    unreachable store is one line naming ``url`` (cloud-volume's own errors never reach the user)."""
    from chunkflow.errors import VolumeFormatError
    from chunkflow.volumes.precomputed import PrecomputedVolume
    from chunkflow.volumes.registry import format_of

    if format_of(url) != "precomputed":
        raise VolumeFormatError(f"{operator} reads precomputed volumes; {url} is a {format_of(url)} volume")
    return PrecomputedVolume.open(url, mip=mip)


def blocks_all_exist(volume_path: str, bbox: BoundingBox, mip: int = 0) -> bool:
    """Whether every storage block of a precomputed volume inside ``bbox`` (clipped to the volume) is
    written. A missing, corrupt or unreachable volume is one line (:class:`~chunkflow.errors.ChunkflowError`)."""
    from cloudvolume.lib import Bbox

    from chunkflow.errors import StorageError
    from chunkflow.redact import redact

    volume = open_precomputed(volume_path, "skip-task-by-blocks-in-volume", mip)
    box = Bbox(bbox.start.xyz, bbox.stop.xyz)
    box = Bbox.intersection(box, volume.cv.meta.bounds(mip))
    if box.subvoxel():
        return False
    try:
        return all(volume.cv.exists(box).values())
    except Exception as exc:  # noqa: BLE001 - cloud-volume passes on its storage library's errors
        detail = " ".join(str(exc).split())[:200]
        raise StorageError(
            redact(
                f"cannot list the blocks of {volume_path} ({type(exc).__name__}: {detail}); "
                "check the URL, the credentials and that the store is reachable"
            )
        ) from None


def cleanup_files(directory: str, mode: str, suffix: str | None) -> int:
    """Remove the files of ``directory`` (ending in ``suffix``): all (``exist``), the empty ones
    (``empty``) or the non-empty ones (``not-empty``). Returns the number removed."""
    removed = 0
    for entry in os.scandir(os.path.expanduser(directory)):
        if not entry.is_file() or (suffix and not entry.name.endswith(suffix)):
            continue
        size = entry.stat().st_size
        if mode == "exist" or (mode == "empty" and size == 0) or (mode == "not-empty" and size > 0):
            from chunkflow import files

            files.delete(entry.path)
            removed += 1
    return removed


def quantize(chunk: Chunk, mode: str = "xy") -> Chunk:
    """A uint8 image from an affinity map (mean of x and y channels, or the z channel) or a probability
    map (times 255), as 1.2.0's ``quantize``."""
    if chunk.is_affinity_map:
        from chunkflow.compat.affinity_map import AffinityMap
        from chunkflow.compat.chunk import as_core

        return as_core(AffinityMap.from_chunk(chunk.with_array(chunk.array.astype(np.float32))).quantize(mode=mode))
    if chunk.is_probability_map:
        array = (np.asarray(chunk) * 255.0).astype(np.uint8)
        if array.ndim == 4:
            if array.shape[0] != 1:
                raise IncompatibleChunkError(f"quantize: a probability map needs 1 channel, got {array.shape[0]}")
            array = array[0]
        return chunk.with_array(array, layer_type="image")
    raise IncompatibleChunkError(f"quantize takes an affinity or probability map, got {chunk.layer_type} {chunk.dtype}")


def multiply(chunk: Chunk, multiplier: Chunk) -> Chunk:
    """``chunk * multiplier`` (broadcast over channels), placed like ``chunk``."""
    if chunk.spatial_shape != multiplier.spatial_shape:
        raise IncompatibleChunkError(f"multiply: shapes differ, {chunk.bbox} and {multiplier.bbox}")
    return chunk.with_array(chunk.array * multiplier.array)


def read_json(path: str, bbox: BoundingBox | None) -> Any:
    """Read ``path``; a path not ending in .json names ``<dir>/<bbox>.json`` or ``<prefix><bbox>.json``."""
    if not path.endswith(".json"):
        if bbox is None:
            raise InvalidParameterError(f"load-json {path!r}: not a .json file and the task has no box to name one")
        path = os.path.join(path, f"{bbox}.json") if os.path.isdir(path) else f"{path}{bbox}.json"
    if not os.path.isfile(path):
        raise VolumeNotFoundError(f"JSON file {path!r} does not exist")
    return files.read_json(path, "JSON file", "fix it or give another --file-path")


def log_summary(log_dir: str, output_size: tuple[int, int, int] | None = None) -> dict[str, dict[str, float]]:
    """Per-operator count, mean, max and total seconds over the JSON task logs in ``log_dir`` (1.2.0's
    ``{"timer": {operator: seconds}}``, or a flat ``{operator: seconds}``); with ``output_size``, also
    voxels per second of the whole chain (``_total``)."""
    times: dict[str, list[float]] = {}
    for entry in sorted(os.scandir(log_dir), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        record = files.read_json(
            entry.path, "task log", "delete it (a worker killed while writing it) and rerun the summary"
        )
        timer = record.get("timer", record) if isinstance(record, dict) else {}
        for name, seconds in timer.items():
            if isinstance(seconds, (int, float)):
                times.setdefault(name, []).append(float(seconds))
    if not times:
        raise VolumeNotFoundError(f"no JSON task logs with timings in {log_dir!r}")
    summary = {
        name: {"count": len(v), "mean": float(np.mean(v)), "max": float(max(v)), "total": float(sum(v))}
        for name, v in sorted(times.items())
    }
    if output_size is not None:
        total = sum(s["total"] for s in summary.values())
        tasks = max(s["count"] for s in summary.values())
        summary["_total"] = {"count": tasks, "total": total,
                             "voxels_per_second": Vec3.of(output_size).prod() * tasks / total if total else 0.0}  # fmt: skip
    return summary
