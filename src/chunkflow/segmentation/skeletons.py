"""Ground-truth skeletons for ERL: precomputed skeleton directories, SWC files, or kimimaro.

Every loader returns :class:`~chunkflow.segmentation.erl.Skeletons` with vertices in global
nanometres, Z Y X. Precomputed skeletons (what ``skeletonize`` + ``aggregate-skeleton-fragments``
write, and what cloud-volume/igneous write) and SWC store X Y Z in nanometres; pass
``units="voxel"`` for SWC or skeletons in voxel coordinates, with the voxel size.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError, VolumeNotFoundError
from chunkflow.segmentation.erl import Skeletons
from chunkflow.volumes.base import local_path

__all__ = ["load_skeletons", "skeletons_from_labels"]


def _to_zyx_nm(vertices_xyz: np.ndarray, units: str, voxel_size: tuple[float, float, float] | None) -> np.ndarray:
    zyx = np.asarray(vertices_xyz, np.float64).reshape(-1, 3)[:, ::-1]
    if units == "voxel":
        if voxel_size is None:
            raise InvalidParameterError("skeletons in voxel units need the voxel size of the segmentation")
        zyx = zyx * np.asarray(voxel_size, np.float64)
    return zyx


def _precomputed_dir(path: Path) -> tuple[Path, dict] | None:
    """The skeleton directory and its info: ``path`` itself, or the ``skeletons`` of a volume's info."""
    info_path = path / "info"
    if not info_path.is_file():
        # a local volume without its own info (skeletonize into a plain directory)
        return _precomputed_dir(path / "skeletons") if (path / "skeletons" / "info").is_file() else None
    info = json.loads(info_path.read_text())
    if info.get("@type") == "neuroglancer_skeletons":
        return path, info
    sub = info.get("skeletons")
    if isinstance(sub, str) and (path / sub / "info").is_file():
        return path / sub, json.loads((path / sub / "info").read_text())
    return None


def _read_precomputed(directory: Path, info: dict) -> list[tuple[int, np.ndarray, np.ndarray]]:
    from cloudvolume import Skeleton

    attributes = info.get("vertex_attributes") or []
    transform = np.asarray(info.get("transform") or [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], np.float64).reshape(3, 4)
    parts = []
    for file in sorted(directory.iterdir(), key=lambda p: p.name):
        if not file.is_file() or not file.name.isdigit():
            continue  # info, fragments/, spatial index files
        skeleton = Skeleton.from_precomputed(file.read_bytes(), segid=int(file.name), vertex_attributes=attributes)
        xyz = skeleton.vertices.astype(np.float64) @ transform[:, :3].T + transform[:, 3]
        parts.append((int(file.name), xyz, skeleton.edges))
    return parts


def _read_swc(files: list[Path]) -> list[tuple[int, np.ndarray, np.ndarray]]:
    from cloudvolume import Skeleton

    parts = []
    for number, file in enumerate(files):
        skeleton = Skeleton.from_swc(file.read_text())
        obj = int(file.stem) if file.stem.isdigit() else number + 1
        parts.append((obj, skeleton.vertices, skeleton.edges))
    return parts


def load_skeletons(path: str | Path, units: str = "nm",
                   voxel_size: tuple[float, float, float] | None = None) -> Skeletons:  # fmt: skip
    """Read skeletons from a precomputed skeleton directory (or a precomputed volume whose info
    names one), one ``.swc`` file, or a directory of ``.swc`` files (object id = file stem when
    it is a number).

    Parameters
    ----------
    units : "nm" or "voxel"
        Units of the stored vertices (X Y Z); voxel coordinates are multiplied by ``voxel_size`` (Z Y X).
    """
    if units not in ("nm", "voxel"):
        raise InvalidParameterError(f"skeleton units {units!r} must be nm or voxel")
    local = local_path(str(path))
    if not local.exists():
        raise VolumeNotFoundError(f"skeletons not found at {path}; give a precomputed skeleton directory or SWC files")
    if local.is_file():
        if local.suffix.lower() != ".swc":
            raise InvalidParameterError(
                f"{path} is not an .swc file; give SWC files or a precomputed skeleton directory"
            )
        parts = _read_swc([local])
    elif (found := _precomputed_dir(local)) is not None:
        parts = _read_precomputed(*found)
    else:
        parts = _read_swc(sorted(local.glob("*.swc")))
    if not parts:
        raise VolumeNotFoundError(f"no skeletons in {path} (no precomputed skeleton info and no .swc files)")
    return Skeletons.from_parts([(obj, _to_zyx_nm(xyz, units, voxel_size), edges) for obj, xyz, edges in parts])


def skeletons_from_labels(labels: Chunk, dust_threshold: int = 1000, scale: float = 4.0,
                          const: float = 500.0) -> Skeletons:  # fmt: skip
    """kimimaro TEASAR skeletons of every ground-truth object larger than ``dust_threshold`` voxels
    (same parameters as the ``skeletonize`` operator); vertices in global nanometres."""
    import kimimaro

    if labels.ndim != 3 or labels.dtype.kind not in "ui":
        raise IncompatibleChunkError(f"skeletons need 3D integer labels; got {labels.dtype} with shape {labels.shape}")
    skeletons = kimimaro.skeletonize(
        np.asfortranarray(labels.array.T), teasar_params={"scale": scale, "const": const},
        anisotropy=labels.voxel_size.xyz, dust_threshold=dust_threshold, progress=False, parallel=1,
    )  # fmt: skip
    offset_nm = np.asarray(labels.voxel_offset, np.float64) * np.asarray(labels.voxel_size, np.float64)
    parts = [
        (int(obj), s.vertices[:, ::-1].astype(np.float64) + offset_nm, s.edges) for obj, s in sorted(skeletons.items())
    ]
    return Skeletons.from_parts(parts)
