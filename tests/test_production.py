"""The README's "A production run", end to end, exactly as printed (issue 18.6).

The block under that heading is run with bash from the repository root; only the output folder
(``export CF=...``) and the sample folder (``demo-output/sample``, written here) are replaced.
Then every step's output is checked against a single-process reference.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_recipe() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## A production run\n", 1)[1].split("\n## ", 1)[0]
    lines, started = [], False
    for line in section.splitlines():
        if line.startswith("    "):
            started = True
            lines.append(line[4:])
        elif started and line.strip():
            break
        elif started:
            lines.append("")
    return "\n".join(lines).strip() + "\n"


def test_readme_recipe_is_found_and_uses_queues_and_two_workers():
    recipe = readme_recipe()
    assert recipe.startswith("export CF=")
    assert recipe.count("worker -p 2 -- fetch-task -q file://") >= 3
    assert "agglomerate-volume" in recipe and "staged-task --job" in recipe and "evaluate-segmentation" in recipe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _split_counts(seg: np.ndarray, gt: np.ndarray, axis: int) -> np.ndarray:
    a, g = np.moveaxis(seg, axis, 0), np.moveaxis(gt, axis, 0)
    split = (g[1:] == g[:-1]) & (g[1:] != 0) & (a[1:] != a[:-1])
    return np.concatenate([[0], split.reshape(split.shape[0], -1).sum(axis=1)])


@pytest.mark.slow
def test_production_run_as_in_the_readme(tmp_path):
    from cloudvolume import CloudVolume

    from chunkflow.demo import write_sample
    from chunkflow.segmentation import agglomerate, evaluate_segmentation
    from chunkflow.volumes import open_volume

    sample, cf = tmp_path / "sample", tmp_path / "prod"
    write_sample(sample)
    recipe = readme_recipe()
    recipe = re.sub(r"^export CF=\S+", f"export CF={cf}", recipe, count=1, flags=re.M).replace(
        "demo-output/sample", str(sample)
    )
    proc = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + recipe], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    log = proc.stderr

    # tiled inference: the 4 tasks' affinities equal one inference over the whole volume
    from chunkflow.cli import main

    model = ROOT / "src/chunkflow/datasets/data/demo_model.onnx"
    assert (
        main(
            [
                "load-precomputed",
                "-v",
                f"file://{cf}/image",
                "-o",
                "image",
                "inference",
                "-m",
                str(model),
                "-s",
                "16",
                "128",
                "128",
                "-v",
                "4",
                "32",
                "32",
                "-c",
                "3",
                "--output-crop-margin",
                "0",
                "0",
                "0",
                "-i",
                "image",
                "-o",
                "affs",
                "save-h5",
                "-i",
                "affs",
                "-f",
                str(tmp_path / "whole-affs.h5"),
            ]
        )
        == 0
    )
    whole_affs = open_volume(str(tmp_path / "whole-affs.h5")).read()
    tiled_affs = open_volume(f"file://{cf}/affs").read()
    assert whole_affs.bbox == tiled_affs.bbox
    assert np.abs(tiled_affs.array - whole_affs.array).max() <= 1e-5
    assert len(re.findall(r"worker on file://\S+/q-inference stops: \d+ tasks done, 0 failed", log)) == 2

    # seam-free segmentation: >= 4 tasks per stage, run by 2 worker processes through the file queue
    work = cf / "seg.agglomerate-work"
    for stage in ("agglomerate", "match", "relabel"):
        assert len(list((work / "done" / stage).iterdir())) == 8, stage
    seg_workers = re.findall(r"worker on file://\S+/q-seg stops: (\d+) tasks done, 0 failed", log)
    assert len(seg_workers) == 2 and sum(map(int, seg_workers)) == 26, seg_workers  # 8 x 3 + up-1 + down-1
    affs = open_volume(f"file://{cf}/affs").read()
    seg = open_volume(f"file://{cf}/seg").read()
    gt = open_volume(f"file://{cf}/gt").read()
    assert seg.bbox == affs.bbox == gt.bbox
    single = agglomerate(affs, 0.7)  # the single-chunk run on the same affinities
    assert evaluate_segmentation(seg, single).adapted_rand_error <= 0.005
    blocks = (16, 128, 128)
    for axis in range(3):
        counts = _split_counts(seg.array, gt.array, axis)
        borders = np.arange(blocks[axis], seg.shape[axis], blocks[axis])
        interior = np.setdiff1d(np.arange(1, seg.shape[axis]), borders)
        assert counts[borders].max() <= counts[interior].max(), (axis, counts[borders], counts[interior].max())

    # pyramid: mips 1 and 2 written by the tasks equal the downsampled whole segmentation
    from chunkflow.postprocess.downsample import downsample

    expected = downsample(seg, (1, 2, 2), num_mips=2)
    for mip in (1, 2):
        got = open_volume(f"file://{cf}/seg", mip=mip).read()
        np.testing.assert_array_equal(got.array, expected[mip - 1].array)

    # meshes: one manifest per meshed object, readable by cloud-volume, inside the volume
    manifests = [p for p in (cf / "seg" / "mesh").iterdir() if p.name.endswith(":0")]
    assert len(manifests) >= 10
    ids, sizes = np.unique(seg.array[seg.array != 0], return_counts=True)
    largest = int(ids[np.argmax(sizes)])
    mesh = CloudVolume(f"file://{cf}/seg", progress=False).mesh.get(largest)
    mesh = mesh[largest] if isinstance(mesh, dict) else mesh
    assert len(mesh.vertices) > 100
    # the mesh built across tasks matches the whole-volume mesh within one voxel (40 nm, the largest side)
    from chunkflow.postprocess._meshing import mesh_task

    from .postprocess._meshdist import vertex_to_surface

    raw = {f.obj: f for f in mesh_task(seg, simplification_factor=0)}[largest]
    assert vertex_to_surface(mesh.vertices, raw.vertices, raw.faces).max() <= 40
    assert vertex_to_surface(raw.vertices[::29], mesh.vertices, mesh.faces, k=1000).max() <= 40

    # evaluation: the scores file says what the segmentation scores
    import json

    scores = json.loads((cf / "scores.json").read_text())
    direct = evaluate_segmentation(seg, gt)
    assert scores["adapted_rand_error"] == pytest.approx(direct.adapted_rand_error, abs=1e-9)
    assert scores["adapted_rand_error"] < 0.05

    # viewer: the README's view line serves the outputs
    port = _free_port()
    view = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "chunkflow"),
            "view",
            str(cf / "image"),
            str(cf / "seg"),
            "--no-browser",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, link = time.time() + 60, None
        while time.time() < deadline and link is None:
            line = view.stdout.readline()
            if line.startswith("neuroglancer viewer:"):
                link = line.split()[-1]
        assert link is not None
        assert urllib.request.urlopen(link, timeout=10).status == 200
    finally:
        view.terminate()
        view.wait(timeout=30)
