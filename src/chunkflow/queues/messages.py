"""Task message bodies: a bare bbox string (chunkflow 1.2.0's form) or JSON with a ``bbox`` and
any extra parameters (stage, job) for multi-stage jobs.

:func:`decode` is the one gate every received body passes: anything that is not one of these two
forms (any other JSON shape, a non-string bbox, a huge body, bytes that are not text) raises
:class:`~chunkflow.errors.QueueError` naming the body, never another exception, so a worker can
dead-letter it and go on.
"""

from __future__ import annotations

import json
from typing import Any

from chunkflow.errors import QueueError
from chunkflow.geometry import BoundingBox

__all__ = ["encode", "decode", "MAX_BODY_BYTES", "PoisonMessageError"]


class PoisonMessageError(QueueError):
    """Raised by a chain for a message that can never succeed (not this worker's job, a forged field):
    the worker dead-letters it at once instead of retrying it up to the max receive count."""


#: SQS's own limit on a message body; a bigger body is refused unparsed
MAX_BODY_BYTES = 256 * 1024


def encode(bbox: BoundingBox | None, **params: Any) -> str:
    if not params and bbox is not None:
        return str(bbox)
    return json.dumps({"bbox": None if bbox is None else str(bbox), **params})


def _refuse(text: str, why: str) -> QueueError:
    shown = text[:80] + ("..." if len(text) > 80 else "")
    return QueueError(f"malformed task message {shown!r}: {why}")


def decode(body: Any) -> tuple[BoundingBox | None, dict[str, Any]]:
    """Parse a body; a malformed one (of any shape) raises :class:`QueueError` naming it."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse(repr(body[:80]), "not UTF-8 text") from None
    if not isinstance(body, str):
        raise _refuse(repr(body), f"a message body is text, not {type(body).__name__}")
    if len(body) > MAX_BODY_BYTES:
        raise _refuse(body, f"{len(body)} characters, more than a task message may hold ({MAX_BODY_BYTES})")
    text = body.strip()
    try:
        if not text.startswith("{"):
            return BoundingBox.from_string(text), {}
        data = json.loads(text)
        if not isinstance(data, dict):
            raise _refuse(text, f"JSON {type(data).__name__}, expected an object with a 'bbox'")
        bbox = data.pop("bbox", None)
        if bbox is not None and not isinstance(bbox, str):
            raise _refuse(text, f"'bbox' is {type(bbox).__name__}, expected a string like 0-64_0-512_0-512")
        if any(not isinstance(key, str) for key in data):
            raise _refuse(text, "keys must be strings")
        return (BoundingBox.from_string(bbox) if bbox else None), data
    except QueueError:
        raise
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError, MemoryError) as exc:
        raise _refuse(text, str(exc) or type(exc).__name__) from None
