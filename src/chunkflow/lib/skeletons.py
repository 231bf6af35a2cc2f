"""Skeleton and mesh files for 1.2.0's ``load-skeleton``, ``save-swc`` and ``download-mesh``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from chunkflow.errors import InvalidParameterError, VolumeFormatError

__all__ = ["load_swc_skeletons", "save_swc_skeletons", "object_ids", "download_meshes"]


def load_swc_skeletons(path: str, offset: Any = None) -> dict[int, Any]:
    """{id: cloud-volume Skeleton} from an ``<id>.swc`` file or a folder of them; ``offset`` (Z Y X, nm)
    is added to the vertices (which cloud-volume holds as X Y Z)."""
    from cloudvolume import Skeleton

    from chunkflow.files import read_text
    from chunkflow.segmentation.skeletons import parse_swc

    files = sorted(Path(path).glob("*.swc")) if os.path.isdir(path) else [Path(path)]
    skeletons = {}
    for file in files:
        if file.suffix != ".swc":
            raise VolumeFormatError(f"load-skeleton reads .swc files, not {file}")
        try:
            object_id = int(file.stem)
        except ValueError:
            raise VolumeFormatError(f"skeleton file {file.name!r} is not named <object id>.swc") from None
        nodes = parse_swc(read_text(file, "skeleton file", "fix or replace it"), str(file))
        skeleton = Skeleton(
            nodes.vertices.astype(np.float32),
            nodes.edges.astype(np.uint32),
            radii=nodes.radii.astype(np.float32),
            vertex_types=np.clip(nodes.types, 0, 255).astype(np.uint8),
            segid=object_id,
        )
        if offset is not None:
            skeleton.vertices += np.asarray(tuple(offset)[::-1], dtype=skeleton.vertices.dtype)
        skeleton.id = object_id
        skeletons[object_id] = skeleton
    return skeletons


def save_swc_skeletons(skeletons: dict[int, Any], prefix: str) -> list[str]:
    """Write ``<prefix><id>.swc`` for each skeleton; returns the file names."""
    if not isinstance(skeletons, dict):
        raise InvalidParameterError(f"save-swc needs an {{id: skeleton}} dict, got {type(skeletons).__name__}")
    names = []
    for object_id, skeleton in skeletons.items():
        name = f"{prefix}{object_id}.swc"
        from chunkflow import files

        files.write_text(name, skeleton.to_swc())
        names.append(name)
    return names


def object_ids(text: str, segmentation: Any, start_rank: int, stop_rank: int | None) -> list[int]:
    """Ids from a segmentation chunk ranked by voxel count (largest first), a file or '3,4,5'."""
    if segmentation is not None:
        ids, counts = np.unique(np.asarray(segmentation), return_counts=True)
        counts, ids = counts[ids != 0], ids[ids != 0]
        return [int(i) for i in ids[np.argsort(-counts, kind="stable")][start_rank:stop_rank]]
    if os.path.isfile(text):
        text = Path(text).read_text()
    try:
        return [int(i) for i in text.replace(" ", "").replace("\n", ",").split(",") if i]
    except ValueError:
        raise InvalidParameterError(
            f"download-mesh -i {text!r}: give ids like 34,25,38, a file of them, or a chunk name with --stop-rank"
        ) from None


def download_meshes(volume_path: str, ids: list[int], prefix: str, out_format: str = "ply") -> list[str]:
    """Write ``<prefix><id>.<ply|obj>`` for each object's mesh; returns the file names. The volume and the
    prefix may be local, ``file://``, ``gs://`` or ``s3://``."""
    from cloudvolume import CloudVolume

    from chunkflow import files

    # a missing volume, bucket or endpoint: one line from chunkflow.files before cloud-volume's traceback
    info = files.read_json(files.join(volume_path, "info"), "volume info", "give a precomputed segmentation volume")
    if not isinstance(info, dict) or not info.get("mesh"):
        raise InvalidParameterError(f'{volume_path} has no meshes (its info has no "mesh" key); run mesh first')
    volume = CloudVolume(volume_path, progress=False)
    try:
        meshes = volume.mesh.get(ids, fuse=False)
    except Exception as exc:  # noqa: BLE001 - cloud-volume raises ValueError, decode and storage errors alike
        raise _mesh_error(exc, ids, volume_path) from None
    if not isinstance(meshes, dict):  # cloud-volume returns the mesh itself for one id
        meshes = {ids[0]: meshes}
    # the prefix's last part starts every file name ("./largest-", "s3://lab/meshes/")
    base, start = files.parent(prefix + "x"), files.basename(prefix + "x")[:-1]
    items: dict[str, bytes] = {}
    for object_id, mesh in meshes.items():
        data = mesh.to_ply() if out_format == "ply" else mesh.to_obj()
        items[f"{start}{object_id}.{out_format}"] = (
            bytes(data) if isinstance(data, (bytes, bytearray)) else data.encode()
        )
    files.write_many(base, items)
    return [f"{prefix}{name[len(start) :]}" for name in items]


def _mesh_error(exc: BaseException, ids: list[int], volume_path: str) -> Exception:
    """cloud-volume's error on reading meshes as one line: ids without a manifest, or a corrupt fragment."""
    import re

    from chunkflow.errors import VolumeNotFoundError
    from chunkflow.redact import redact

    detail = re.sub(r"\x1b\[[0-9;]*m", "", " ".join(str(exc).split()))[:200]  # cloud-volume colours its messages
    if "missing" in detail.lower():
        return VolumeNotFoundError(
            f"no mesh of objects {ids} in {volume_path} ({detail}); run mesh-manifest, or check the ids"
        )
    return VolumeFormatError(
        redact(
            f"cannot read the meshes of objects {ids} from {volume_path} "
            f"({type(exc).__name__}: {detail}); rerun mesh and mesh-manifest"
        )
    )
