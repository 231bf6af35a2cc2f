"""chunkflow 1.2.0's API as adapters at the edge.

Everything 1.2.0 users and plugins import lives here; 1.2.0's own module paths
(``chunkflow.chunk.Chunk``, ``chunkflow.chunk.image``..., ``chunkflow.lib.cartesian_coordinate``,
``chunkflow.volume``, ``chunkflow.point_cloud``, ``chunkflow.synapses``, ``chunkflow.flow.*``,
``chunkflow.lib.aws``) re-export these modules. The classes wrap or subclass our core types
(:mod:`chunkflow.geometry`, :class:`chunkflow.chunk.base.Chunk`); the core never imports this package
(tests/test_layers.py checks it).

- :mod:`chunkflow.compat.chunk`: 1.2.0's ``Chunk``; ``as_120(chunk)`` / ``as_core(chunk)`` convert
  without copying.
- :mod:`chunkflow.compat.image`, ``segmentation``, ``affinity_map``, ``probability_map``: its chunk types.
- :mod:`chunkflow.compat.cartesian_coordinate`: ``Cartesian``, ``BoundingBox`` (1.2.0's names).
- :mod:`chunkflow.compat.volume`, ``point_cloud``, ``synapses``: its volume and point classes.
"""
