"""Done markers: one empty file per finished task, named by its bbox, checked with one ``stat``.

``prefix + str(bbox) + suffix`` is chunkflow 1.2.0's naming (``skip-task-by-file`` /
``mark-complete``). A prefix ending in ``/`` is a directory of markers; conventionally
``<output volume>/.done/``, next to the data it vouches for.
"""

from __future__ import annotations

import os
from pathlib import Path

from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox

__all__ = ["DoneMarkers"]


class DoneMarkers:
    def __init__(self, prefix: str, suffix: str = "") -> None:
        if "://" in prefix and not prefix.startswith("file://"):
            raise InvalidParameterError(f"done markers need a local or shared filesystem path, not {prefix!r}")
        self.prefix = prefix.removeprefix("file://")
        self.suffix = suffix

    def path(self, bbox: BoundingBox) -> Path:
        return Path(f"{self.prefix}{bbox}{self.suffix}")

    def is_done(self, bbox: BoundingBox) -> bool:
        return self.path(bbox).exists()

    def mark(self, bbox: BoundingBox) -> None:
        path = self.path(bbox)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(fd)
