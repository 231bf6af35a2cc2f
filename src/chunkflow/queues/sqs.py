"""AWS SQS through boto3. Honours ``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION`` and ``AWS_PROFILE``.

A queue is created on first use with a dead-letter queue ``NAME-dead-letter`` and a redrive
policy of ``max_receive_count``. Inserts go 10 per request (SQS's limit), several requests at a
time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any

from chunkflow.errors import QueueError
from chunkflow.queues.base import DEFAULT_MAX_RECEIVE_COUNT, Message, QueueCounts, TaskQueue

__all__ = ["SQSQueue"]

_BATCH = 10
_SEND_THREADS = 8


def _client() -> Any:
    import boto3
    from botocore.config import Config

    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    session = boto3.session.Session(profile_name=os.environ.get("AWS_PROFILE"))
    config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=_SEND_THREADS * 2,
    )
    return session.client("sqs", region_name=region, config=config)


def _explain(exc: BaseException, name: str) -> QueueError:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from chunkflow.redact import redact

    if isinstance(exc, NoCredentialsError):
        return QueueError(
            f"no AWS credentials for SQS queue {name!r}; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
        )
    if isinstance(exc, ClientError):
        return QueueError(
            redact(f"SQS refused the request for queue {name!r}: {exc.response['Error'].get('Message', exc)}")
        )
    if isinstance(exc, BotoCoreError):
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "the AWS endpoint")
        return QueueError(redact(f"cannot reach SQS at {endpoint} for queue {name!r}: {exc}"))
    return QueueError(redact(f"SQS error for queue {name!r}: {exc}"))


class SQSQueue(TaskQueue):
    def __init__(self, name: str, max_receive_count: int | None = None, create: bool = True) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if not name or "/" in name:
            raise QueueError(f"{name!r} is not an SQS queue name")
        self.name = name
        self.client = _client()
        try:
            self.url = self._queue_url(name, create)
            self.dead_url = self._queue_url(f"{name}-dead-letter", create)
            current = self._redrive_max_receive_count()
            self.max_receive_count = max_receive_count or current or DEFAULT_MAX_RECEIVE_COUNT
            if create and (current is None or (max_receive_count is not None and max_receive_count != current)):
                self._set_redrive()
        except (BotoCoreError, ClientError) as exc:
            raise _explain(exc, name) from None

    def _redrive_max_receive_count(self) -> int | None:
        attrs = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["RedrivePolicy"]).get(
            "Attributes", {}
        )
        try:
            return int(json.loads(attrs["RedrivePolicy"])["maxReceiveCount"])
        except (KeyError, ValueError, TypeError):
            return None

    def _queue_url(self, name: str, create: bool) -> str:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as exc:
            if not create or "NonExistent" not in exc.response["Error"].get("Code", ""):
                raise
        return self.client.create_queue(QueueName=name)["QueueUrl"]

    def _set_redrive(self) -> None:
        arn = self.client.get_queue_attributes(QueueUrl=self.dead_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(self.max_receive_count)})
        self.client.set_queue_attributes(QueueUrl=self.url, Attributes={"RedrivePolicy": policy})

    def _call(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise _explain(exc, self.name) from None

    def send(self, bodies: Iterable[str]) -> int:
        def batches() -> Iterable[list[str]]:
            it = iter(bodies)
            while batch := list(islice(it, _BATCH)):
                yield batch

        def send_batch(batch: list[str]) -> int:
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)]
            response = self._call("send_message_batch", QueueUrl=self.url, Entries=entries)
            if response.get("Failed"):
                raise QueueError(
                    f"SQS refused {len(response['Failed'])} messages: {response['Failed'][0].get('Message')}"
                )
            return len(batch)

        with ThreadPoolExecutor(_SEND_THREADS) as pool:
            return sum(pool.map(send_batch, batches()))

    def receive(self, visibility_timeout: float) -> Message | None:
        response = self._call(
            "receive_message",
            QueueUrl=self.url,
            MaxNumberOfMessages=1,
            VisibilityTimeout=int(visibility_timeout),
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return None
        m = messages[0]
        count = int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1))
        return Message(m["Body"], m["ReceiptHandle"], count, self)

    def delete(self, message: Message) -> None:
        self._call("delete_message", QueueUrl=self.url, ReceiptHandle=message.handle)

    def dead_letter(self, message: Message) -> None:
        self._call("send_message", QueueUrl=self.dead_url, MessageBody=message.body or "(empty)")
        self.delete(message)

    def release(self, message: Message) -> None:
        self._call("change_message_visibility", QueueUrl=self.url, ReceiptHandle=message.handle, VisibilityTimeout=0)

    def extend(self, message: Message, visibility_timeout: float) -> None:
        self._call(
            "change_message_visibility",
            QueueUrl=self.url,
            ReceiptHandle=message.handle,
            VisibilityTimeout=int(visibility_timeout),
        )

    def counts(self) -> QueueCounts:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        main = self._call("get_queue_attributes", QueueUrl=self.url, AttributeNames=names)["Attributes"]
        dead = self._call("get_queue_attributes", QueueUrl=self.dead_url, AttributeNames=names)["Attributes"]
        return QueueCounts(int(main[names[0]]), int(main[names[1]]), int(dead[names[0]]) + int(dead[names[1]]))

    def purge(self) -> None:
        for url in (self.url, self.dead_url):
            self._call("purge_queue", QueueUrl=url)

    def requeue_dead(self) -> int:
        moved = 0
        while True:
            response = self._call(
                "receive_message",
                QueueUrl=self.dead_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                WaitTimeSeconds=0,
            )
            messages = response.get("Messages", [])
            if not messages:
                return moved
            self.send(m["Body"] for m in messages)
            for m in messages:
                self._call("delete_message", QueueUrl=self.dead_url, ReceiptHandle=m["ReceiptHandle"])
            moved += len(messages)
