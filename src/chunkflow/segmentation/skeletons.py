"""Ground-truth skeletons for ERL: precomputed skeleton directories, SWC files, or kimimaro.

Every loader returns :class:`~chunkflow.segmentation.erl.Skeletons` with vertices in global
nanometres, Z Y X. Precomputed skeletons (what ``skeletonize`` + ``aggregate-skeleton-fragments``
write, and what cloud-volume/igneous write) and SWC store X Y Z in nanometres; pass
``units="voxel"`` for SWC or skeletons in voxel coordinates, with the voxel size.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from chunkflow import files
from chunkflow.chunk.base import Chunk
from chunkflow.errors import CorruptFileError, IncompatibleChunkError, InvalidParameterError, VolumeNotFoundError
from chunkflow.files import local_path
from chunkflow.segmentation.erl import Skeletons

__all__ = ["load_skeletons", "skeletons_from_labels", "parse_swc", "SwcNodes"]

_FIX = "fix or replace it, or give --skeletons another path"


def _to_zyx_nm(vertices_xyz: np.ndarray, units: str, voxel_size: tuple[float, float, float] | None) -> np.ndarray:
    zyx = np.asarray(vertices_xyz, np.float64).reshape(-1, 3)[:, ::-1]
    if units == "voxel":
        if voxel_size is None:
            raise InvalidParameterError("skeletons in voxel units need the voxel size of the segmentation")
        zyx = zyx * np.asarray(voxel_size, np.float64)
    return zyx


def _corrupt(file: Path | str, why: str, fix: str = _FIX) -> CorruptFileError:
    return CorruptFileError(f"skeleton file {file} {why}; {fix}")


def _precomputed_dir(path: Path) -> tuple[Path, dict] | None:
    """The skeleton directory and its info: ``path`` itself, or the ``skeletons`` of a volume's info."""
    info_path = path / "info"
    if not info_path.is_file():
        # a local volume without its own info (skeletonize into a plain directory)
        return _precomputed_dir(path / "skeletons") if (path / "skeletons" / "info").is_file() else None
    info = _read_info(info_path)
    if info.get("@type") == "neuroglancer_skeletons":
        return path, info
    sub = info.get("skeletons")
    if isinstance(sub, str) and (path / sub / "info").is_file():
        return path / sub, _read_info(path / sub / "info")
    return None


def _read_info(path: Path) -> dict:
    info = files.read_json(path, "skeleton info", _FIX)
    if not isinstance(info, dict):
        raise _corrupt(path, f"is a JSON {type(info).__name__}, not an info object")
    return info


def _read_precomputed(directory: Path, info: dict) -> list[tuple[int, np.ndarray, np.ndarray]]:
    from cloudvolume import Skeleton

    attributes = info.get("vertex_attributes") or []
    try:
        transform = np.asarray(info.get("transform") or [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], np.float64).reshape(3, 4)
        if not np.isfinite(transform).all() or not isinstance(attributes, list):
            raise ValueError
    except (TypeError, ValueError):
        raise _corrupt(
            directory / "info", "has no valid 'transform' (12 numbers) or 'vertex_attributes' (a list)"
        ) from None
    parts = []
    for file in sorted(directory.iterdir(), key=lambda p: p.name):
        if not file.is_file() or not file.name.isdigit():
            continue  # info, fragments/, spatial index files
        try:
            skeleton = Skeleton.from_precomputed(
                files.read_bytes(file), segid=int(file.name), vertex_attributes=attributes
            )
        except Exception as exc:  # noqa: BLE001 - cloud-volume raises many kinds for truncated or foreign bytes
            raise _corrupt(file, f"is not a precomputed skeleton ({type(exc).__name__})") from None
        xyz = skeleton.vertices.astype(np.float64) @ transform[:, :3].T + transform[:, 3]
        edges = np.asarray(skeleton.edges, np.int64).reshape(-1, 2)
        if not np.isfinite(xyz).all() or (edges.size and (edges.min() < 0 or edges.max() >= len(xyz))):
            raise _corrupt(file, "has non-finite vertices or edges to vertices it does not hold")
        parts.append((int(file.name), xyz, edges))
    return parts


class SwcNodes(NamedTuple):
    """One SWC file: ``vertices`` (N, 3) X Y Z float64, ``edges`` (M, 2) node indices (parent, child),
    ``radii`` (N,) float64 and ``types`` (N,) int64 (SWC's structure identifiers)."""

    vertices: np.ndarray
    edges: np.ndarray
    radii: np.ndarray
    types: np.ndarray


def parse_swc(text: str, name: str = "<swc>") -> SwcNodes:
    """The nodes and edges of one SWC file's text.

    SWC: one node per line, ``id type x y z radius parent`` separated by any white space (extra
    columns are ignored), ``#`` comments; ``parent`` is -1 for a root or the id of another node
    of the file. Anything else is a :class:`~chunkflow.errors.CorruptFileError` naming the file
    (``name``) and the line.
    """
    ids: list[int] = []
    parents: list[int] = []
    rows: list[tuple[float, float, float, float, int]] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        try:
            if len(fields) < 7:
                raise ValueError(f"{len(fields)} columns, not 7 (id type x y z radius parent)")
            node, kind, parent = int(fields[0]), int(float(fields[1])), int(fields[6])
            x, y, z, radius = (float(v) for v in fields[2:6])
            if not all(math.isfinite(v) for v in (x, y, z)):
                raise ValueError(f"position {' '.join(fields[2:5])} is not finite")
        except ValueError as exc:
            why = str(exc) if "column" in str(exc) or "finite" in str(exc) else "a column that is not a number"
            raise _corrupt(name, f"line {number} is not an SWC node ({why}): {line.strip()[:60]!r}") from None
        ids.append(node)
        parents.append(parent)
        rows.append((x, y, z, radius, kind))
    if not ids:
        raise _corrupt(name, "holds no nodes")
    index = {node: i for i, node in enumerate(ids)}
    if len(index) != len(ids):
        raise _corrupt(name, "repeats a node id")
    edges = []
    for i, parent in enumerate(parents):
        if parent < 0:
            continue
        if parent not in index:
            raise _corrupt(name, f"node {ids[i]} has parent {parent}, which is not a node of the file")
        edges.append((index[parent], i))
    table = np.asarray(rows, np.float64).reshape(-1, 5)
    return SwcNodes(
        table[:, :3].copy(),
        np.asarray(edges, np.int64).reshape(-1, 2),
        table[:, 3].copy(),
        table[:, 4].astype(np.int64),
    )


def _read_swc(paths: list[Path]) -> list[tuple[int, np.ndarray, np.ndarray]]:
    parts = []
    for number, file in enumerate(paths):
        nodes = parse_swc(files.read_text(file, "skeleton file", _FIX), str(file))
        obj = int(file.stem) if file.stem.isdigit() else number + 1
        parts.append((obj, nodes.vertices, nodes.edges))
    return parts


def load_skeletons(
    path: str | Path, units: str = "nm", voxel_size: tuple[float, float, float] | None = None
) -> Skeletons:
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


def skeletons_from_labels(
    labels: Chunk, dust_threshold: int = 1000, scale: float = 4.0, const: float = 500.0
) -> Skeletons:
    """kimimaro TEASAR skeletons of every ground-truth object larger than ``dust_threshold`` voxels
    (same parameters as the ``skeletonize`` operator); vertices in global nanometres."""
    import kimimaro

    if labels.ndim != 3 or labels.dtype.kind not in "ui":
        raise IncompatibleChunkError(f"skeletons need 3D integer labels; got {labels.dtype} with shape {labels.shape}")
    skeletons = kimimaro.skeletonize(
        np.asfortranarray(labels.array.T),
        teasar_params={"scale": scale, "const": const},
        anisotropy=labels.voxel_size.xyz,
        dust_threshold=dust_threshold,
        progress=False,
        parallel=1,
    )
    offset_nm = np.asarray(labels.voxel_offset, np.float64) * np.asarray(labels.voxel_size, np.float64)
    parts = [
        (int(obj), s.vertices[:, ::-1].astype(np.float64) + offset_nm, s.edges) for obj, s in sorted(skeletons.items())
    ]
    return Skeletons.from_parts(parts)
