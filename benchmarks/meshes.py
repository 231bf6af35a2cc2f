"""Sharded multi-resolution meshes of the pinky40 labels, ours vs igneous, same machine, same task shape.

The segmentation (z 0-256 of the 512^3 pinky40 labels, 256x512x512 voxels of 40x4x4 nm) is written
twice as unsharded precomputed (not timed). Then each side runs the two stages with N processes:
forge (per-task meshing; igneous ``create_meshing_tasks(sharded=True)`` on a LocalTaskQueue, ours
``mesh_task_fragments`` over a process pool reading each task plus one voxel) and merge (igneous
``create_sharded_multires_mesh_tasks``, ours ``write_multires``), with the same task shape (256^3
voxels), levels of detail (3) and smallest octree cell (64 voxels). Reports wall time per stage, files
and bytes written, and how far apart the two finest levels are for the largest objects (vertex to
surface, nm). igneous runs in its own venv (``--igneous-python``, default /tmp/igvenv-mesh/bin/python);
without it only ours is measured.

    .venv/bin/python benchmarks/meshes.py [--workers 2] [--z 256]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import ROOT, emit  # noqa: E402

TASK = (256, 256, 256)  # z, y, x voxels

IGNEOUS = """
import json, sys, time
from taskqueue import LocalTaskQueue
import igneous.task_creation as tc
path, workers = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
with LocalTaskQueue(parallel=workers, progress=False) as tq:
    tq.insert(tc.create_meshing_tasks(path, mip=0, shape=(256, 256, 256), sharded=True, spatial_index=True,
                                      max_simplification_error=40))
forge = time.perf_counter() - t
t = time.perf_counter()
with LocalTaskQueue(parallel=workers, progress=False) as tq:
    tq.insert(tc.create_sharded_multires_mesh_tasks(path, num_lod=2, min_chunk_size=(64, 64, 64), progress=False))
merge = time.perf_counter() - t
print(json.dumps({"forge_s": forge, "merge_s": merge}))
"""


def _forge_task(args: tuple[str, str]) -> int:
    from chunkflow.geometry import BoundingBox
    from chunkflow.postprocess.multires import mesh_task_fragments
    from chunkflow.volumes import open_volume

    url, box = args
    volume = open_volume(url)
    task = BoundingBox.from_string(box)
    chunk = volume.read(task.grow(1).intersection(volume.bbox))
    return len(mesh_task_fragments(chunk, url, task, volume.bbox, sharded=True))


def _files(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--z", type=int, default=256, help="sections of the 512^3 labels to use")
    parser.add_argument("--igneous-python", default="/tmp/igvenv-mesh/bin/python")
    args = parser.parse_args()

    from concurrent.futures import ProcessPoolExecutor

    from cloudvolume import CloudVolume

    from chunkflow.datasets import load_pinky40_512
    from chunkflow.postprocess.multires import write_multires
    from chunkflow.volumes import save_chunk

    labels = load_pinky40_512()
    seg = labels.with_array(np.ascontiguousarray(labels.array[: args.z]))
    objects = len(np.unique(seg.array)) - 1
    root = Path(tempfile.mkdtemp(prefix="chunkflow-meshes-"))
    try:
        urls = {side: f"file://{root / side}" for side in ("ours", "igneous")}
        for url in urls.values():
            save_chunk(url, seg, block_size=(64, 64, 64))
        emit(bench="meshes_input", shape=list(seg.shape), objects=objects, workers=args.workers)

        tasks = [str(b) for b in seg.bbox.split(TASK)]
        t = time.perf_counter()
        with ProcessPoolExecutor(args.workers) as pool:
            list(pool.map(_forge_task, [(urls["ours"], b) for b in tasks]))
        forge = time.perf_counter() - t
        t = time.perf_counter()
        written = write_multires(urls["ours"], num_lods=3, min_chunk_size=64, workers=args.workers)
        merge = time.perf_counter() - t
        files, size = _files(root / "ours" / "mesh")
        ours = {"forge_s": forge, "merge_s": merge, "total_s": forge + merge, "files": files, "mib": size / 2**20}
        emit(bench="meshes_ours", tasks=len(tasks), objects_written=written, **ours)

        if not Path(args.igneous_python).exists():
            emit(bench="meshes_igneous", skipped=f"{args.igneous_python} not found")
            return
        out = subprocess.run(
            [args.igneous_python, "-c", IGNEOUS, urls["igneous"], str(args.workers)],
            capture_output=True,
            text=True,
            check=True,
        )
        ign = json.loads(out.stdout.strip().splitlines()[-1])
        info = json.loads((root / "igneous" / "info").read_text())
        files, size = _files(root / "igneous" / info["mesh"])
        ign.update(total_s=ign["forge_s"] + ign["merge_s"], files=files, mib=size / 2**20)
        emit(bench="meshes_igneous", **ign)
        emit(
            bench="meshes_ratio",
            total=ours["total_s"] / ign["total_s"],
            forge=ours["forge_s"] / ign["forge_s"],
            merge=ours["merge_s"] / ign["merge_s"],
            files=ours["files"] / ign["files"],
        )

        sys.path.insert(0, str(ROOT / "tests" / "postprocess"))
        from _meshdist import vertex_to_surface

        ids, counts = np.unique(seg.array, return_counts=True)
        a, b = CloudVolume(urls["ours"], progress=False), CloudVolume(urls["igneous"], progress=False)
        for obj in ids[np.argsort(-counts)][:3].tolist():
            x, y = a.mesh.get(obj, lod=0)[obj], b.mesh.get(obj, lod=0)[obj]
            d_xy = vertex_to_surface(x.vertices, y.vertices, y.faces, k=200)
            d_yx = vertex_to_surface(y.vertices, x.vertices, x.faces, k=200)
            emit(
                bench="meshes_lod0_agreement",
                obj=obj,
                vertices_ours=len(x.vertices),
                vertices_igneous=len(y.vertices),
                ours_to_igneous_p99_nm=float(np.percentile(d_xy, 99)),
                ours_to_igneous_max_nm=float(d_xy.max()),
                igneous_to_ours_p99_nm=float(np.percentile(d_yx, 99)),
                igneous_to_ours_max_nm=float(d_yx.max()),
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
