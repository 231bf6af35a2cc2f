"""Done markers: one empty object per finished task, named by its bbox, on a disk or a bucket.

``prefix + str(bbox) + suffix`` is chunkflow 1.2.0's naming (``skip-task-by-file`` /
``mark-complete``). A prefix ending in ``/`` is a directory of markers; conventionally
``<output volume>/.done/``, next to the data it vouches for. The prefix may be a plain path,
``file://``, ``gs://`` or ``s3://`` (through :mod:`chunkflow.files`); a marker is created with
create-if-absent, so of two workers that finish the same task exactly one writes it.
"""

from __future__ import annotations

from chunkflow import files
from chunkflow.geometry import BoundingBox

__all__ = ["DoneMarkers"]


class DoneMarkers:
    def __init__(self, prefix: str, suffix: str = "") -> None:
        files.check_url(prefix)  # an unsupported scheme is refused in one line
        self.prefix = prefix.removeprefix("file://")
        self.suffix = suffix

    def url(self, bbox: BoundingBox) -> str:
        return f"{self.prefix}{bbox}{self.suffix}"

    def is_done(self, bbox: BoundingBox) -> bool:
        return files.exists(self.url(bbox))

    def size(self, bbox: BoundingBox) -> int | None:
        """The marker's size in bytes, or ``None`` where it does not exist (1.2.0's ``--mode empty``)."""
        data = files.maybe_read_bytes(self.url(bbox))
        return None if data is None else len(data)

    def mark(self, bbox: BoundingBox) -> bool:
        """Create the marker; ``True`` if this call created it (``False``: it was there already)."""
        return files.create_exclusive(self.url(bbox), b"")
