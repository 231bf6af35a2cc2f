"""The commands layer: standalone click commands of the one ``chunkflow`` group (click only).

Chained operators live in :mod:`chunkflow.operators`; commands that are not part of a chain
(``view``, ``queue``, ``worker``, segmentation jobs, ...) live here, one module each, and are
declared by their module's ``COMMANDS`` (see :mod:`chunkflow.operators.registry`).
"""
