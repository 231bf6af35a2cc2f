"""Where meshes and skeletons live inside a precomputed volume (a local path, ``file://``, ``gs://`` or ``s3://``).

A volume's ``info`` names the directory (``"mesh": "mesh_err_40"``, ``"skeletons": "skeletons"``). A key the
volume already has is used as it is, never rewritten (volumes meshed by chunkflow 1.2.0 or igneous keep
their meshes); a missing one is added by compare-and-swap (:func:`chunkflow.files.update_json`), so
concurrent workers adding scales, mesh and skeleton keys never lose each other's change.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from chunkflow import files
from chunkflow.errors import VolumeNotFoundError

P = TypeVar("P", str, Path)


def subdir_key(root: str | os.PathLike[str], key: str, default: str) -> str:
    """The directory ``info[key]`` of the volume at ``root``; ``default``, added to the info, if it has none."""

    def add(info: Any) -> Any:
        if not isinstance(info, dict):
            return info
        if not info.get(key):
            info[key] = default
        return info

    info = files.update_json(files.join(root, "info"), add, what="volume info")
    if not isinstance(info, dict):
        raise VolumeNotFoundError(f"no precomputed volume at {files.display(root)} (no info file)")
    return str(info[key])


def declare_subdir(root: P, key: str, sub_info: dict[str, Any], default: str | None = None) -> P:
    """The directory of ``key`` (``mesh``, ``skeletons``) in the volume at ``root``, with its own ``info``
    (``sub_info`` if it has none yet), as cloud-volume and neuroglancer expect. The volume's ``info[key]``
    is kept if present, else set to ``default`` (``key``). Returns a path of the same kind as ``root``."""
    name = key
    if files.exists(files.join(root, "info")):
        name = subdir_key(root, key, default or key)
    directory = files.join(root, name)
    files.create_exclusive(files.join(directory, "info"), json.dumps(sub_info).encode())
    return Path(directory) if isinstance(root, Path) else directory


@dataclass(frozen=True)
class MeshLayout:
    """What a volume's mesh directory holds (what ``mesh-manifest`` must join)."""

    directory: str
    multires: bool
    sharded: bool
    has_fragments: bool

    @property
    def kind(self) -> str:
        return (
            "sharded multi-resolution"
            if self.sharded
            else "multi-resolution"
            if self.multires
            else "legacy (unsharded)"
        )

    def require_fragments(self, volume_path: str) -> None:
        if not self.has_fragments:
            raise VolumeNotFoundError(
                f"no mesh fragments in {self.directory}; run mesh -o {volume_path} over the segmentation first"
            )


def mesh_layout(volume_path: str) -> MeshLayout:
    """The mesh directory of the volume at ``volume_path`` (its ``info["mesh"]``, or the path itself when it
    has no info) and the kind of meshes in it; a missing volume or a corrupt info is one line."""
    from chunkflow.errors import CorruptFileError

    root = str(volume_path)
    fix = "fix it, or recreate it with create-info"
    info_url = files.join(root, "info")
    info = files.read_json(info_url, "info file", fix) if files.exists(info_url) else None
    if info is None and next(iter(files.list_names(root, recursive=False)), None) is None:
        raise VolumeNotFoundError(
            f"no precomputed volume or mesh directory at {volume_path}; give the segmentation "
            "volume (or directory) that mesh wrote into"
        )
    if info is not None and not isinstance(info, dict):
        raise CorruptFileError(f"info file of {volume_path} is a JSON {type(info).__name__}, not an object; {fix}")
    key = info.get("mesh") if isinstance(info, dict) else None
    directory = root if info is None else files.join(root, key if isinstance(key, str) and key else "mesh")
    sub: dict[str, Any] = {}
    if files.exists(files.join(directory, "info")):
        mesh_info = files.read_json(
            files.join(directory, "info"), "mesh info file", "delete the mesh directory and mesh again"
        )
        if not isinstance(mesh_info, dict):
            raise CorruptFileError(
                f"mesh info file of {directory} is not a JSON object; delete the mesh directory and mesh again"
            )
        sub = mesh_info
    from chunkflow.postprocess.multires import MULTILOD

    multires = sub.get("@type") == MULTILOD
    if multires:
        has_fragments = any(
            n.endswith(".frags") for n in files.list_names(files.join(directory, "fragments"), recursive=False)
        )
    else:
        has_fragments = any(MESH_FRAGMENT.match(n) for n in files.list_names(directory, recursive=False))
    sharded = multires and bool(sub.get("chunkflow", {}).get("sharded", "sharding" in sub))
    return MeshLayout(directory, multires, sharded, has_fragments)


#: per-chunk fragment names: meshes ``<id>:0:<bbox>`` (neuroglancer's legacy lod 0), skeletons ``<id>:<bbox>``
#: (an object's welded mesh ``<id>:0:merged`` is not a fragment)
MERGED = "merged"
MESH_FRAGMENT = re.compile(r"^(\d+):0:(?!merged$)[^:]+$")
SKELETON_FRAGMENT = re.compile(r"^(\d+):[^:]+$")


def object_name(name: str) -> str:
    """An object's name as cloud-files reads it: without the ``.gz`` a compressed local file carries."""
    return name[:-3] if name.endswith(".gz") else name


def fragment_names(
    directory: str, pattern: re.Pattern[str], prefix: str = "", ids: Iterable[int] | None = None
) -> dict[str, list[str]]:
    """The fragment names below ``directory`` (any storage) grouped by object id (ids starting with
    ``prefix``, or in ``ids``); names as cloud-files reads them (no ``.gz``)."""
    wanted = None if ids is None else {str(i) for i in ids}
    groups: dict[str, set[str]] = defaultdict(set)
    # object names start with their id: list only those below the prefix where the store can
    for name in files.list_names(directory):
        name = object_name(name)
        match = pattern.match(name)
        if match and match.group(1).startswith(prefix) and (wanted is None or match.group(1) in wanted):
            groups[match.group(1)].add(name)
    return {obj: sorted(names) for obj, names in groups.items()}


def fragments_by_id(
    directory: Path, pattern: re.Pattern[str], prefix: str = "", ids: Iterable[int] | None = None
) -> dict[str, list[os.DirEntry[str]]]:
    """The fragment files in the local ``directory`` grouped by object id (ids starting with ``prefix``, or
    in ``ids``); a compressed fragment (``<name>.gz``) counts under its name."""
    wanted = None if ids is None else {str(i) for i in ids}
    groups: dict[str, list[os.DirEntry[str]]] = defaultdict(list)
    with os.scandir(directory) as entries:
        for entry in entries:
            match = pattern.match(object_name(entry.name))
            if match and match.group(1).startswith(prefix) and (wanted is None or match.group(1) in wanted):
                groups[match.group(1)].append(entry)
    return groups
