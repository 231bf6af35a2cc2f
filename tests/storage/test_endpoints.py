"""Any S3-compatible endpoint: ``AWS_ENDPOINT_URL_S3`` (over ``AWS_ENDPOINT_URL``) reaches every s3:// path:
chunkflow.files (cloud-files + boto3), precomputed (cloud-volume), zarr (zarr-python + tensorstore)."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = r"""
import numpy as np
from chunkflow import files
from chunkflow.chunk.base import Chunk
from chunkflow.volumes import open_volume, save_chunk
bucket = "{bucket}"
files.write_json(bucket + "/x.json", {{"a": 1}})
assert files.create_exclusive(bucket + "/done/m") and not files.create_exclusive(bucket + "/done/m")
chunk = Chunk(np.arange(8 * 32 * 32, dtype=np.uint16).reshape(8, 32, 32), (0, 0, 0))
for url in (bucket + "/pc", bucket + "/z.zarr"):
    save_chunk(url, chunk, block_size=(8, 16, 16))
    assert (open_volume(url).read().array == chunk.array).all(), url
volume = open_volume(bucket + "/z.zarr")
assert volume._tensorstore() is not None  # tensorstore reached the same endpoint
print("ok", files.read_json(bucket + "/x.json"))
"""


def test_s3_specific_endpoint_wins_over_the_global_one(moto_server, s3_bucket):
    env = {
        **moto_server,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ENDPOINT_URL_S3": moto_server["AWS_ENDPOINT_URL"],
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(bucket=s3_bucket)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ok {'a': 1}" in result.stdout


def test_no_credential_is_printed(cli_runner, moto_server, capsys, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    code = cli_runner(["create-chunk", "-s", "8", "32", "32", "save-precomputed", "-v", "s3://no-bucket-zz/x"])
    err = capsys.readouterr().err
    assert code == 1 and "s3cr3t-value" not in err and "no-bucket-zz" in err
