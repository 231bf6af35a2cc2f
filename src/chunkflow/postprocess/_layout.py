"""Where meshes and skeletons live inside a local precomputed volume."""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chunkflow.volumes.base import atomic_path, locked


def declare_subdir(root: Path, key: str, sub_info: dict[str, Any]) -> Path:
    """Make ``root/key`` with its own ``info`` (``sub_info``) and point the volume's info at it
    (``"mesh": "mesh"``, ``"skeletons": "skeletons"``), as cloud-volume and neuroglancer expect."""
    info_path = root / "info"
    if info_path.exists() and json.loads(info_path.read_text()).get(key) != key:
        with locked(info_path):  # a read-modify-write: concurrent writers (scales, mesh, skeletons) take turns
            info = json.loads(info_path.read_text())
            if info.get(key) != key:
                info[key] = key
                with atomic_path(info_path) as tmp:
                    tmp.write_text(json.dumps(info))
    directory = root / key
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "info").exists():
        with atomic_path(directory / "info") as tmp:
            tmp.write_text(json.dumps(sub_info))
    return directory


#: per-chunk fragment names: meshes ``<id>:0:<bbox>`` (neuroglancer's legacy lod 0), skeletons ``<id>:<bbox>``
#: (an object's welded mesh ``<id>:0:merged`` is not a fragment)
MERGED = "merged"
MESH_FRAGMENT = re.compile(r"^(\d+):0:(?!merged$)[^:]+$")
SKELETON_FRAGMENT = re.compile(r"^(\d+):[^:]+$")


def fragments_by_id(
    directory: Path, pattern: re.Pattern[str], prefix: str = "", ids: Iterable[int] | None = None
) -> dict[str, list[os.DirEntry[str]]]:
    """The fragment files in ``directory`` grouped by object id (ids starting with ``prefix``, or in ``ids``)."""
    wanted = None if ids is None else {str(i) for i in ids}
    groups: dict[str, list[os.DirEntry[str]]] = defaultdict(list)
    with os.scandir(directory) as entries:
        for entry in entries:
            match = pattern.match(entry.name)
            if match and match.group(1).startswith(prefix) and (wanted is None or match.group(1) in wanted):
                groups[match.group(1)].append(entry)
    return groups
