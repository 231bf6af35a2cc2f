"""Gaussian smoothing of each section (and channel) in 2D; sigma in voxels. A copy unless inplace=True."""

from scipy import ndimage


def execute(chunk, sigma=1.0, inplace=False):
    out = chunk if inplace else chunk.clone()
    sections = out.array.reshape(-1, *out.array.shape[-2:])  # (C*Z, Y, X), a view of the array
    for section in sections:
        section[...] = ndimage.gaussian_filter(section, sigma=sigma)
    return out
