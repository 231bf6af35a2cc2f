"""The worker side: lease tasks, keep leases alive while they run, release failures."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from chunkflow.errors import QueueError
from chunkflow.queues.base import Message, open_queue
from chunkflow.queues.messages import decode
from chunkflow.task import Task

__all__ = ["Worker", "Lease"]

log = logging.getLogger(__name__)


class Lease:
    """A message being worked on; a background thread extends it every half timeout."""

    def __init__(self, message: Message, visibility_timeout: float) -> None:
        self.message = message
        self.visibility_timeout = visibility_timeout
        self.state = "running"  # then "done" (deleted) or "released" (failed, visible again)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_alive, name="chunkflow-lease", daemon=True)
        self._thread.start()

    def _keep_alive(self) -> None:
        while not self._stop.wait(self.visibility_timeout / 2):
            try:
                self.message.extend(self.visibility_timeout)
                log.debug("extended lease on %s", self.message.body)
            except QueueError as exc:
                log.warning("%s", exc)
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def finished(self) -> bool:
        return self.state != "running"

    def done(self) -> None:
        """Delete the message: the task succeeded."""
        self.stop()
        self.message.delete()
        self.state = "done"

    def release(self) -> None:
        """Make the message visible again at once: the task failed."""
        self.stop()
        self.state = "released"
        self.message.release()


class Worker:
    def __init__(self, queue_name: str, visibility_timeout: float, num: int, retry_times: int,
                 retry_interval: float = 1.0) -> None:  # fmt: skip
        self.queue_name = queue_name
        self.visibility_timeout = visibility_timeout
        self.num = num
        self.retry_times = retry_times
        self.retry_interval = retry_interval
        self.processed = 0
        self.failures = 0

    def tasks(self) -> Iterator[Task]:
        queue = open_queue(self.queue_name, create=False)
        empty_polls = 0
        while self.num < 0 or self.processed + self.failures < self.num:
            message = queue.receive(self.visibility_timeout)
            if message is None:
                empty_polls += 1
                if 0 <= self.retry_times < empty_polls:
                    log.info("queue %s is empty; %d tasks done, %d failed", self.queue_name, self.processed, self.failures)
                    return
                time.sleep(self.retry_interval)
                continue
            empty_polls = 0
            lease = Lease(message, self.visibility_timeout)
            try:
                bbox, params = decode(message.body)
            except QueueError as exc:  # left for the dead-letter queue after max receives
                log.error("%s; leaving it for the dead-letter queue", exc)
                lease.release()
                self.failures += 1
                continue
            task = Task(bbox=bbox, lease=lease, params=params)
            yield task
            if lease.state == "released":
                self.failures += 1
                continue
            if not lease.finished:
                lease.stop()  # chain without delete-task-in-queue: the message comes back after its timeout
            self.processed += 1

    def failed(self, task: Task, exc: BaseException) -> bool:
        """A task's chain raised: log it with its bbox, make it visible again, go on."""
        log.error("task %s failed (receive %d): %s: %s", task.name, task.lease.message.receive_count,
                  type(exc).__name__, exc)  # fmt: skip
        try:
            task.lease.release()
        except QueueError as release_error:
            log.warning("%s", release_error)
        return True
