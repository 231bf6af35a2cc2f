"""The one registry of task-queue backends: URL scheme -> :class:`~chunkflow.queues.base.TaskQueue` class.

``file:///path`` is a file queue, ``sqs://NAME`` or a bare ``NAME`` AWS SQS. Another package adds a
scheme through the ``chunkflow.queues`` entry-point group (name = scheme, value = its class)::

    [project.entry-points."chunkflow.queues"]
    redis = "my_package.redis_queue:RedisQueue"

or at run time with ``QUEUES.register("redis", "my_package.redis_queue:RedisQueue")``. A backend
class is called as ``Class(address, max_receive_count=..., create=...)`` with the URL's part after
``scheme://``. Backends are imported only when a queue of theirs is opened, so this module (and
:mod:`chunkflow.queues.base`) imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chunkflow.errors import QueueError
from chunkflow.registry import Registry

if TYPE_CHECKING:
    from chunkflow.queues.base import TaskQueue

__all__ = ["QUEUES", "BUILTIN_QUEUES", "ENTRY_POINT_GROUP", "DEFAULT_SCHEME", "open_queue"]

ENTRY_POINT_GROUP = "chunkflow.queues"
#: the backend of a queue name without ``scheme://``
DEFAULT_SCHEME = "sqs"

BUILTIN_QUEUES = {
    "file": "chunkflow.queues.file_queue:FileQueue",
    "sqs": "chunkflow.queues.sqs:SQSQueue",
}


def _as_backend(scheme: str, obj: Any) -> Callable[..., TaskQueue]:
    from chunkflow.queues.base import TaskQueue

    if not (isinstance(obj, type) and issubclass(obj, TaskQueue)):
        raise QueueError(f"queue scheme {scheme}:// is registered as {obj!r}, which is not a TaskQueue subclass")
    return obj


QUEUES: Registry[Callable[..., TaskQueue]] = Registry(
    "queue scheme", ENTRY_POINT_GROUP, BUILTIN_QUEUES, check=_as_backend
)


def open_queue(name: str, max_receive_count: int | None = None, create: bool = True) -> TaskQueue:
    """``file:///path`` is a file queue; ``sqs://NAME`` or a bare ``NAME`` is AWS SQS; other schemes
    come from the ``chunkflow.queues`` entry-point group.

    ``max_receive_count`` is set by the producer (``generate-tasks --max-receive-count``) and kept
    with the queue (SQS: its redrive policy; file queue: ``config.json``); ``None`` keeps what the
    queue has (default 5).
    """
    if max_receive_count is not None and max_receive_count < 1:
        raise QueueError(f"max receive count {max_receive_count} must be at least 1")
    scheme, sep, address = name.partition("://")
    if not sep:
        scheme, address = DEFAULT_SCHEME, name
    if scheme not in QUEUES:
        known = ", ".join(f"{s}://" for s in QUEUES.names())
        raise QueueError(
            f"queue {name!r} has an unknown scheme; use {known} (sqs://NAME or a bare SQS name, file:///path), "
            f"or install the package that provides {scheme}:// queues"
        )
    return QUEUES.load(scheme)(address, max_receive_count=max_receive_count, create=create)
