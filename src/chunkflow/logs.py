"""Logging set-up and per-task progress lines that work where the output goes.

On a terminal the task loop shows a progress bar (tqdm) and per-task lines only at ``debug``; elsewhere
(Slurm, Kubernetes, a log collector) every finished task gets one ``info`` line with its box, seconds per
operator and voxels/s, and long loops print a summary with rate (and ETA where the total is known) every
``summary_every_s`` seconds. ``--log-format json`` writes one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

__all__ = ["configure_logging", "JsonFormatter", "TaskReporter"]

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"

# fields of a log record that are not extras
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and any ``extra={...}`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not the stream of the moment the
    handler was made (which a test harness or an embedding program may since have closed)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str = "info", log_format: str = "text") -> None:
    """Configure the root logger once per process (stderr; ``text`` or ``json`` lines)."""
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_chunkflow", False)]:
        root.removeHandler(old)
    handler._chunkflow = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    # the storage libraries log every endpoint lookup and retry at INFO; they speak only when it matters
    if level.lower() != "debug":
        for name in ("botocore", "boto3", "urllib3", "s3transfer", "google", "cloudfiles"):
            logging.getLogger(name).setLevel(logging.WARNING)


def _interactive() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class TaskReporter:
    """Logs one line per finished task and a periodic summary; quiet (debug level) on a terminal."""

    def __init__(
        self, total: int | None = None, summary_every_s: float = 60.0, interactive: bool | None = None
    ) -> None:
        self.total = total
        self.summary_every_s = summary_every_s
        self.level = logging.DEBUG if (_interactive() if interactive is None else interactive) else logging.INFO
        self.log = logging.getLogger("chunkflow.progress")
        self.start = time.monotonic()
        self.last_summary = self.start
        self.done = 0
        self.skipped = 0
        self.failed = 0

    def task_done(self, task: Any, failed: bool = False) -> None:
        """Record a finished task (``task`` is a :class:`chunkflow.task.Task`) and log its line."""
        seconds = sum(task.log.values())
        if failed:
            self.failed += 1
        elif task.skip:
            self.skipped += 1
        else:
            self.done += 1
        voxels = int(task.bbox.size.prod()) if task.bbox is not None else None
        rate = f", {voxels / seconds / 1e6:.2f} Mvoxel/s" if voxels and seconds > 0 else ""
        per_op = ", ".join(f"{name} {s:.2f} s" for name, s in task.log.items())
        status = "failed" if failed else "skipped" if task.skip else "done"
        if self.log.isEnabledFor(self.level):
            self.log.log(
                self.level,
                "task %s %s in %.2f s%s (%s)",
                task.name,
                status,
                seconds,
                rate,
                per_op or "no operators",
                extra={
                    "task": task.name,
                    "status": status,
                    "seconds": round(seconds, 4),
                    "operators": {k: round(v, 4) for k, v in task.log.items()},
                    "voxels": voxels,
                },
            )
        now = time.monotonic()
        if now - self.last_summary >= self.summary_every_s:
            self.last_summary = now
            self.summary()

    def summary(self) -> str:
        """Log (at info) and return one line: tasks done/skipped/failed, rate and ETA."""
        elapsed = time.monotonic() - self.start
        finished = self.done + self.skipped + self.failed
        rate = finished / elapsed if elapsed > 0 else 0.0
        text = f"{self.done} tasks done, {self.skipped} skipped, {self.failed} failed in {elapsed:.0f} s ({rate * 60:.1f}/min)"
        if self.total is not None and rate > 0:
            left = max(self.total - finished, 0)
            text += f"; {left} of {self.total} left, ETA {left / rate:.0f} s"
        self.log.info(
            text,
            extra={
                "done": self.done,
                "skipped": self.skipped,
                "failed": self.failed,
                "elapsed_s": round(elapsed, 2),
                "total": self.total,
            },
        )
        return text
