"""chunkflow 1.2.0's package ``chunkflow.flow``: its operator classes and inferencer as thin re-exports
of :mod:`chunkflow.compat`. Our command line is :mod:`chunkflow.cli` (``chunkflow``)."""
