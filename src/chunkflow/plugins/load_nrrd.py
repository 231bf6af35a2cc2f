"""Read an NRRD file as a chunk (optionally cast to dtype and placed at voxel_offset)."""

import nrrd

from chunkflow.chunk import Chunk


def execute(file_name=None, voxel_offset=None, voxel_size=None, dtype=None, layer_type=None):
    array, _ = nrrd.read(file_name)
    if dtype:
        array = array.astype(dtype)
    return Chunk(array, voxel_offset=voxel_offset, voxel_size=voxel_size, layer_type=layer_type)
