"""ConvNet inference over chunks: patch grid, blending, engines."""

from chunkflow.inference.engines import IdentityEngine, OnnxEngine, TorchEngine, make_engine
from chunkflow.inference.grid import PatchGrid, make_grid
from chunkflow.inference.inferencer import Inferencer

__all__ = ["Inferencer", "PatchGrid", "make_grid", "make_engine", "IdentityEngine", "TorchEngine", "OnnxEngine"]
