"""The task-queue interface shared by the file queue and AWS SQS.

At-least-once delivery: a received message is *leased* for a visibility timeout; a worker
deletes it only when its task succeeded. A worker that dies loses nothing: the lease runs out
and the message comes back. After ``max_receive_count`` receives a message moves to the
dead-letter queue (SQS: the queue ``NAME-dead-letter``; file queue: the ``dead/`` directory)
instead of poisoning the fleet; a message that cannot be parsed at all goes there at once.

Backends are picked by URL scheme in :mod:`chunkflow.queues.registry` (``open_queue``); this module
imports none of them.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chunkflow.errors import QueueError

__all__ = ["Message", "TaskQueue", "QueueCounts", "DEFAULT_MAX_RECEIVE_COUNT"]


@dataclass
class Message:
    """A leased message. ``handle`` is the backend's receipt (a path, an SQS receipt handle)."""

    body: str
    handle: Any
    receive_count: int = 1
    queue: TaskQueue | None = field(default=None, repr=False)
    leased_at: float = field(default_factory=time.monotonic)

    def delete(self) -> None:
        assert self.queue is not None
        self.queue.delete(self)

    def release(self) -> None:
        assert self.queue is not None
        self.queue.release(self)

    def extend(self, visibility_timeout: float) -> None:
        assert self.queue is not None
        self.queue.extend(self, visibility_timeout)

    def dead_letter(self) -> None:
        assert self.queue is not None
        self.queue.dead_letter(self)


@dataclass(frozen=True)
class QueueCounts:
    waiting: int
    in_flight: int
    dead: int
    completed: int | None = None
    rate_per_s: float | None = None

    @property
    def eta_s(self) -> float | None:
        if not self.rate_per_s:
            return None
        return (self.waiting + self.in_flight) / self.rate_per_s


class TaskQueue(ABC):
    name: str
    max_receive_count: int

    @abstractmethod
    def send(self, bodies: Iterable[str]) -> int:
        """Insert messages (batched); returns how many were sent."""

    @abstractmethod
    def receive(self, visibility_timeout: float) -> Message | None:
        """Lease one message, or ``None`` when none is visible now."""

    @abstractmethod
    def delete(self, message: Message) -> None:
        """Acknowledge: the task is done."""

    @abstractmethod
    def release(self, message: Message) -> None:
        """Give a lease back at once (the task failed): visible again for another worker."""

    @abstractmethod
    def extend(self, message: Message, visibility_timeout: float) -> None:
        """Keep a lease for another ``visibility_timeout`` seconds from now."""

    def dead_letter(self, message: Message) -> None:
        """Move a message that can never succeed (malformed) to the dead-letter queue now."""
        self.release(message)

    @abstractmethod
    def counts(self) -> QueueCounts: ...

    def drained(self) -> bool:
        """Nothing waiting and nothing in flight (a worker may stop)."""
        counts = self.counts()
        return counts.waiting == 0 and counts.in_flight == 0

    @abstractmethod
    def purge(self) -> None:
        """Drop every message, waiting, in flight and dead."""

    @abstractmethod
    def requeue_dead(self) -> int:
        """Move dead-lettered messages back into the queue; returns how many."""

    def wait_until_empty(self, poll_s: float = 1.0, timeout_s: float | None = None) -> QueueCounts:
        """Block until nothing is waiting or in flight (a stage barrier)."""
        start = time.monotonic()
        while True:
            counts = self.counts()
            if counts.waiting == 0 and counts.in_flight == 0:
                return counts
            if timeout_s is not None and time.monotonic() - start > timeout_s:
                raise QueueError(f"queue {self.name} still has {counts.waiting} waiting, {counts.in_flight} in flight")
            time.sleep(poll_s)


#: receives before a message is dead-lettered, where the producer did not say
DEFAULT_MAX_RECEIVE_COUNT = 5
