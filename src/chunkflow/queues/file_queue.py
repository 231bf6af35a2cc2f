"""A task queue in a directory: one machine, or many on a shared filesystem.

Layout under the queue directory::

    waiting/<id>__<receives>          visible messages
    leased/<id>__<receives>__<until>  in flight; <until> is the lease deadline (ms since epoch)
    dead/<id>__<receives>             dead letters (SQS's NAME-dead-letter queue)
    completed.log                     one line per acknowledged task (for rate and ETA)
    config.json                       {"max_receive_count": N}, set by the producer

Any other file in these directories (a README, an editor's backup, a half-written ``.tmp``) is
ignored with one warning; an unparseable line of ``completed.log`` is skipped.

Every state change is one ``os.rename``, which is atomic on POSIX filesystems: of several
workers renaming the same waiting file, exactly one wins the lease. Expired leases are renamed
back to ``waiting`` by whichever process notices first. Message bodies live in the file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from chunkflow.errors import QueueError
from chunkflow.queues.base import DEFAULT_MAX_RECEIVE_COUNT, Message, QueueCounts, TaskQueue

__all__ = ["FileQueue"]

log = logging.getLogger(__name__)

_RATE_WINDOW_S = 300.0
_WAITING = re.compile(r"^(?P<ident>[A-Za-z0-9-]+)__(?P<count>\d{1,6})$")
_LEASED = re.compile(r"^(?P<ident>[A-Za-z0-9-]+)__(?P<count>\d{1,6})__(?P<until>\d{1,16})$")
_CONFIG = "config.json"


def _now_ms() -> int:
    return int(time.time() * 1000)


class FileQueue(TaskQueue):
    def __init__(self, path: str, max_receive_count: int | None = None, create: bool = True) -> None:
        self.root = Path(path)
        self.name = f"file://{self.root}"
        self.waiting, self.leased, self.dead = self.root / "waiting", self.root / "leased", self.root / "dead"
        if not self.waiting.is_dir():
            if not create:
                raise QueueError(
                    f"no file queue at {self.root}; create it with generate-tasks --queue-name {self.name}"
                )
            try:
                for d in (self.waiting, self.leased, self.dead):
                    d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise QueueError(f"cannot create a file queue at {self.root}: {exc.strerror}") from None
        for d in (self.leased, self.dead):
            d.mkdir(exist_ok=True)
        stored = self._stored_max_receive_count()
        self.max_receive_count = max_receive_count or stored or DEFAULT_MAX_RECEIVE_COUNT
        if max_receive_count is not None and max_receive_count != stored:
            self._store_config()
        self._prefix = f"{_now_ms():013d}-{uuid.uuid4().hex[:8]}"
        self._seq = 0
        self._last_sweep = 0.0
        self._warned: set[str] = set()

    # ---- configuration kept with the queue (like SQS's redrive policy) ---------------------------
    def _stored_max_receive_count(self) -> int | None:
        try:
            value = json.loads((self.root / _CONFIG).read_text()).get("max_receive_count")
            return int(value) if int(value) >= 1 else None
        except (OSError, ValueError, TypeError, AttributeError):
            return None

    def _store_config(self) -> None:
        tmp = self.root / f".{_CONFIG}.{uuid.uuid4().hex}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
        try:
            os.write(fd, json.dumps({"max_receive_count": self.max_receive_count}).encode())
        finally:
            os.close(fd)
        os.replace(tmp, self.root / _CONFIG)

    def _stray(self, directory: Path, name: str) -> None:
        """A file that is not a message (a README, an editor's backup): left alone, said once."""
        key = f"{directory.name}/{name}"
        if key not in self._warned:
            self._warned.add(key)
            log.warning("ignoring %s in file queue %s: not a task message file", key, self.root)

    # ---- producer ---------------------------------------------------------------------------
    def send(self, bodies: Iterable[str]) -> int:
        """Write each body to a temporary name in ``waiting`` and rename it visible."""
        count = 0
        tmp_dir = self.waiting
        for body in bodies:
            self._seq += 1
            name = f"{self._prefix}-{self._seq:09d}"
            tmp = tmp_dir / f".{name}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
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
                match = _WAITING.match(entry.name)
                if match is None or not entry.is_file(follow_symlinks=False):
                    self._stray(self.waiting, entry.name)
                    continue
                ident, count = match["ident"], int(match["count"]) + 1
                if count > self.max_receive_count:
                    self._try_rename(entry.path, self.dead / entry.name)
                    continue
                leased = self.leased / f"{ident}__{count}__{deadline}"
                if not self._try_rename(entry.path, leased):
                    continue
                try:
                    body = leased.read_bytes().decode("utf-8", errors="replace")
                except FileNotFoundError:  # swept back by another process already: not ours any more
                    continue
                return Message(body, leased, count, self)
        return None

    def delete(self, message: Message) -> None:
        try:
            os.unlink(message.handle)
        except FileNotFoundError:
            raise QueueError(f"lease on {Path(message.handle).name} was lost before the task finished") from None
        with open(self.root / "completed.log", "a") as completed:
            completed.write(f"{time.time():.3f}\n")

    def release(self, message: Message) -> None:
        match = _LEASED.match(Path(message.handle).name)
        if match is not None:
            self._try_rename(message.handle, self.waiting / f"{match['ident']}__{match['count']}")

    def dead_letter(self, message: Message) -> None:
        match = _LEASED.match(Path(message.handle).name)
        if match is not None:
            self._try_rename(message.handle, self.dead / f"{match['ident']}__{match['count']}")

    def extend(self, message: Message, visibility_timeout: float) -> None:
        match = _LEASED.match(Path(message.handle).name)
        if match is None:
            raise QueueError(f"{message.handle} is not a lease of file queue {self.root}")
        ident, count = match["ident"], match["count"]
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
                match = _LEASED.match(entry.name)
                if match is None:
                    if not entry.name.startswith("."):
                        self._stray(self.leased, entry.name)
                    continue
                if int(match["until"]) < now_ms:
                    self._try_rename(entry.path, self.waiting / f"{match['ident']}__{match['count']}")

    @staticmethod
    def _try_rename(src: str | os.PathLike[str], dst: os.PathLike[str]) -> bool:
        try:
            os.rename(src, dst)
            return True
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return False

    # ---- admin ------------------------------------------------------------------------------
    def counts(self) -> QueueCounts:
        self._sweep_expired(force=True)

        def n(d: Path, pattern: re.Pattern[str]) -> int:
            with os.scandir(d) as entries:
                return sum(1 for e in entries if pattern.match(e.name) and e.is_file(follow_symlinks=False))

        completed, rate = self._completion_stats()
        return QueueCounts(n(self.waiting, _WAITING), n(self.leased, _LEASED), n(self.dead, _WAITING), completed, rate)

    def _completion_stats(self) -> tuple[int, float | None]:
        try:
            text = (self.root / "completed.log").read_bytes().decode("ascii", errors="replace")
        except (FileNotFoundError, IsADirectoryError):
            return 0, None
        stamps = []
        for word in text.split():
            try:
                stamps.append(float(word))
            except ValueError:  # a garbled line (an interrupted append, a stray edit): not a completion
                continue
        recent = [t for t in stamps if t > time.time() - _RATE_WINDOW_S]
        if len(recent) < 2:
            return len(stamps), None
        span = max(recent[-1] - recent[0], 1e-3)
        return len(stamps), (len(recent) - 1) / span

    def purge(self) -> None:
        for d, pattern in ((self.waiting, _WAITING), (self.leased, _LEASED), (self.dead, _WAITING)):
            for p in d.iterdir():
                if pattern.match(p.name) and p.is_file():
                    p.unlink(missing_ok=True)
        (self.root / "completed.log").unlink(missing_ok=True)

    def requeue_dead(self) -> int:
        moved = 0
        for p in self.dead.iterdir():
            match = _WAITING.match(p.name)
            if match is not None and p.is_file():
                moved += self._try_rename(p, self.waiting / f"{match['ident']}__0")
        return moved
