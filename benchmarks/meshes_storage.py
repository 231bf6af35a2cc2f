"""Meshes on a bucket vs on local disk: the same chain over the same segmentation, S3 (moto's server on
127.0.0.1) against a local directory, alternated.

The segmentation (pinky40 labels z 0-32, 32x256x256 voxels of 40x4x4 nm, 4 tasks of 32x128x128) is written
once per side (not timed); then, timed in-process: ``generate-tasks ... load-precomputed ... mesh`` (1.2.0's
way, and seam-free with ``-e 1 1 1``) followed by ``mesh-manifest``. Reports seconds per side and the ratio;
moto is a Python server on the same 2 cores, so the ratio is an upper bound for a real S3-compatible store.

    .venv/bin/python benchmarks/meshes_storage.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402


def _chain(url: str, seam_free: bool) -> float:
    from chunkflow.cli import main

    load = ["load-precomputed", "-v", url] + (["-e", "1", "1", "1", "--fill-missing"] if seam_free else [])
    start = time.perf_counter()
    for argv in (
        ["generate-tasks", "-v", url, "-c", "32", "128", "128", *load, "mesh", "-o", url],
        ["mesh-manifest", "-v", url],
    ):
        if main(argv) != 0:
            raise RuntimeError(f"chunkflow {' '.join(argv)} failed")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from chunkflow.datasets import load_pinky40_512
    from chunkflow.volumes import save_chunk

    logging.disable(logging.INFO)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    root = Path(tempfile.mkdtemp(prefix="chunkflow-mesh-s3-"))
    labels = load_pinky40_512()
    seg = labels.with_array(np.ascontiguousarray(labels.array[:32, :256, :256]))
    try:
        for seam_free in (False, True):
            times: dict[str, list[float]] = {"local": [], "s3": []}
            for round_ in range(args.repeat):
                for side in ("local", "s3") if round_ % 2 == 0 else ("s3", "local"):
                    if side == "s3":
                        bucket = f"bench-{uuid.uuid4().hex[:8]}"
                        boto3.client("s3").create_bucket(Bucket=bucket)
                        url = f"s3://{bucket}/seg"
                    else:
                        url = f"file://{root / uuid.uuid4().hex[:8]}"
                    save_chunk(url, seg, block_size=(32, 128, 128))
                    times[side].append(_chain(url, seam_free))
            local, s3 = min(times["local"]), min(times["s3"])
            emit(
                bench="meshes_storage",
                mode="seam-free" if seam_free else "as-1.2.0",
                shape=list(seg.shape),
                tasks=4,
                local_s=round(local, 2),
                s3_s=round(s3, 2),
                ratio=round(s3 / local, 2),
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
        server.stop()


if __name__ == "__main__":
    main()
