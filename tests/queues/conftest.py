from __future__ import annotations

import socket
import uuid

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sqs_endpoint(moto_server):
    """A real SQS HTTP endpoint: the session's moto server (S3 and SQS) on 127.0.0.1, dummy credentials."""
    return moto_server


@pytest.fixture(params=["file", "sqs"])
def queue_name(request, tmp_path):
    if request.param == "file":
        return f"file://{tmp_path}/queue"
    request.getfixturevalue("sqs_endpoint")
    return f"sqs://chunkflow-test-{uuid.uuid4().hex[:10]}"
