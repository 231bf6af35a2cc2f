"""chunkflow 1.2.0's ``chunkflow.chunk.validate``: detect black boxes in an image by template matching."""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["validate_by_template_matching"]

log = logging.getLogger(__name__)

_SCORE_THRESHOLD = 0.9
_COUNT_THRESHOLD = 100


def validate_by_template_matching(img: np.ndarray) -> bool:
    """``False`` where the image probably holds a black (all-zero) box, as 1.2.0 decided.

    The image is binarised (zero or not) and matched against six 2-voxel-thick step templates, one
    per face orientation (7 x 7 x 2, 2 x 7 x 7, 7 x 2 x 7, each way round); an orientation with more
    than 100 matches scoring above 0.9 is one piece of evidence, and more than 4 of the 6 mean a box.
    A box reaching both sides of the image is not found. Floating-point images are not checked
    (``True``).

    Parameters
    ----------
    img : ndarray, shape (Z, Y, X), integer
    """
    from skimage.feature import match_template

    img = np.asarray(img)
    if np.issubdtype(img.dtype, np.floating):
        log.info("validate_by_template_matching: floating-point image, not checked")
        return True
    binary = img.astype(bool)
    evidence = 0
    for shape, axis in (((7, 7, 2), 2), ((2, 7, 7), 0), ((7, 2, 7), 1)):
        for side in (0, 1):
            template = np.zeros(shape, dtype=bool)
            template[(slice(None),) * axis + (side,)] = True
            score = match_template(binary, template)
            if np.count_nonzero(score > _SCORE_THRESHOLD) > _COUNT_THRESHOLD:
                evidence += 1
    return evidence <= 4
