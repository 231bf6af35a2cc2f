"""The worker side: lease tasks, keep leases alive while they run, release failures."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator

from chunkflow.errors import QueueError
from chunkflow.queues.base import Message, TaskQueue
from chunkflow.queues.messages import PoisonMessageError, decode
from chunkflow.queues.preemption import DEFAULT_GRACE_S, PREEMPTED_EXIT_CODE, Preemption, WorkerPreempted
from chunkflow.queues.registry import open_queue
from chunkflow.task import CreatePolicy, Task
from chunkflow.threads import describe_limits

__all__ = [
    "Worker",
    "Lease",
    "TasksFailedError",
    "DEFAULT_VISIBILITY_TIMEOUT_S",
    "DEFAULT_IDLE_TIMEOUT_S",
    "DEFAULT_GRACE_S",
    "PREEMPTED_EXIT_CODE",
]

log = logging.getLogger(__name__)


class Lease:
    """A message being worked on; a background thread extends it every half timeout."""

    def __init__(self, message: Message, visibility_timeout: float) -> None:
        self.message = message
        self.visibility_timeout = visibility_timeout
        self.state = "running"  # then "done" (deleted) or "released" (failed, visible again)
        self.closing = False  # set as done/release/dead_letter begins: a preempted worker leaves it alone
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_alive, name="chunkflow-lease", daemon=True)
        self._thread.start()

    def _keep_alive(self) -> None:
        while not self._stop.wait(self.visibility_timeout / 2):
            try:
                self.message.extend(self.visibility_timeout)
                log.debug("extended lease on %s", self.message.body)
            except Exception as exc:  # noqa: BLE001 - a lost lease never kills the task's thread
                log.warning("%s", exc)
                return

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._thread.join(timeout)

    @property
    def finished(self) -> bool:
        return self.state != "running"

    def done(self) -> None:
        """Delete the message: the task succeeded."""
        if self.state == "released":
            raise QueueError(
                f"task {self.message.body} was given back already (the worker was stopped); not deleting it"
            )
        self.closing = True
        self.stop()
        self.message.delete()
        self.state = "done"

    def release(self, wait: float | None = None) -> None:
        """Make the message visible again at once: the task failed, or the worker was stopped.

        ``wait`` bounds the wait for the keep-alive thread's extension in progress (a signal handler
        must not wait forever on a thread that may wait for the interrupted main thread).
        """
        self.closing = True
        self.stop(wait)
        self.state = "released"
        self.message.release()

    def dead_letter(self) -> None:
        """Move the message to the dead letters now: it can never succeed."""
        self.closing = True
        self.stop()
        self.state = "released"
        self.message.dead_letter()


#: seconds a leased task stays invisible; the lease is extended every half of it while the task runs,
#: so a killed worker's task is visible again within this time
DEFAULT_VISIBILITY_TIMEOUT_S = 30.0
#: longest wait for a task while other workers still hold tasks in flight (one of them may die)
DEFAULT_IDLE_TIMEOUT_S = 600.0


class TasksFailedError(QueueError):
    """Some tasks of this worker failed (exit code 1, so a scheduler sees it)."""


class Worker:
    """Leases tasks until the queue is drained.

    A worker stops when ``retry_times`` polls in a row found the queue *drained* (nothing waiting and
    nothing in flight anywhere), so it stays while another worker's task may still come back; or when
    it has received nothing for ``idle_timeout`` seconds although tasks are still in flight; or after
    ``num`` tasks. At the end, if any task failed or any message was malformed, it raises
    :class:`TasksFailedError` (exit code 1). On SIGTERM it stops fetching, lets the running task finish
    within ``grace`` seconds or gives it back, and raises :class:`WorkerPreempted` (exit code
    :data:`PREEMPTED_EXIT_CODE`, see :mod:`chunkflow.queues.preemption`).
    """

    def __init__(
        self,
        queue_name: str,
        visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT_S,
        num: int = -1,
        retry_times: int = 30,
        retry_interval: float = 1.0,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT_S,
        grace: float = DEFAULT_GRACE_S,
    ) -> None:
        self.queue_name = queue_name
        self.grace = grace
        self.visibility_timeout = visibility_timeout
        self.num = num
        self.retry_times = retry_times
        self.retry_interval = retry_interval
        self.idle_timeout = idle_timeout
        self.processed = 0
        self.failures = 0
        self.malformed = 0
        self.preemption = Preemption(grace, queue_name)

    def tasks(self) -> Iterator[Task]:
        queue = open_queue(self.queue_name, create=False)
        log.info("worker %d on %s: %s", os.getpid(), self.queue_name, describe_limits())
        self.preemption.install()
        try:
            yield from self._tasks(queue)
        finally:
            self.preemption.uninstall()

    def _tasks(self, queue: TaskQueue) -> Iterator[Task]:
        empty_polls = 0
        drained_since = last_task = time.monotonic()
        preemption = self.preemption
        while self.num < 0 or self.processed + self.failures + self.malformed < self.num:
            if preemption.requested:
                break
            polled = time.monotonic()
            message = queue.receive(self.visibility_timeout)
            if message is not None and preemption.requested:  # SIGTERM during the receive: not ours to run
                self._give_back(message)
                break
            if message is None:
                if queue.drained():
                    empty_polls += 1
                    if empty_polls == 1:
                        drained_since = polled
                    # --retry-times polls, or as many --retry-interval periods where a receive itself waits
                    # (an SQS long poll): a drained queue lets its workers go as soon on SQS as on a file queue
                    drained_for = time.monotonic() - drained_since
                    if 0 <= self.retry_times < empty_polls or (
                        empty_polls > 1
                        and 0 <= self.retry_times
                        and drained_for >= self.retry_times * self.retry_interval
                    ):
                        break
                elif time.monotonic() - last_task > self.idle_timeout:
                    log.warning(
                        "no task for %.0f s although tasks are in flight in %s; stopping (--idle-timeout)",
                        self.idle_timeout,
                        self.queue_name,
                    )
                    break
                else:
                    empty_polls = 0  # "in a row": a task in flight elsewhere may still come back
                # one poll per --retry-interval: an SQS receive already long-polls (1 s), so wait only the rest
                self._sleep(self.retry_interval - (time.monotonic() - polled))
                continue
            empty_polls, last_task = 0, time.monotonic()
            try:
                bbox, params = decode(message.body)
            except QueueError as exc:  # malformed: it can never succeed, so it goes to the dead letters now
                log.error("%s; moved to the dead-letter queue of %s", exc, self.queue_name)
                self.malformed += 1
                try:
                    message.dead_letter()
                except QueueError as dead_error:
                    log.warning("%s", dead_error)
                continue
            lease = Lease(message, self.visibility_timeout)
            # tasks of one queue run side by side: a missing output volume is refused, never created per chunk
            task = Task(
                bbox=bbox, lease=lease, params=params, create_policy=CreatePolicy(refused_by=f"queue {self.queue_name}")
            )
            preemption.lease = lease
            try:
                yield task
            except GeneratorExit:  # the chain was interrupted (Ctrl-C): give the task back at once
                if not lease.closing:
                    self._give_back(lease)
                raise
            finally:
                preemption.lease = None
            if lease.state == "released":
                self.failures += 1
                continue
            if not lease.finished:
                lease.stop()  # chain without delete-task-in-queue: the message comes back after its timeout
            self.processed += 1
        log.info(
            "worker on %s stops: %d tasks done, %d failed, %d malformed messages",
            self.queue_name,
            self.processed,
            self.failures,
            self.malformed,
        )
        if preemption.requested:
            preemption.uninstall()  # no grace timer may fire while the process exits
            raise WorkerPreempted("stopped by SIGTERM")
        if self.failures or self.malformed:
            raise TasksFailedError(
                f"{self.failures} task(s) failed and {self.malformed} malformed message(s) were dead-lettered "
                f"({self.processed} done) on {self.queue_name}; see the log above, `chunkflow queue status` "
                "and `chunkflow queue requeue-dead`"
            )

    def _sleep(self, seconds: float) -> None:
        """Wait between polls, cut short by SIGTERM."""
        deadline = time.monotonic() + seconds
        while not self.preemption.requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))

    def _give_back(self, leased: Message | Lease) -> None:
        try:
            leased.release()
        except QueueError as exc:
            log.warning("%s", exc)

    def failed(self, task: Task, exc: BaseException) -> bool:
        """A task's chain raised: log it with its bbox, make it visible again, go on."""
        from chunkflow.redact import redact

        message = task.lease.message
        log.error(
            "task %s failed (receive %d of %d): %s: %s",
            task.name,
            message.receive_count,
            getattr(message.queue, "max_receive_count", 0),
            type(exc).__name__,
            redact(str(exc)),
        )
        try:
            if isinstance(exc, PoisonMessageError):
                log.error(
                    "task %s: moved to the dead-letter queue of %s at once (it can never succeed)",
                    task.name,
                    self.queue_name,
                )
                task.lease.dead_letter()
            else:
                task.lease.release()
        except QueueError as release_error:
            log.warning("%s", release_error)
        return True
