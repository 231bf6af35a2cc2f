"""chunkflow 1.2.0's module path ``chunkflow.lib.aws.sqs_queue``: re-exports :mod:`chunkflow.compat.sqs_queue`."""

from chunkflow.compat.sqs_queue import SQSQueue

__all__ = ["SQSQueue"]
