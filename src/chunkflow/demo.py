"""``make demo`` / ``python -m chunkflow.demo``: the whole pipeline on the built-in sample.

Synthetic EM of real mouse-cortex neurons (``chunkflow.datasets``) -> ConvNet inference with the
shipped 3D U-Net -> watershed + mean-affinity agglomeration -> evaluation against the real labels
-> precomputed image, affinities and segmentation with a 4-level pyramid -> meshes. It runs the same
chained command line a user would type (printed first), then checks the outputs with plain
cloud-volume and prints the scores and the viewer link.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from chunkflow.cli import main as chunkflow_main

__all__ = ["demo_command", "run_demo", "main"]

VIEW_PORT = 9015


def demo_command(sample_dir: Path, out: Path, threshold: float = 0.7, stop_mip: int = 3) -> list[str]:
    """The chained chunkflow command line of the demo (arguments after ``chunkflow``)."""
    from chunkflow.datasets import demo_model

    model = demo_model()
    url = {name: f"file://{out / name}" for name in ("image", "affs", "seg")}
    return [
        "load-h5",
        "-f",
        str(sample_dir / "image.h5"),
        "-o",
        "image",
        "load-h5",
        "-f",
        str(sample_dir / "labels.h5"),
        "-o",
        "labels",
        "inference",
        "-m",
        str(model["model"]),
        "-w",
        str(model["weights"]),
        "-s",
        "16",
        "128",
        "128",
        "-v",
        "4",
        "32",
        "32",
        "--output-crop-margin",
        "0",
        "0",
        "0",
        "-c",
        "3",
        "-i",
        "image",
        "-o",
        "affs",
        "agglomerate",
        "-t",
        str(threshold),
        "-i",
        "affs",
        "-o",
        "seg",
        "evaluate-segmentation",
        "-s",
        "seg",
        "-g",
        "labels",
        "-o",
        str(out / "scores.json"),
        "save-precomputed",
        "-i",
        "image",
        "-v",
        url["image"],
        "save-precomputed",
        "-i",
        "affs",
        "-v",
        url["affs"],
        "save-precomputed",
        "-i",
        "seg",
        "-v",
        url["seg"],
        "downsample-upload",
        "-i",
        "image",
        "-v",
        url["image"],
        "--stop-mip",
        str(stop_mip + 1),
        "downsample-upload",
        "-i",
        "seg",
        "-v",
        url["seg"],
        "--stop-mip",
        str(stop_mip + 1),
        "mesh",
        "-i",
        "seg",
        "-o",
        url["seg"],
        "--dust-size-threshold",
        "2000",
        "--seam-free",
        "mesh-manifest",
        "-v",
        url["seg"],
    ]


def _pretty(args: list[str]) -> str:
    lines, current = [], ["chunkflow"]
    operators = {"load-h5", "inference", "agglomerate", "evaluate-segmentation", "save-precomputed",
                 "downsample-upload", "mesh", "mesh-manifest"}  # fmt: skip
    for arg in args:
        if arg in operators and len(current) > 1:
            lines.append(" ".join(current))
            current = ["   "]
        current.append(shlex.quote(arg))
    lines.append(" ".join(current))
    return " \\\n".join(lines)


def write_sample(sample_dir: Path) -> None:
    """The sample image and its labels as HDF5 files (chunkflow's layout)."""
    from chunkflow.datasets import pinky40_labels, sample_image
    from chunkflow.volumes import save_chunk

    save_chunk(str(sample_dir / "image.h5"), sample_image())
    save_chunk(str(sample_dir / "labels.h5"), pinky40_labels())


def check_outputs(out: Path) -> dict[str, Any]:
    """Read the outputs back with plain cloud-volume (what a downstream user would do)."""
    from cloudvolume import CloudVolume

    seg = CloudVolume(f"file://{out / 'seg'}", progress=False)
    image = CloudVolume(f"file://{out / 'image'}", progress=False)
    manifests = [p for p in (out / "seg" / "mesh").iterdir() if p.name.endswith(":0")]
    largest = max(manifests, key=lambda p: len(json.loads(p.read_text())["fragments"])).name.split(":")[0]
    mesh = seg.mesh.get(int(largest))
    mesh = mesh[int(largest)] if isinstance(mesh, dict) else mesh
    return {
        "image_mips": len(image.info["scales"]),
        "segmentation_mips": len(seg.info["scales"]),
        "top_mip_shape_xyz": [
            int(v)
            for v in CloudVolume(f"file://{out / 'seg'}", mip=len(seg.info["scales"]) - 1, progress=False).shape[:3]
        ],
        "meshes": len(manifests),
        "a_mesh": {"id": int(largest), "vertices": len(mesh.vertices), "faces": len(mesh.faces)},
    }


def run_demo(out: Path, threshold: float = 0.7, stop_mip: int = 3) -> dict[str, Any]:
    """Run the demo into ``out`` (replacing an earlier demo's outputs); returns scores and checks."""
    out = out.resolve()
    from chunkflow import files

    for name in ("image", "affs", "seg", "sample", "scores.json"):
        files.delete(str(out / name))
    start = time.perf_counter()
    print("writing the sample: synthetic EM of 128x256x256 voxels of real mouse-cortex neurons (pinky40)", flush=True)
    write_sample(out / "sample")
    args = demo_command(out / "sample", out, threshold, stop_mip)
    print("\nrunning:\n" + _pretty(args) + "\n", flush=True)
    code = chunkflow_main(args)
    if code != 0:
        raise SystemExit(code)
    scores = json.loads((out / "scores.json").read_text())
    checks = check_outputs(out)
    return {"scores": scores, "checks": checks, "seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chunkflow.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", "-o", default="demo-output", help="where the outputs go (default: %(default)s)")
    parser.add_argument("--threshold", "-t", type=float, default=0.7, help="agglomeration threshold")
    args = parser.parse_args(argv)
    out = Path(args.output_dir)
    result = run_demo(out, args.threshold)
    scores, checks = result["scores"], result["checks"]
    from chunkflow.datasets import demo_model

    card = json.loads(demo_model()["card"].read_text())
    held = card["held_out_scores"][str(card["recommended_threshold"])]
    print(f"\nchunkflow demo finished in {result['seconds']:.0f} s; outputs in {out.resolve()}")
    print(
        f"  adapted Rand error vs ground truth: {scores['adapted_rand_error']:.4f}   "
        f"variation of information: {scores['variation_of_information']:.4f} "
        f"(split {scores['voi_split']:.3f}, merge {scores['voi_merge']:.3f})"
    )
    print(
        f"  (the model trained on z < 96 of this crop; on the held-out z 96-128 alone: "
        f"ARE {held['adapted_rand_error']:.3f}, VI {held['variation_of_information']:.3f})"
    )
    print(
        f"  read back with cloud-volume: image {checks['image_mips']} mips, segmentation {checks['segmentation_mips']} "
        f"mips, {checks['meshes']} meshes (object {checks['a_mesh']['id']}: {checks['a_mesh']['vertices']} vertices)"
    )
    paths = " ".join(shlex.quote(str((out / n).resolve())) for n in ("image", "affs", "seg"))
    print("\nbrowse it in neuroglancer (serves on 127.0.0.1; Ctrl-C stops):")
    print(f"  .venv/bin/chunkflow view {paths} --port {VIEW_PORT}")
    print(f"  then open the link it prints (http://127.0.0.1:{VIEW_PORT}/v/<token>/, a new random token per run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
