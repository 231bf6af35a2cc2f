"""Image preprocessing before inference: section contrast normalization (igneous / chunkflow
1.2.0 luminance levels) and CLAHE."""

from chunkflow.preprocess.contrast import (
    aggregate_levels,
    clahe,
    clamping_values,
    normalize_contrast,
    read_levels,
    section_histograms,
    write_levels_fragment,
)

__all__ = [
    "aggregate_levels",
    "clahe",
    "clamping_values",
    "normalize_contrast",
    "read_levels",
    "section_histograms",
    "write_levels_fragment",
]
