"""chunkflow 1.2.0's module path ``chunkflow.flow.flow``: the operator classes its command line was built
from (re-exported from :mod:`chunkflow.compat.flow`). The command line itself is ``chunkflow``
(:func:`chunkflow.cli.main`)."""

from chunkflow.compat.flow import (
    DownsampleUploadOperator,
    LoadPrecomputedOperator,
    MaskOperator,
    MeshOperator,
    OperatorBase,
    SavePNGsOperator,
    SavePrecomputedOperator,
)

__all__ = [
    "OperatorBase", "LoadPrecomputedOperator", "MaskOperator", "SavePrecomputedOperator", "SavePNGsOperator",
    "DownsampleUploadOperator", "MeshOperator",
]  # fmt: skip
