from __future__ import annotations

import os
import socket
import uuid

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def sqs_endpoint():
    """A real SQS HTTP endpoint: moto in server mode on 127.0.0.1, dummy credentials."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


@pytest.fixture(params=["file", "sqs"])
def queue_name(request, tmp_path):
    if request.param == "file":
        return f"file://{tmp_path}/queue"
    request.getfixturevalue("sqs_endpoint")
    return f"sqs://chunkflow-test-{uuid.uuid4().hex[:10]}"
