"""Stretch intensities linearly from [low, high] (default: the chunk's min and max) to [0, 255]
(skimage.exposure.rescale_intensity; values outside are clipped). In place."""

from skimage.exposure import rescale_intensity


def execute(img, low=None, high=None):
    in_range = (
        "image"
        if low is None and high is None
        else (img.array.min() if low is None else low, img.array.max() if high is None else high)
    )
    if in_range != "image" and not in_range[0] < in_range[1]:
        raise ValueError(f"low {in_range[0]} must be below high {in_range[1]}")
    img.array = rescale_intensity(img.array, in_range=in_range, out_range=(0, 255))
    return img
