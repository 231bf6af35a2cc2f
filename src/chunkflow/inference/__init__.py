"""ConvNet inference over chunks: patch grid, blending, engines."""

from chunkflow.inference.engines import IdentityEngine, OnnxEngine, TorchEngine, make_engine
from chunkflow.inference.grid import PatchGrid, make_grid
from chunkflow.inference.inferencer import Inferencer
from chunkflow.inference.options import ModelOptions, PatchOptions, RunOptions

__all__ = [
    "Inferencer",
    "PatchOptions",
    "ModelOptions",
    "RunOptions",
    "PatchGrid",
    "make_grid",
    "make_engine",
    "IdentityEngine",
    "TorchEngine",
    "OnnxEngine",
]
