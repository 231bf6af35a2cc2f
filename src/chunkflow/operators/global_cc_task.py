"""``global-cc-task``: the name 1.x-era worker chains used; the same operator as ``staged-task``."""

from chunkflow.operators.staged_task import global_cc_task

__all__ = ["global_cc_task"]
