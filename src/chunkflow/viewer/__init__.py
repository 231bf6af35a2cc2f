"""Neuroglancer viewing: serve precomputed volumes from disk (``chunkflow view``) and show the
chunks of a running task (the ``neuroglancer`` operator), on 127.0.0.1 unless told otherwise."""

from chunkflow.viewer.serve import DataServer, ViewerSession, show_chunks, view_volumes

__all__ = ["DataServer", "ViewerSession", "view_volumes", "show_chunks"]
