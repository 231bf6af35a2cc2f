"""Running a chain of operators over a stream of tasks.

An operator is a :class:`Stage`. A *source* stage (``generate-tasks``, ``fetch-task-from-sqs``)
yields tasks and must come first; every other stage transforms one task in place. Without a
source, the chain runs once on one empty task (so ``create-chunk save-h5`` works).
A source may handle a failing task itself (``on_error``): queue workers log it, leave the
message for a retry and move on, so one bad task never stops a fleet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from chunkflow.errors import InvalidParameterError
from chunkflow.logs import TaskReporter
from chunkflow.task import Task

__all__ = ["Stage", "run_pipeline", "check_stages"]

log = logging.getLogger(__name__)


@dataclass
class Stage:
    """One operator in a chain.

    Exactly one of ``apply`` (a transform: called on each task) or ``produce`` (a source:
    called once with no arguments, yields tasks) is set.
    """

    name: str
    apply: Callable[[Task], None] | None = None
    produce: Callable[[], Iterable[Task]] | None = None
    #: a source's handler for a task whose chain raised; return True to go on with the next task
    on_error: Callable[[Task, BaseException], bool] | None = None
    #: run even on tasks marked ``skip`` (``delete-task-in-queue`` acknowledges skipped tasks too)
    run_on_skipped: bool = False
    #: a source's number of tasks where known (for the ETA of the progress summary)
    total: int | None = None
    #: why nothing may follow this stage, and what to do instead (``generate-tasks -q`` sends its tasks
    #: away: an operator after it would never run); ``{operators}`` stands for the ones that follow.
    #: None where operators may follow
    ends_chain: str | None = None

    @property
    def is_source(self) -> bool:
        return self.produce is not None


def check_stages(stages: list[Stage]) -> None:
    """Refuse a chain that cannot run as written: a source after the first stage, or any stage after
    one that ends the chain (the CLI reports these as usage errors, before any task runs)."""
    for position, stage in enumerate(stages):
        if stage.is_source and position != 0:
            raise InvalidParameterError(
                f"operator {stage.name!r} produces tasks and must come first in the chain (it is at position {position + 1})"
            )
        if stage.ends_chain is not None and position != len(stages) - 1:
            after = " ".join(s.name for s in stages[position + 1 :])
            raise InvalidParameterError(
                f"the operators after {stage.name} ({after}) would never run: "
                + stage.ends_chain.replace("{operators}", after)
            )


def run_pipeline(stages: list[Stage], reporter: TaskReporter | None = None) -> Iterator[Task]:
    """Run ``stages``; yields each finished task.

    Every finished task is reported (one log line per task where the output is not a
    terminal, see :class:`chunkflow.logs.TaskReporter`) and a summary is logged at the end.
    """
    check_stages(stages)
    if stages and stages[0].is_source:
        source, transforms = stages[0], stages[1:]
        tasks: Iterable[Task] = source.produce()  # type: ignore[misc]
        reporter = reporter or TaskReporter(total=source.total)
    else:
        source, transforms = None, stages
        tasks = [Task()]
        reporter = reporter or TaskReporter(total=1)
    for task in tasks:
        try:
            for stage in transforms:
                if task.skip and not stage.run_on_skipped:
                    continue
                with task.timed(stage.name):
                    stage.apply(task)  # type: ignore[misc]
        except Exception as exc:
            if source is not None and source.on_error is not None and source.on_error(task, exc):
                if reporter is not None:
                    reporter.task_done(task, failed=True)
                continue
            raise
        if reporter is not None:
            reporter.task_done(task)
        yield task
    if reporter is not None and (reporter.done + reporter.skipped + reporter.failed) > 1:
        reporter.summary()
