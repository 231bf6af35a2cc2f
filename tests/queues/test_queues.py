from __future__ import annotations

import time

import pytest

from chunkflow.errors import QueueError
from chunkflow.geometry import BoundingBox
from chunkflow.queues import open_queue
from chunkflow.queues.messages import decode, encode


def test_send_receive_delete(queue_name):
    q = open_queue(queue_name)
    bodies = [f"{i}-{i + 1}_0-8_0-8" for i in range(25)]
    assert q.send(bodies) == 25
    got = []
    while (m := q.receive(30)) is not None:
        got.append(m.body)
        m.delete()
    assert sorted(got) == sorted(bodies)
    counts = q.counts()
    assert counts.waiting == 0 and counts.in_flight == 0 and counts.dead == 0


def test_lease_expires_and_comes_back(queue_name):
    q = open_queue(queue_name)
    q.send(["0-1_0-1_0-1"])
    m = q.receive(1)
    assert m is not None and q.receive(30) is None  # leased: invisible
    time.sleep(1.6)
    again = q.receive(30)
    assert again is not None and again.body == m.body and again.receive_count == 2
    again.delete()


def test_extend_keeps_the_lease(queue_name):
    q = open_queue(queue_name)
    q.send(["0-1_0-1_0-1"])
    m = q.receive(1)
    for _ in range(3):
        time.sleep(0.6)
        m.extend(2)
    assert q.receive(30) is None
    m.delete()


def test_release_and_dead_letter_after_max_receives(queue_name):
    q = open_queue(queue_name, max_receive_count=2)
    q.send(["0-1_0-1_0-1"])
    for _ in range(2):
        m = q.receive(30)
        assert m is not None
        m.release()
    assert q.receive(30) is None  # third receive: moved to the dead-letter queue
    counts = q.counts()
    assert counts.dead == 1 and counts.waiting == 0
    assert q.requeue_dead() == 1
    assert q.receive(30).body == "0-1_0-1_0-1"


def test_purge(queue_name):
    q = open_queue(queue_name)
    q.send(["0-1_0-1_0-1"] * 3)
    q.purge()
    assert q.counts().waiting == 0


def test_messages_round_trip_and_malformed():
    box = BoundingBox.from_string("0-4_0-8_0-8")
    assert decode(encode(box)) == (box, {})
    assert decode(encode(box, stage="label", job="{}")) == (box, {"stage": "label", "job": "{}"})
    assert decode(encode(None, stage="merge")) == (None, {"stage": "merge"})
    for bad in ("hello", "{not json", "[1, 2]", '{"bbox": "1-2"}'):
        with pytest.raises(QueueError, match="malformed task message"):
            decode(bad)


def test_unknown_scheme_and_unreachable_endpoint(monkeypatch):
    with pytest.raises(QueueError, match="unknown scheme"):
        open_queue("redis://localhost/q")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with pytest.raises(QueueError, match="cannot reach SQS at http://127.0.0.1:9"):
        open_queue("sqs://nowhere")


def test_missing_file_queue_for_worker(tmp_path):
    with pytest.raises(QueueError, match="no file queue"):
        open_queue(f"file://{tmp_path}/none", create=False)
