"""chunkflow 1.2.0's module path ``chunkflow.synapses``: re-exports :mod:`chunkflow.compat.synapses`."""

from chunkflow.compat.synapses import Synapses

__all__ = ["Synapses"]
