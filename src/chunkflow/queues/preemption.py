"""SIGTERM for queue workers: the spot/preemption notice, a Kubernetes eviction, Slurm's ``--signal``.

On SIGTERM a worker stops fetching. A task it is running may go on for ``grace`` seconds; if it
finishes, it is acknowledged as usual. If not, the task is abandoned: its lease is given back at once
(visibility 0 on SQS, back to ``waiting/`` in a file queue) so another worker takes it within
seconds instead of after the lease timeout, and the process exits :data:`PREEMPTED_EXIT_CODE`.

The signal is noticed twice: by a watcher thread reading Python's signal wake-up pipe (so the grace
starts even while the main thread is deep in native code: inference, a compressor) and by the
Python-level handler. Both only set a flag and start the grace timer, except when the grace has run
out: then the handler, in the main thread between two bytecodes, gives the lease back and raises
:class:`WorkerPreempted`, which unwinds the task (every atomic write cleans up its temporary on the
way) and, being a ``SystemExit``, ends the process with exit code 143. A done marker is written after
the outputs it vouches for, so an abandoned task never leaves one. A main thread still stuck in native
code :data:`BACKSTOP_S` after the grace cannot run the handler: a backstop thread then gives the lease
back and ends the process itself. SIGKILL cannot be handled at all: lease expiry covers it, as before.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from chunkflow.errors import QueueError

if TYPE_CHECKING:
    from chunkflow.queues.worker import Lease

__all__ = ["Preemption", "WorkerPreempted", "PREEMPTED_EXIT_CODE", "DEFAULT_GRACE_S", "GRACE_ENVVAR"]

log = logging.getLogger(__name__)

#: exit status of a worker stopped by SIGTERM (128 + 15, the shell's convention for "killed by TERM"):
#: its running task was either finished within the grace or given back to the queue
PREEMPTED_EXIT_CODE = 143
#: seconds a SIGTERM'd worker may spend finishing its task: fits a 30 s spot notice (GCP, AWS's last
#: 30 s before the 2-minute reclaim) and Kubernetes' default termination grace, with margin to give back
DEFAULT_GRACE_S = 25.0
#: ``chunkflow worker --grace`` hands its value to its worker processes through this variable
GRACE_ENVVAR = "CHUNKFLOW_GRACE"
#: seconds after the grace for the main thread to unwind before the backstop ends the process
BACKSTOP_S = 3.0
#: longest wait for the lease's keep-alive thread when giving a task back under SIGTERM
_KEEP_ALIVE_WAIT_S = 1.0


class WorkerPreempted(SystemExit):
    """A SIGTERM'd worker stops: exit code :data:`PREEMPTED_EXIT_CODE`, no traceback.

    A ``SystemExit``, so no ``except Exception`` in an operator swallows it and the pipeline does not
    count it as a failed task.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(PREEMPTED_EXIT_CODE)
        self.reason = reason


class Preemption:
    """SIGTERM handling of one worker loop (installed only in the main thread).

    The worker sets :attr:`lease` to the lease of the task it is running (``None`` between tasks) and
    reads :attr:`requested` to stop fetching.
    """

    def __init__(self, grace: float, queue_name: str) -> None:
        self.grace = grace
        self.queue_name = queue_name
        self.requested = False
        self.expired = False
        self.lease: Lease | None = None
        self._previous: Any = None
        self._previous_wakeup_fd = -1
        self._pipe: tuple[int, int] | None = None
        self._installed = False
        self._lock = threading.Lock()
        self._timers: list[threading.Timer] = []
        self._closed = False
        self._main_ident = threading.main_thread().ident

    # ---- installation ---------------------------------------------------------------------------
    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers live in the main thread; an embedded worker keeps its host's
        self._previous = signal.signal(signal.SIGTERM, self._on_signal)
        self._installed = True
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        self._pipe = (read_fd, write_fd)
        self._previous_wakeup_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, args=(read_fd,), name="chunkflow-sigterm", daemon=True).start()

    def uninstall(self) -> None:
        with self._lock:
            self._closed = True  # no timer starts after this
            for timer in self._timers:
                timer.cancel()
        if self._installed and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._previous)
            signal.set_wakeup_fd(self._previous_wakeup_fd)
            self._installed = False
        if self._pipe is not None:
            os.close(self._pipe[1])  # the watcher reads end-of-file and stops; it closes the read end
            self._pipe = None

    def _watch(self, read_fd: int) -> None:
        """Notice SIGTERM at once, even while the main thread is in native code and cannot run the handler."""
        try:
            while data := os.read(read_fd, 64):
                if int(signal.SIGTERM) in data:
                    self._request()
        finally:
            os.close(read_fd)

    def _timer(self, seconds: float, function: Any) -> None:
        """Start a timer thread, unless the worker loop has ended (call with ``_lock`` held)."""
        if self._closed:
            return
        timer = threading.Timer(seconds, function)
        timer.daemon = True
        timer.name = "chunkflow-preemption"
        self._timers.append(timer)
        timer.start()

    # ---- the handler (main thread) --------------------------------------------------------------
    def _running(self) -> Lease | None:
        lease = self.lease
        return lease if lease is not None and lease.state == "running" and not lease.closing else None

    def _request(self) -> None:
        """The first SIGTERM (from the watcher or the handler, whichever comes first): stop, start the grace."""
        with self._lock:
            if self.requested:
                return
            self.requested = True
            self._timer(self.grace, self._expire)
        lease = self._running()
        if lease is None:
            log.warning("SIGTERM: stopping (no task running); exit code %d", PREEMPTED_EXIT_CODE)
        else:
            log.warning(
                "SIGTERM: stopped fetching; task %s may finish within --grace %g s, else it goes back to %s",
                lease.message.body,
                self.grace,
                self.queue_name,
            )

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._request()
        if self.expired:
            self._abandon()

    def _abandon(self) -> None:
        lease = self._running()
        if lease is None:
            return  # the task ended (or is being acknowledged): the worker loop exits by itself
        log.warning(
            "task %s did not finish within --grace %g s; giving it back to %s and exiting %d",
            lease.message.body,
            self.grace,
            self.queue_name,
            PREEMPTED_EXIT_CODE,
        )
        try:
            lease.release(wait=_KEEP_ALIVE_WAIT_S)
        except QueueError as exc:
            log.warning("%s", exc)
        raise WorkerPreempted(f"task {lease.message.body} given back after --grace {self.grace:g} s")

    # ---- timers (their own threads) -------------------------------------------------------------
    def _expire(self) -> None:
        """The grace is over: interrupt the main thread (a real signal also cuts short a sleep or a wait)."""
        self.expired = True
        with self._lock:
            self._timer(BACKSTOP_S, self._backstop)
        if self._running() is not None and self._main_ident is not None:
            signal.pthread_kill(self._main_ident, signal.SIGTERM)

    def _backstop(self) -> None:
        """The main thread did not unwind (native code holding it): give the lease back and end here.

        Nothing here waits on a lock the stuck main thread may hold: the message goes straight to stderr,
        and the give-back runs in a thread of its own, waited for a bounded time.
        """
        lease = self._running()
        what = "worker" if lease is None else f"task {lease.message.body}"
        done = ""
        if lease is not None:
            giver = threading.Thread(target=_release_quietly, args=(lease,), name="chunkflow-give-back", daemon=True)
            giver.start()
            giver.join(2 * _KEEP_ALIVE_WAIT_S)
            done = "could not give it back (its lease runs out), " if giver.is_alive() else "gave it back, "
        os.write(
            2,
            f"ERROR chunkflow.queues.preemption: {what} still running {BACKSTOP_S:g} s after --grace; "
            f"{done}exiting {PREEMPTED_EXIT_CODE}\n".encode(),
        )
        os._exit(PREEMPTED_EXIT_CODE)


def _release_quietly(lease: Lease) -> None:
    try:
        lease.release(wait=_KEEP_ALIVE_WAIT_S)
    except Exception:  # noqa: BLE001, S110 - the process exits now; the lease timeout is the fallback
        pass
