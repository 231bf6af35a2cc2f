"""Record how chunkflow 1.2.0 lays out legacy meshes, for tests/compat/test_mesh120.py.

Run with the python of an environment that has chunkflow 1.2.0 (not ours)::

    python3.11 -m venv /work/venv120-mesh
    /work/venv120-mesh/bin/pip install chunkflow==1.2.0 opencv-python-headless "numpy<2"
    /work/venv120-mesh/bin/python scripts/record_mesh120.py tests/compat/data/mesh120

It writes a small segmentation volume (16 x 64 x 128 voxels of 40 x 4 x 4 nm, 2 tasks of 16 x 64 x 64) as
precomputed with cloud-volume (an ``info`` without a ``mesh`` key, as igneous or our save-precomputed leave
it), then runs 1.2.0's own command line over it::

    chunkflow generate-tasks -v SEG -c 16 64 64 load-precomputed -v SEG mesh -o SEG
    chunkflow mesh-manifest -v SEG

(1.2.0's defaults: ``-f 100 -e 40``), and keeps: ``seg/`` as 1.2.0's ``mesh`` left it (its ``info`` with
``"mesh": "mesh_err_40"``, the gzip fragments), and ``manifests.json``, what 1.2.0's ``mesh-manifest`` then
wrote ({name: content}).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SHAPE = (16, 64, 128)  # z, y, x
SEEDS = [(2, 10, 12), (8, 40, 30), (12, 20, 70), (5, 50, 100), (14, 60, 122), (9, 5, 64), (3, 33, 58)]


def labels() -> np.ndarray:
    """Nearest-seed regions (anisotropic distance, z counts 10x): 7 objects, several crossing x = 64."""
    z, y, x = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    dist = np.stack([((z - a) * 10) ** 2 + (y - b) ** 2 + (x - c) ** 2 for a, b, c in SEEDS])
    seg = (np.argmin(dist, axis=0) + 1).astype(np.uint32)
    seg[:, :4, :4] = 0  # some background
    return seg


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    from cloudvolume import CloudVolume

    chunkflow = str(Path(sys.executable).parent / "chunkflow")
    with tempfile.TemporaryDirectory() as tmp:
        seg_dir = Path(tmp) / "seg"
        url = f"file://{seg_dir}"
        info = CloudVolume.create_new_info(1, "segmentation", "uint32", "raw", [4, 4, 40], [0, 0, 0],
                                           SHAPE[::-1], chunk_size=[64, 64, 16])  # fmt: skip
        volume = CloudVolume(url, info=info, progress=False)
        volume.commit_info()
        volume[:, :, :] = np.asfortranarray(labels().T)
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        subprocess.run([chunkflow, "generate-tasks", "-v", url, "-c", *map(str, SHAPE[:2]), "64",
                        "load-precomputed", "-v", url, "mesh", "-o", url], check=True, env=env)  # fmt: skip
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(seg_dir, out / "seg")
        subprocess.run([chunkflow, "mesh-manifest", "-v", url], check=True, env=env)
        mesh_dir = seg_dir / json.loads((seg_dir / "info").read_text())["mesh"]
        manifests = {p.name: json.loads(p.read_text()) for p in sorted(mesh_dir.iterdir())
                     if p.name.count(":") == 1}  # fmt: skip
        (out / "manifests.json").write_text(json.dumps(manifests, indent=1, sort_keys=True) + "\n")
    print(f"recorded 1.2.0's meshes in {out}")


if __name__ == "__main__":
    main()
