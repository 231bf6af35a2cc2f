"""Reverse the axes of a chunk (ZYX <-> XYZ); with only_array=False the offset and voxel size too."""


def execute(chunk, only_array=True):
    return [chunk.transpose(only_array=only_array)]
