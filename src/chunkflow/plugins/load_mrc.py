"""Read the task's box (-i bbox) from an MRC file as a uint8 chunk; the voxel size is the file's
(angstrom) divided by 10 (nm)."""

import mrcfile
import numpy as np

from chunkflow.chunk import Chunk


def execute(bbox, fname=None):
    with mrcfile.mmap(fname, mode="r") as mrc:
        voxel_size = mrc.voxel_size
        array = np.array(mrc.data[bbox.slices])
    array = array.view(np.uint8)  # mrcfile reads mode 0 as int8
    size = (int(voxel_size.z / 10), int(voxel_size.y / 10), int(voxel_size.x / 10))
    return Chunk(array, voxel_offset=tuple(bbox.start), voxel_size=size)
