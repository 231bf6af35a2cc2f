"""A :class:`Task`: what operators pass along the chain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from chunkflow.chunk.base import Chunk
from chunkflow.errors import MissingChunkError
from chunkflow.geometry import BoundingBox

__all__ = ["Task", "CreatePolicy"]


@dataclass(frozen=True)
class CreatePolicy:
    """Whether and how a save operator may create a missing output volume for a task.

    Set by the task's source and passed explicitly to :func:`chunkflow.volumes.save_chunk` (never through
    globals): a local ``generate-tasks`` loop gives ``region`` (a created volume covers the whole plan, not
    the first chunk); queue workers and task files give ``refused_by`` (their tasks run side by side, so
    a missing volume is refused instead of each creating it from its own chunk).
    """

    region: BoundingBox | None = None
    refused_by: str | None = None


@dataclass
class Task:
    """One unit of work: an optional bounding box and the named chunks computed for it.

    Attributes
    ----------
    bbox : BoundingBox or None
        The region this task covers (``None`` for a chain that starts from a file).
    chunks : dict[str, Chunk]
        Named chunks; the CLI's ``-i``/``-o`` names are keys here.
    log : dict[str, float]
        Seconds spent per operator.
    skip : bool
        Set by ``skip-task-by-file`` and friends: later operators leave the task alone.
    lease : object or None
        The queue message this task came from, acknowledged by ``delete-task-in-queue``.
    params : dict
        Extra fields of the task message (stage, job) for multi-stage jobs.
    create_policy : CreatePolicy
        How save operators may create a missing output volume (set by the task source).
    """

    bbox: BoundingBox | None = None
    chunks: dict[str, Chunk] = field(default_factory=dict)
    log: dict[str, float] = field(default_factory=dict)
    skip: bool = False
    lease: Any = None
    index: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    create_policy: CreatePolicy = field(default_factory=CreatePolicy)

    def __getitem__(self, name: str) -> Chunk:
        try:
            return self.chunks[name]
        except KeyError:
            have = ", ".join(sorted(self.chunks)) or "none"
            raise MissingChunkError(
                f"no chunk named {name!r} in this task (it has: {have}); check the -i/-o names of the chain"
            ) from None

    def __setitem__(self, name: str, chunk: Chunk) -> None:
        self.chunks[name] = chunk

    def __contains__(self, name: str) -> bool:
        return name in self.chunks

    def pop(self, name: str) -> Chunk:
        chunk = self[name]
        del self.chunks[name]
        return chunk

    @contextmanager
    def timed(self, operator_name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.log[operator_name] = self.log.get(operator_name, 0.0) + time.perf_counter() - start

    @property
    def name(self) -> str:
        return str(self.bbox) if self.bbox is not None else f"task-{self.index}"
