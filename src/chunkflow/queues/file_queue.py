"""A task queue in a directory: one machine, or many on a shared filesystem.

Layout under the queue directory::

    waiting/<id>__<receives>          visible messages
    leased/<id>__<receives>__<until>  in flight; <until> is the lease deadline (ms since epoch)
    dead/<id>__<receives>             dead letters
    completed.log                     one line per acknowledged task (for rate and ETA)

Every state change is one ``os.rename``, which is atomic on POSIX filesystems: of several
workers renaming the same waiting file, exactly one wins the lease. Expired leases are renamed
back to ``waiting`` by whichever process notices first. Message bodies live in the file.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from chunkflow.errors import QueueError
from chunkflow.queues.base import Message, QueueCounts, TaskQueue

__all__ = ["FileQueue"]

_RATE_WINDOW_S = 300.0


def _now_ms() -> int:
    return int(time.time() * 1000)


class FileQueue(TaskQueue):
    def __init__(self, path: str, max_receive_count: int = 5, create: bool = True) -> None:
        self.root = Path(path)
        self.name = f"file://{self.root}"
        self.max_receive_count = max_receive_count
        self.waiting, self.leased, self.dead = self.root / "waiting", self.root / "leased", self.root / "dead"
        if not self.waiting.is_dir():
            if not create:
                raise QueueError(f"no file queue at {self.root}; create it with generate-tasks --queue-name {self.name}")
            for d in (self.waiting, self.leased, self.dead):
                d.mkdir(parents=True, exist_ok=True)
        self._prefix = f"{_now_ms():013d}-{uuid.uuid4().hex[:8]}"
        self._seq = 0
        self._last_sweep = 0.0

    # ---- producer ---------------------------------------------------------------------------
    def send(self, bodies: Iterable[str]) -> int:
        """Write each body to a temporary name in ``waiting`` and rename it visible."""
        count = 0
        tmp_dir = self.waiting
        for body in bodies:
            self._seq += 1
            name = f"{self._prefix}-{self._seq:09d}"
            tmp = tmp_dir / f".{name}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, body.encode())
            finally:
                os.close(fd)
            os.rename(tmp, tmp_dir / f"{name}__0")
            count += 1
        return count

    # ---- consumer ---------------------------------------------------------------------------
    def receive(self, visibility_timeout: float) -> Message | None:
        self._sweep_expired()
        deadline = _now_ms() + int(visibility_timeout * 1000)
        with os.scandir(self.waiting) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                ident, _, receives = entry.name.rpartition("__")
                count = int(receives) + 1
                if count > self.max_receive_count:
                    self._try_rename(entry.path, self.dead / entry.name)
                    continue
                leased = self.leased / f"{ident}__{count}__{deadline}"
                if self._try_rename(entry.path, leased):
                    return Message(leased.read_text(), leased, count, self)
        return None

    def delete(self, message: Message) -> None:
        try:
            os.unlink(message.handle)
        except FileNotFoundError:
            raise QueueError(f"lease on {Path(message.handle).name} was lost before the task finished") from None
        with open(self.root / "completed.log", "a") as log:
            log.write(f"{time.time():.3f}\n")

    def release(self, message: Message) -> None:
        ident, count, _ = Path(message.handle).name.split("__")
        self._try_rename(message.handle, self.waiting / f"{ident}__{count}")

    def extend(self, message: Message, visibility_timeout: float) -> None:
        ident, count, _ = Path(message.handle).name.split("__")
        renewed = self.leased / f"{ident}__{count}__{_now_ms() + int(visibility_timeout * 1000)}"
        if not self._try_rename(message.handle, renewed):
            raise QueueError(f"lease on {ident} was lost (it expired and went back to the queue)")
        message.handle = renewed

    def _sweep_expired(self, force: bool = False) -> None:
        """Put leases whose deadline passed back in ``waiting`` (at most every 0.5 s per process)."""
        now = time.monotonic()
        if not force and now - self._last_sweep < 0.5:
            return
        self._last_sweep = now
        now_ms = _now_ms()
        with os.scandir(self.leased) as entries:
            for entry in entries:
                ident, count, until = entry.name.split("__")
                if int(until) < now_ms:
                    self._try_rename(entry.path, self.waiting / f"{ident}__{count}")

    @staticmethod
    def _try_rename(src: str | os.PathLike[str], dst: os.PathLike[str]) -> bool:
        try:
            os.rename(src, dst)
            return True
        except FileNotFoundError:
            return False

    # ---- admin ------------------------------------------------------------------------------
    def counts(self) -> QueueCounts:
        self._sweep_expired(force=True)

        def n(d: Path) -> int:
            with os.scandir(d) as entries:
                return sum(1 for e in entries if not e.name.startswith("."))

        completed, rate = self._completion_stats()
        return QueueCounts(n(self.waiting), n(self.leased), n(self.dead), completed, rate)

    def _completion_stats(self) -> tuple[int, float | None]:
        log = self.root / "completed.log"
        if not log.exists():
            return 0, None
        stamps = [float(line) for line in log.read_text().split()]
        recent = [t for t in stamps if t > time.time() - _RATE_WINDOW_S]
        if len(recent) < 2:
            return len(stamps), None
        span = max(recent[-1] - recent[0], 1e-3)
        return len(stamps), (len(recent) - 1) / span

    def purge(self) -> None:
        for d in (self.waiting, self.leased, self.dead):
            for p in d.iterdir():
                p.unlink(missing_ok=True)
        (self.root / "completed.log").unlink(missing_ok=True)

    def requeue_dead(self) -> int:
        moved = 0
        for p in self.dead.iterdir():
            ident = p.name.rpartition("__")[0]
            moved += self._try_rename(p, self.waiting / f"{ident}__0")
        return moved
