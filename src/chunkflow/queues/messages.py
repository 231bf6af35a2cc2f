"""Task message bodies: a bare bbox string (chunkflow 1.2.0's form) or JSON with a ``bbox`` and
any extra parameters (stage, job) for multi-stage jobs."""

from __future__ import annotations

import json
from typing import Any

from chunkflow.errors import InvalidBoundingBoxError, QueueError
from chunkflow.geometry import BoundingBox

__all__ = ["encode", "decode"]


def encode(bbox: BoundingBox | None, **params: Any) -> str:
    if not params and bbox is not None:
        return str(bbox)
    return json.dumps({"bbox": None if bbox is None else str(bbox), **params})


def decode(body: str) -> tuple[BoundingBox | None, dict[str, Any]]:
    """Parse a body; a malformed one raises :class:`QueueError` naming it."""
    text = body.strip()
    try:
        if text.startswith("{"):
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            bbox = data.pop("bbox", None)
            return (BoundingBox.from_string(bbox) if bbox else None), data
        return BoundingBox.from_string(text), {}
    except (ValueError, InvalidBoundingBoxError) as exc:
        raise QueueError(f"malformed task message {text[:80]!r}: {exc}") from None
