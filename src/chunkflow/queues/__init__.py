"""Task queues (AWS SQS, local file queue), leases, dead letters and done markers."""

from chunkflow.queues.base import Message, QueueCounts, TaskQueue
from chunkflow.queues.registry import open_queue

__all__ = ["Message", "QueueCounts", "TaskQueue", "open_queue"]
