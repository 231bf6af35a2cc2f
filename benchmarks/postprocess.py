"""Postprocessing benchmarks on real neuron labels (the shipped 128x256x256 pinky40 crop); JSON lines.

Each operator's pure function against the bare library call doing the same work on the same chunk
(paired runs, ratio ours/bare; target <= 1.2x): downsample (tinybrain, image mean and segmentation
mode, 3 mips), mesh (zmesh mesh + simplify + precomputed encoding of every object), skeletonize
(kimimaro). Also reports objects, vertices and the time per megavoxel.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit, paired_ratio  # noqa: E402

from chunkflow.datasets import pinky40_labels, sample_image  # noqa: E402
from chunkflow.postprocess import downsample, mesh_chunk, skeletonize_chunk  # noqa: E402


def main() -> None:
    import kimimaro
    import tinybrain
    import zmesh
    from cloudvolume import Mesh

    seg, image = pinky40_labels(), sample_image()
    mvox = seg.array.size / 1e6
    r = paired_ratio(
        lambda: downsample(image, (1, 2, 2), 3),
        lambda: tinybrain.downsample_with_averaging(image.array.T, (2, 2, 1), num_mips=3),
        repeat=5,
    )
    emit(bench="downsample_image", mvox=mvox, **r)
    r = paired_ratio(
        lambda: downsample(seg, (1, 2, 2), 3),
        lambda: tinybrain.downsample_segmentation(seg.array.T, (2, 2, 1), num_mips=3),
        repeat=5,
    )
    emit(bench="downsample_segmentation", mvox=mvox, **r)

    root = tempfile.mkdtemp(prefix="chunkflow-bench-")
    try:

        def bare_mesh() -> int:
            mesher = zmesh.Mesher(seg.voxel_size.xyz)
            mesher.mesh(seg.array)
            n = 0
            for obj in mesher.ids():
                m = mesher.get_mesh(obj, normals=False, simplification_factor=100, max_simplification_error=8)
                mesher.erase(obj)
                n += len(Mesh(m.vertices, m.faces, None, segid=obj).to_precomputed())
            mesher.clear()
            return n

        objects = len(mesh_chunk(seg, os.path.join(root, "m")))
        r = paired_ratio(lambda: mesh_chunk(seg, os.path.join(root, "m")), bare_mesh, repeat=3)
        emit(bench="mesh", mvox=mvox, objects=objects, s_per_mvox=r["ours_s"] / mvox, **r)

        params = {"scale": 4.0, "const": 500.0}

        def bare_skeleton() -> dict:
            return kimimaro.skeletonize(
                np.asfortranarray(seg.array.T),
                teasar_params=params,
                anisotropy=seg.voxel_size.xyz,
                dust_threshold=1000,
                progress=False,
                parallel=1,
            )

        objects = len(skeletonize_chunk(seg, f"file://{os.path.join(root, 's')}"))
        r = paired_ratio(lambda: skeletonize_chunk(seg, f"file://{os.path.join(root, 's')}"), bare_skeleton, repeat=3)
        emit(bench="skeletonize", mvox=mvox, objects=objects, s_per_mvox=r["ours_s"] / mvox, **r)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
