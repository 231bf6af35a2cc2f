"""A drained queue lets its workers go as soon on SQS (whose receive long-polls 1 s) as on a file queue:
``--retry-times`` counts polls, capped at that many ``--retry-interval`` periods."""

from __future__ import annotations

import time

import pytest

from chunkflow.cli import main
from chunkflow.queues import open_queue


@pytest.mark.parametrize("retry_times", [4, 0])
def test_worker_leaves_a_drained_queue_after_its_retry_budget(queue_name, retry_times, capsys):
    open_queue(queue_name)  # exists, empty
    start = time.monotonic()
    code = main(
        [
            "fetch-task",
            "-q",
            queue_name,
            "-r",
            str(retry_times),
            "--retry-interval",
            "0.25",
            "create-chunk",
            "delete-task-in-queue",
        ]
    )
    elapsed = time.monotonic() - start
    assert code == 0
    # 4 polls of an SQS long poll were >= 4 s; the budget is 4 x 0.25 s (plus one receive and start-up)
    assert elapsed < (3.0 if retry_times else 2.0), elapsed
    if retry_times and queue_name.startswith("file://"):
        assert elapsed >= 0.75  # a file queue still polls its 4 times, 0.25 s apart
