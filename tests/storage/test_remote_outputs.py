"""Outputs on a bucket (the local moto S3 server): done markers, zarr, precomputed pyramids and info updates."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest

from chunkflow import files
from chunkflow.volumes import open_volume


def test_done_markers_on_s3_skip_finished_tasks(cli_runner, s3_bucket, capsys):
    chain = ["generate-tasks", "-s", "0", "0", "0", "-r", "8", "128", "128", "-c", "8", "64", "64",
             "skip-task-by-file", "-p", f"{s3_bucket}/out/.done/", "create-chunk", "-s", "8", "64", "64",
             "-p", "random", "save-precomputed", "-v", f"{s3_bucket}/out", "mark-complete", "-p",
             f"{s3_bucket}/out/.done/"]  # fmt: skip
    assert cli_runner(chain) == 0
    markers = sorted(files.list_names(f"{s3_bucket}/out/.done"))
    assert markers == ["0-8_0-64_0-64", "0-8_0-64_64-128", "0-8_64-128_0-64", "0-8_64-128_64-128"]
    before = open_volume(f"{s3_bucket}/out").read().array.copy()
    capsys.readouterr()
    assert cli_runner(chain) == 0  # every task is skipped: the volume keeps its bytes
    assert "skipping" in capsys.readouterr().err
    np.testing.assert_array_equal(open_volume(f"{s3_bucket}/out").read().array, before)


def test_zarr_on_s3_through_the_cli(cli_runner, s3_bucket, tmp_path):
    assert (
        cli_runner(
            [
                "create-chunk",
                "-s",
                "8",
                "64",
                "64",
                "-p",
                "random",
                "save-zarr",
                "-s",
                f"{s3_bucket}/x.zarr",
                "save-h5",
                "-f",
                f"{tmp_path}/x.h5",
            ]
        )
        == 0
    )
    local = open_volume(f"{tmp_path}/x.h5").read().array
    np.testing.assert_array_equal(open_volume(f"{s3_bucket}/x.zarr").read().array, local)
    assert "zarr.json" in set(files.list_names(f"{s3_bucket}/x.zarr"))


def test_bucket_that_does_not_exist_is_one_line(cli_runner, moto_server, capsys, tmp_path):
    code = cli_runner(["create-chunk", "-s", "8", "64", "64", "save-zarr", "-s", "s3://no-such-bucket-x/x.zarr"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "no-such-bucket-x' does not exist" in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def _add_scale(args: tuple[str, int, dict[str, str]]) -> None:
    url, mip, env = args
    os.environ.update(env)
    from chunkflow.volumes.precomputed import ensure_mips, update_info

    ensure_mips(url, mip)
    update_info(url, lambda info: {**info, f"key{mip}": mip})


@pytest.mark.slow
def test_eight_processes_add_scales_and_keys_to_one_info_on_s3(moto_server, s3_bucket):
    from chunkflow.volumes.precomputed import create_info

    url = f"{s3_bucket}/img"
    create_info(url, volume_size=(16, 256, 256), dtype="uint8", block_size=(8, 32, 32))
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        pool.map(_add_scale, [(url, mip, dict(moto_server)) for mip in range(1, 9)])
    info = files.read_json(f"{url}/info")
    assert len(info["scales"]) == 9
    assert all(info[f"key{mip}"] == mip for mip in range(1, 9))
    assert [s["resolution"][0] for s in info["scales"]] == [1 * 2**m for m in range(9)]
    assert sorted(files.list_names(url)) == ["info"]  # no lock objects on the bucket


def test_task_files_on_s3(cli_runner, s3_bucket, tmp_path):
    """generate-tasks -f writes the task file to a bucket; each array job reads its line from there."""
    assert (
        cli_runner(
            [
                "generate-tasks",
                "-s",
                "0",
                "0",
                "0",
                "-r",
                "4",
                "16",
                "32",
                "-c",
                "4",
                "16",
                "16",
                "-f",
                f"{s3_bucket}/tasks.txt",
            ]
        )
        == 0
    )
    assert files.read_text(f"{s3_bucket}/tasks.txt").split() == ["0-4_0-16_0-16", "0-4_0-16_16-32"]
    assert (
        cli_runner(
            [
                "fetch-task-from-file",
                "-f",
                f"{s3_bucket}/tasks.txt",
                "-i",
                "1",
                "create-chunk",
                "save-h5",
                "-f",
                f"{tmp_path}/t1.h5",
            ]
        )
        == 0
    )
    assert open_volume(f"{tmp_path}/t1.h5").bbox.start == (0, 0, 16)
