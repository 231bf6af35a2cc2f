"""chunkflow 1.2.0's module path ``chunkflow.flow.downsample_upload``: re-exports :mod:`chunkflow.compat.flow`."""

from chunkflow.compat.flow import DownsampleUploadOperator

__all__ = ["DownsampleUploadOperator"]
