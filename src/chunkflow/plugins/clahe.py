"""Contrast-limited adaptive histogram equalisation of each uint8 section (OpenCV; clip limit 20,
tiles 512 x 512 as chunkflow 1.2.0's plugin). In place."""

import cv2

CLIP_LIMIT = 20.0
TILE_GRID_SIZE = (512, 512)


def execute(img):
    if not img.is_image:
        raise TypeError(f"clahe takes an image chunk (uint8), got {img.dtype} {img.layer_type}")
    equaliser = cv2.createCLAHE(clipLimit=CLIP_LIMIT, tileGridSize=TILE_GRID_SIZE)
    for z in range(img.shape[-3]):
        img.array[..., z, :, :] = equaliser.apply(img.array[..., z, :, :])
    return img
