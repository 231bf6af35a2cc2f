"""Queues that survive what users and attackers send: poison messages of every JSON shape, stray
files, garbled logs; exit codes schedulers can trust; leases that need no tuning."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from chunkflow.cli import main
from chunkflow.errors import QueueError
from chunkflow.queues import open_queue
from chunkflow.queues.messages import decode
from chunkflow.queues.worker import DEFAULT_VISIBILITY_TIMEOUT_S, Worker

VALID = ["0-4_0-8_0-8", "4-8_0-8_0-8", '{"bbox": "0-4_8-16_0-8"}', "4-8_8-16_0-8"]
POISON = [
    '{"bbox": 5}', '{"bbox": {"a": 1}}', '{"bbox": [0, 4]}', '{"bbox": "1-2"}', '{"bbox": true}', "[]", "[1, 2]",
    '"0-4_0-8_0-8"', "null", "true", "42", "3.5", "{not json", '{"a": 1', "[" * 5000 + "]" * 5000,
    '{"bbox": "0-4_0-8_0-8", "x": ' + "[" * 3000 + "]" * 3000 + "}", "hello", "0-4_0-8", "a" * 300_000,
    "0-4_0-8_0-8_0-8", "0-4_0-8_0-x", "4-0_0-8_0-8", "\t", " ", "{}  garbage", '{"bbox": null, "x": 1} {"y": 2}',
]  # fmt: skip


@pytest.mark.parametrize("body", POISON)
def test_decode_refuses_every_shape_with_a_queue_error(body):
    with pytest.raises(QueueError, match="malformed task message"):
        decode(body)


@pytest.mark.parametrize("body", [b"\xff\xfe", 5, None, ["0-1_0-1_0-1"]])
def test_decode_refuses_non_text(body):
    with pytest.raises(QueueError, match="malformed task message"):
        decode(body)


def _worker(queue: str, out: Path, *extra: str) -> int:
    """A real worker chain, in this process: each task writes <out>/<bbox>.h5."""
    logging.disable(logging.CRITICAL)
    try:
        return main(
            [
                "fetch-task",
                "-q",
                queue,
                "-r",
                "1",
                "--retry-interval",
                "0.05",
                "-v",
                "5",
                *extra,
                "create-chunk",
                "-s",
                "4",
                "8",
                "8",
                "save-h5",
                "-f",
                f"{out}/",
                "delete-task-in-queue",
            ]
        )
    finally:
        logging.disable(logging.NOTSET)


def _expected_files() -> set[str]:
    return {f"{decode(b)[0]}.h5" for b in VALID}


def test_poison_in_front_of_valid_tasks_file_queue(tmp_path, capsys):
    queue = f"file://{tmp_path}/q"
    q = open_queue(queue, max_receive_count=2)
    q.send(POISON)
    (tmp_path / "q" / "waiting" / "zz-binary__0").write_bytes(b"\x00\xff\xfe garbage")  # a body that is not text
    q.send(VALID)
    out = tmp_path / "out"
    assert _worker(queue, out) == 1  # malformed messages were dead-lettered: schedulers see it
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{len(POISON) + 1} malformed message(s) were dead-lettered" in err
    assert {p.name for p in out.iterdir()} == _expected_files()
    counts = open_queue(queue).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (0, 0, len(POISON) + 1)
    assert _worker(queue, out) == 0  # nothing left: a second worker finds the queue drained and exits 0


def test_poison_in_front_of_valid_tasks_sqs(sqs_endpoint, tmp_path, capsys):
    import uuid

    queue = f"sqs://robust-{uuid.uuid4().hex[:8]}"
    q = open_queue(queue, max_receive_count=2)
    q.send(POISON[:-8] + ["a" * 200_000])  # SQS itself refuses bodies over 256 KiB and empty ones
    q.send(VALID)
    out = tmp_path / "out"
    assert _worker(queue, out) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{len(POISON) - 7} malformed message(s)" in err
    assert {p.name for p in out.iterdir()} == _expected_files()
    counts = open_queue(queue).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (0, 0, len(POISON) - 7)


def test_max_receive_count_is_kept_with_a_file_queue(tmp_path, capsys):
    """The producer's --max-receive-count holds for workers that open the queue without it."""
    queue = f"file://{tmp_path}/q"
    assert (
        main(
            [
                "generate-tasks",
                "-s",
                "0",
                "0",
                "0",
                "-r",
                "4",
                "8",
                "16",
                "-c",
                "4",
                "8",
                "8",
                "-q",
                queue,
                "--max-receive-count",
                "1",
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "q" / "config.json").read_text()) == {"max_receive_count": 1}
    assert open_queue(queue).max_receive_count == 1
    # a chain that fails every task: with max receive count 1 each task is tried once, then dead
    logging.disable(logging.CRITICAL)
    try:
        code = main(
            [
                "fetch-task",
                "-q",
                queue,
                "-r",
                "1",
                "--retry-interval",
                "0.05",
                "-v",
                "5",
                "create-chunk",
                "threshold",
                "-i",
                "nope",
            ]
        )
    finally:
        logging.disable(logging.NOTSET)
    assert code == 1
    assert "2 task(s) failed" in capsys.readouterr().err
    counts = open_queue(queue).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (0, 0, 2)


def test_stray_files_do_not_break_a_file_queue(tmp_path, capsys):
    queue = f"file://{tmp_path}/q"
    open_queue(queue).send(VALID)
    root = tmp_path / "q"
    (root / "waiting" / "README").write_text("notes")
    (root / "waiting" / "subdir__0").mkdir()
    (root / "leased" / "junk").write_text("x")
    (root / "leased" / "a__b__c").write_text("x")
    (root / "dead" / "whatever.txt").write_text("x")
    (root / "completed.log").write_bytes(b"1700000000.0\ngarbage\n\xff\xfe\n12.5.6\n")
    out = tmp_path / "out"
    assert _worker(queue, out) == 0
    assert {p.name for p in out.iterdir()} == _expected_files()
    counts = open_queue(queue).counts()
    assert (counts.waiting, counts.in_flight, counts.dead, counts.completed) == (0, 0, 0, 5)
    assert main(["queue", "status", queue]) == 0
    assert "waiting    0" in capsys.readouterr().out
    assert (root / "waiting" / "README").read_text() == "notes"  # left alone
    assert open_queue(queue).requeue_dead() == 0
    open_queue(queue).purge()
    assert (root / "waiting" / "README").exists()


def test_exit_codes(tmp_path, capsys):
    queue = f"file://{tmp_path}/q"
    open_queue(queue).send(VALID)
    assert _worker(queue, tmp_path / "out") == 0  # all done
    open_queue(queue).send(VALID)
    logging.disable(logging.CRITICAL)
    try:  # some fail: save-h5 into a path below a file
        (tmp_path / "file").write_text("")
        code = main(
            [
                "fetch-task",
                "-q",
                queue,
                "-r",
                "1",
                "--retry-interval",
                "0.05",
                "create-chunk",
                "-s",
                "4",
                "8",
                "8",
                "save-h5",
                "-f",
                f"{tmp_path}/file/",
                "delete-task-in-queue",
            ]
        )
    finally:
        logging.disable(logging.NOTSET)
    assert code == 1
    assert main(["fetch-task", "-q", queue, "--no-such-flag"]) == 2  # usage
    capsys.readouterr()


def test_default_lease_returns_a_killed_workers_task_within_a_minute():
    assert DEFAULT_VISIBILITY_TIMEOUT_S <= 60
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"visibility timeout defaults to {DEFAULT_VISIBILITY_TIMEOUT_S:.0f} s" in readme


def test_a_worker_waits_for_tasks_in_flight_elsewhere(tmp_path):
    """Nothing waiting but one task leased by a worker that died: a second worker with a tiny
    --retry-times does not leave; it picks the task up when the lease runs out."""
    queue = f"file://{tmp_path}/q"
    q = open_queue(queue)
    q.send(["0-4_0-8_0-8"])
    dead_lease = q.receive(visibility_timeout=2)  # taken by a worker that is then killed: never extended
    assert dead_lease is not None and q.counts().waiting == 0
    start = time.monotonic()
    worker = Worker(queue, visibility_timeout=5, retry_times=1, retry_interval=0.1, idle_timeout=60)
    tasks = []
    for task in worker.tasks():
        tasks.append(task)
        task.lease.done()
    assert [str(t.bbox) for t in tasks] == ["0-4_0-8_0-8"]
    assert 1.5 < time.monotonic() - start < 30
    assert q.counts().in_flight == 0 and worker.processed == 1


def test_idle_timeout_bounds_the_wait(tmp_path):
    queue = f"file://{tmp_path}/q"
    q = open_queue(queue)
    q.send(["0-4_0-8_0-8"])
    q.receive(visibility_timeout=600)  # a long task of a live worker
    start = time.monotonic()
    assert list(Worker(queue, retry_times=1, retry_interval=0.1, idle_timeout=1).tasks()) == []
    assert time.monotonic() - start < 10


def test_generate_tasks_loop_creates_the_whole_planned_volume(tmp_path):
    """The README's local pattern: save-precomputed -v NEW inside generate-tasks covers every task."""
    url = f"file://{tmp_path}/new"
    assert (
        main(
            [
                "generate-tasks",
                "-s",
                "0",
                "0",
                "0",
                "-r",
                "16",
                "64",
                "64",
                "-c",
                "16",
                "32",
                "32",
                "create-chunk",
                "--pattern",
                "random",
                "save-precomputed",
                "-v",
                url,
                "-b",
                "16",
                "32",
                "32",
            ]
        )
        == 0
    )
    from chunkflow.volumes import open_volume

    volume = open_volume(url)
    assert str(volume.bbox) == "0-16_0-64_0-64"
    assert (volume.read().array != 0).mean() > 0.9  # all four tasks landed


def test_workers_refuse_to_create_a_missing_volume(tmp_path, capsys):
    queue = f"file://{tmp_path}/q"
    open_queue(queue).send(VALID[:1])
    logging.disable(logging.CRITICAL)
    try:
        code = main(
            [
                "fetch-task",
                "-q",
                queue,
                "-r",
                "1",
                "--retry-interval",
                "0.05",
                "create-chunk",
                "-s",
                "4",
                "8",
                "8",
                "save-precomputed",
                "-v",
                f"file://{tmp_path}/missing",
                "delete-task-in-queue",
            ]
        )
    finally:
        logging.disable(logging.NOTSET)
    assert code == 1 and not (tmp_path / "missing").exists()


def test_generate_tasks_streams_a_large_plan(tmp_path):
    """200,000 boxes to a task file without a list of them; the count is said up front."""
    path = tmp_path / "tasks.txt"
    assert (
        main(
            ["generate-tasks", "-s", "0", "0", "0", "-r", "20", "1000", "1000", "-c", "1", "10", "10", "-f", str(path)]
        )
        == 0
    )
    lines = path.read_text().split()
    assert len(lines) == 200_000 and lines[0] == "0-1_0-10_0-10" and lines[-1] == "19-20_990-1000_990-1000"


def test_credentials_are_redacted_from_printed_urls(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://AKIAEXAMPLE:s3cr3t@127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    assert main(["queue", "status", "sqs://nowhere"]) == 1
    err = capsys.readouterr().err
    assert "s3cr3t" not in err and "AKIAEXAMPLE:***@127.0.0.1:9" in err
    from chunkflow.redact import redact

    assert (
        redact("https://h/x?X-Amz-Signature=abc&b=1 gs://u:p@b/") == "https://h/x?X-Amz-Signature=***&b=1 gs://u:***@b/"
    )


def test_soak_module_is_importable():
    """The soak benchmark (benchmarks/soak.py) exposes its pieces for a quick run."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "soak", Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"
    )
    assert spec is not None


def test_a_poison_message_error_is_dead_lettered_at_once(tmp_path):
    """A chain that knows a message can never succeed (PoisonMessageError, e.g. another job's task)
    sends it to the dead letters on the first receive, not after max-receive-count retries."""
    from chunkflow.queues.messages import PoisonMessageError
    from chunkflow.task import Task

    queue = f"file://{tmp_path}/q"
    open_queue(queue, max_receive_count=5).send(["0-4_0-8_0-8"])
    worker = Worker(queue, visibility_timeout=5, retry_times=0, retry_interval=0.05)
    tasks = worker.tasks()
    task: Task = next(tasks)
    assert worker.failed(task, PoisonMessageError("not this worker's job; refused"))
    with pytest.raises(QueueError, match="1 task\\(s\\) failed"):
        next(tasks)
    counts = open_queue(queue).counts()
    assert (counts.waiting, counts.in_flight, counts.dead) == (0, 0, 1) and task.lease.message.receive_count == 1
