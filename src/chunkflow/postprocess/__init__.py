"""Postprocessing: downsampling pyramids, meshes, skeletons, masks."""

from chunkflow.postprocess.downsample import downsample, downsample_upload
from chunkflow.postprocess.mask import apply_mask
from chunkflow.postprocess.mesh import mesh_chunk, write_manifests
from chunkflow.postprocess.multires import mesh_task_fragments, write_multires
from chunkflow.postprocess.skeleton import aggregate_fragments, skeletonize_chunk

__all__ = [
    "downsample",
    "downsample_upload",
    "mesh_chunk",
    "write_manifests",
    "mesh_task_fragments",
    "write_multires",
    "skeletonize_chunk",
    "aggregate_fragments",
    "apply_mask",
]
