"""chunkflow 1.2.0's ``chunkflow.lib.aws.sqs_queue.SQSQueue``, over our :class:`chunkflow.queues.sqs.SQSQueue`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

__all__ = ["SQSQueue"]


class SQSQueue:
    """Iterate ``(receipt_handle, message)`` pairs; ``wait_if_empty`` seconds of empty polls end the
    iteration (``None``: at the first empty poll)."""

    def __init__(
        self,
        queue_name: str,
        visibility_timeout: int = 3600,
        wait_if_empty: int | None = 100,
        fetch_wait_time_seconds: int = 20,
        retry_times: int = 30,
    ) -> None:
        from chunkflow.queues.sqs import SQSQueue as CoreSQSQueue

        self.queue_name, self.visibility_timeout, self.wait_if_empty = queue_name, visibility_timeout, wait_if_empty
        self.queue = CoreSQSQueue(queue_name)
        self._messages: dict[str, Any] = {}

    def __iter__(self) -> Iterator[tuple[str, str]]:
        empty_since = None
        while True:
            message = self.queue.receive(self.visibility_timeout)
            if message is None:
                empty_since = empty_since or time.monotonic()
                if self.wait_if_empty is None or time.monotonic() - empty_since >= self.wait_if_empty:
                    return
                continue
            empty_since = None
            self._messages[message.handle] = message
            yield message.handle, message.body

    def delete(self, receipt_handle: str) -> None:
        message = self._messages.pop(receipt_handle)
        self.queue.delete(message)

    def send_message(self, message: str) -> None:
        self.queue.send([message])

    def send_message_list(self, message_list: list[str]) -> None:
        self.queue.send([str(m) for m in message_list])
