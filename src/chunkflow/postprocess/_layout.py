"""Where meshes and skeletons live inside a local precomputed volume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chunkflow.volumes.base import atomic_path


def declare_subdir(root: Path, key: str, sub_info: dict[str, Any]) -> Path:
    """Make ``root/key`` with its own ``info`` (``sub_info``) and point the volume's info at it
    (``"mesh": "mesh"``, ``"skeletons": "skeletons"``), as cloud-volume and neuroglancer expect."""
    info_path = root / "info"
    if info_path.exists():
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
