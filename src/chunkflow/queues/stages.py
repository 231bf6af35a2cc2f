"""Multi-stage jobs on a queue: stage n + 1 is sent only when stage n is drained.

The frontend sends a stage's task messages, waits until the queue has nothing waiting or in
flight, checks that none went to the dead-letter queue, and goes on. Workers need no knowledge
of stages: each message carries what its task needs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from chunkflow.errors import QueueError
from chunkflow.queues.base import TaskQueue

__all__ = ["run_stages"]

log = logging.getLogger(__name__)


def run_stages(queue: TaskQueue, stages: Sequence[tuple[str, Sequence[str]]], poll_s: float = 1.0,
               timeout_s: float | None = None) -> None:  # fmt: skip
    """Send each ``(name, bodies)`` stage in turn, waiting for the previous one to finish."""
    dead_before = queue.counts().dead
    for name, bodies in stages:
        sent = queue.send(bodies)
        log.info("stage %s: %d tasks sent to %s", name, sent, queue.name)
        counts = queue.wait_until_empty(poll_s=poll_s, timeout_s=timeout_s)
        if counts.dead > dead_before:
            raise QueueError(
                f"stage {name}: {counts.dead - dead_before} task(s) ended in the dead-letter queue of {queue.name}; "
                "fix the cause, run `chunkflow queue requeue-dead`, and rerun"
            )
        log.info("stage %s done", name)
