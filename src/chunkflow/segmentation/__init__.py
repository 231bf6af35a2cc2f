"""Segmentation: watershed + agglomeration, connected components (local and global), evaluation."""

from chunkflow.segmentation.affinities import affinities_from_labels, noisy_affinities
from chunkflow.segmentation.agglomerate import agglomerate, watershed
from chunkflow.segmentation.components import connected_components, mask_out_objects, relabel
from chunkflow.segmentation.evaluate import evaluate_segmentation

__all__ = [
    "affinities_from_labels",
    "noisy_affinities",
    "agglomerate",
    "watershed",
    "connected_components",
    "mask_out_objects",
    "relabel",
    "evaluate_segmentation",
]
