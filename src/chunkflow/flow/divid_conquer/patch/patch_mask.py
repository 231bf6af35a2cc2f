"""chunkflow 1.2.0's module path ``chunkflow.flow.divid_conquer.patch.patch_mask``: re-exports :mod:`chunkflow.compat.inferencer`."""

from chunkflow.compat.inferencer import PatchMask, make_bump_map, make_patch_mask

__all__ = ["PatchMask", "make_bump_map", "make_patch_mask"]
