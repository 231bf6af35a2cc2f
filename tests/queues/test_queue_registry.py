"""The queue-backend registry: scheme -> TaskQueue class, entry points, and base.py importing no backend."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

from chunkflow.errors import QueueError
from chunkflow.queues import open_queue
from chunkflow.queues import registry as qreg
from chunkflow.queues.base import Message, QueueCounts, TaskQueue
from chunkflow.queues.file_queue import FileQueue
from chunkflow.registry import Registry


class MemQueue(TaskQueue):
    """A list in memory: enough of a backend to show what open_queue hands it."""

    def __init__(self, address: str, max_receive_count: int | None = None, create: bool = True) -> None:
        self.name, self.max_receive_count, self.created = f"mem://{address}", max_receive_count or 5, create
        self.address = address
        self.bodies: list[str] = []

    def send(self, bodies: Iterable[str]) -> int:
        before = len(self.bodies)
        self.bodies.extend(bodies)
        return len(self.bodies) - before

    def receive(self, visibility_timeout: float) -> Message | None:
        return Message(self.bodies.pop(0), None, queue=self) if self.bodies else None

    def delete(self, message: Message) -> None:
        pass

    def release(self, message: Message) -> None:
        self.bodies.append(message.body)

    def extend(self, message: Message, visibility_timeout: float) -> None:
        pass

    def counts(self) -> QueueCounts:
        return QueueCounts(waiting=len(self.bodies), in_flight=0, dead=0)

    def purge(self) -> None:
        self.bodies.clear()

    def requeue_dead(self) -> int:
        return 0


@pytest.fixture
def mem_scheme():
    qreg.QUEUES.register("mem", f"{__name__}:MemQueue")  # a string target, as an entry point gives
    yield
    qreg.QUEUES.unregister("mem")


def test_registered_scheme_opens_its_backend(mem_scheme):
    q = open_queue("mem://jobs/a", max_receive_count=2, create=False)
    assert isinstance(q, MemQueue) and q.address == "jobs/a" and q.max_receive_count == 2 and q.created is False
    assert q.send(["x", "y"]) == 2 and q.receive(1.0).body == "x"  # type: ignore[union-attr]


def test_builtin_schemes_and_bare_names(tmp_path, monkeypatch):
    q = open_queue(f"file://{tmp_path}/q")
    assert isinstance(q, FileQueue) and q.root == tmp_path / "q"
    # the SQS backend needs a server: stand MemQueue in for it to see which address it gets
    fresh = Registry("queue scheme", qreg.ENTRY_POINT_GROUP, {**qreg.BUILTIN_QUEUES, "sqs": f"{__name__}:MemQueue"})
    monkeypatch.setattr(qreg, "QUEUES", fresh)
    assert open_queue("tasks").address == "tasks"  # type: ignore[attr-defined]
    assert open_queue("sqs://tasks").address == "tasks"  # type: ignore[attr-defined]


def test_unknown_scheme_lists_the_known_ones():
    with pytest.raises(QueueError, match=r"'redis://h/q' has an unknown scheme; use file://, sqs://.*redis://"):
        open_queue("redis://h/q")
    with pytest.raises(QueueError, match="at least 1"):
        open_queue("mem://x", max_receive_count=0)


def test_a_registered_non_queue_is_refused():
    qreg.QUEUES.register("notaqueue", f"{__name__}:test_a_registered_non_queue_is_refused")
    try:
        with pytest.raises(QueueError, match="not a TaskQueue subclass"):
            open_queue("notaqueue://x")
    finally:
        qreg.QUEUES.unregister("notaqueue")


def test_entry_point_group_is_read(tmp_path, monkeypatch):
    dist = tmp_path / "site" / "memq-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: memq\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[chunkflow.queues]\nmem = {__name__}:MemQueue\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    fresh = Registry("queue scheme", qreg.ENTRY_POINT_GROUP, qreg.BUILTIN_QUEUES, check=qreg._as_backend)
    monkeypatch.setattr(qreg, "QUEUES", fresh)
    assert fresh.names() == ["file", "sqs", "mem"]
    assert isinstance(open_queue("mem://x"), MemQueue)


def test_base_imports_no_backend():
    import chunkflow.queues.base as base

    tree = ast.parse(Path(base.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith("chunkflow.queues")}
