"""Skeletonize a segmentation (kimimaro) and write one precomputed skeleton fragment per object,
named ``<id>:<bbox>``, under output_path (a cloudfiles URL or folder). Returns the skeletons by id."""

import os

import kimimaro
from cloudfiles import CloudFiles


def execute(seg, voxel_size, output_path=None):
    if seg is None:
        return None
    skeletons = kimimaro.skeletonize(seg.array, anisotropy=voxel_size, parallel=max(1, (os.cpu_count() or 2) // 2))
    if output_path is not None:
        storage = CloudFiles(output_path if "://" in output_path else f"file://{os.path.abspath(output_path)}")
        for object_id, skeleton in skeletons.items():
            storage.put(f"{object_id}:{seg.bbox.string}", skeleton.to_precomputed())
    return skeletons
