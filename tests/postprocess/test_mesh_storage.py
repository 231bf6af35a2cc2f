"""Meshes of every kind, ``mesh-manifest`` and ``download-mesh`` on a bucket (the local moto S3 server): the
same objects as on local disk, concurrent ``info`` updates that lose nothing, and one line for a bad store."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import subprocess
import sys

import boto3
import numpy as np
import pytest
from cloudvolume import CloudVolume

from chunkflow import BoundingBox, Chunk, files
from chunkflow.cli import main
from chunkflow.datasets import pinky40_labels
from chunkflow.volumes import save_chunk

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def seg() -> Chunk:
    labels = pinky40_labels()
    box = BoundingBox.from_string("192-208_128-192_128-256")  # 16 x 64 x 128: 2 tasks of 16 x 64 x 64
    return labels.cutout(box).with_array(np.ascontiguousarray(labels.cutout(box).array))


def _objects(url: str) -> dict[str, bytes]:
    """Every object below ``url`` (names relative to it, cloud-files' names: no ``.gz``), decompressed."""
    names = [n for n in files.list_names(url, recursive=True) if not n.startswith(".")]
    names = [n[:-3] if n.endswith(".gz") else n for n in names]
    return {n: b for n, b in files.read_many(url, names).items() if b is not None}


def _run(argv: list[str], capsys) -> str:  # type: ignore[no-untyped-def]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def _mesh_volume(url: str, seg: Chunk, capsys, *mesh_args: str, margin: bool = True) -> None:  # type: ignore[no-untyped-def]
    save_chunk(url, seg, block_size=(16, 64, 64))
    load = ["load-precomputed", "-v", url] + (["-e", "1", "1", "1", "--fill-missing"] if margin else [])
    _run(["generate-tasks", "-v", url, "-c", "16", "64", "64", *load, "mesh", "-o", url, *mesh_args], capsys)
    workers = ["--workers", "2"] if "--shard" in mesh_args else []  # worker processes read the bucket too
    _run(["mesh-manifest", "-v", url, "--min-chunk-size", "16", *workers], capsys)


@pytest.mark.parametrize(
    ("args", "margin"),
    [((), False), ((), True), (("--shard",), True), pytest.param(("--multires",), True, marks=pytest.mark.slow)],
    ids=["as-1.2.0", "seam-free", "sharded-multires", "multires"],
)
def test_meshes_on_s3_are_the_objects_of_a_local_run(tmp_path, s3_bucket, seg, capsys, args, margin):
    local, remote = f"file://{tmp_path / 'seg'}", f"{s3_bucket}/lab/seg"
    _mesh_volume(local, seg, capsys, *args, margin=margin)
    _mesh_volume(remote, seg, capsys, *args, margin=margin)
    ours, theirs = _objects(local), _objects(remote)
    assert sorted(ours) == sorted(theirs)
    mesh_key = json.loads(ours["info"])["mesh"]
    assert mesh_key == ("mesh_err_40" if not margin and not args else "mesh")
    meshes = {n: b for n, b in ours.items() if n.startswith(mesh_key + "/")}
    assert len(meshes) > 3
    for name, data in meshes.items():
        assert theirs[name] == data, name
    # fragments are gzip'ed as cloud-files stores them: Content-Encoding on the bucket, .gz on disk
    if not args:
        fragment = next(n for n in meshes if n.count(":") == 2)
        bucket, key = s3_bucket[5:], f"lab/seg/{fragment}"
        head = boto3.client("s3").head_object(Bucket=bucket, Key=key)
        assert head.get("ContentEncoding") == "gzip"
        assert (tmp_path / "seg" / f"{fragment}.gz").exists()
    # neuroglancer's readers find the meshes on the bucket
    ids, counts = np.unique(seg.array[seg.array != 0], return_counts=True)
    obj = int(ids[counts.argmax()])
    got = []
    for url in (remote, local):
        mesh = CloudVolume(url, progress=False).mesh.get(obj, **({"lod": 0} if args else {}))
        got.append(mesh[obj] if isinstance(mesh, dict) else mesh)
    assert len(got[0].faces) > 20 and np.array_equal(got[0].vertices, got[1].vertices)


def test_download_mesh_reads_and_writes_buckets(tmp_path, s3_bucket, seg, capsys):
    remote = f"{s3_bucket}/seg"
    _mesh_volume(remote, seg, capsys, margin=False)
    ids = np.unique(seg.array)[1:3].tolist()
    _run(
        [
            "create-chunk",
            "-s",
            "2",
            "2",
            "2",
            "download-mesh",
            "-v",
            remote,
            "-i",
            ",".join(map(str, ids)),
            "-o",
            f"{s3_bucket}/out/obj-",
            "-f",
            "obj",
        ],
        capsys,
    )
    got = _objects(f"{s3_bucket}/out")
    assert sorted(got) == [f"obj-{i}.obj" for i in sorted(ids)]
    for i in ids:
        mesh = CloudVolume(remote, progress=False).mesh.get(i)
        mesh = mesh[i] if isinstance(mesh, dict) else mesh
        assert sum(line.startswith(b"v ") for line in got[f"obj-{i}.obj"].splitlines()) == len(mesh.vertices)


def _race(args: tuple[str, int]) -> str:
    """One of 8 processes: add a mesh key (1.2.0's default for its -e), a skeletons-like key and a scale."""
    from chunkflow.postprocess._layout import declare_subdir
    from chunkflow.postprocess.mesh import mesh_dir

    url, index = args
    directory = mesh_dir(url, max_simplification_error=index, seam_free=False)
    declare_subdir(url, f"extra{index}", {"@type": "x"})

    def add_scale(info):  # type: ignore[no-untyped-def]
        info["scales"].append({**info["scales"][0], "key": f"scale{index}"})
        return info

    files.update_json(files.join(url, "info"), add_scale)
    return directory


@pytest.mark.subprocess
@pytest.mark.slow
@pytest.mark.subprocess
def test_eight_processes_extend_one_info_on_s3_and_lose_nothing(s3_bucket):
    url = f"{s3_bucket}/race/seg"
    info = CloudVolume.create_new_info(1, "segmentation", "uint32", "raw", [4, 4, 40], [0, 0, 0], [64, 64, 16])
    files.write_json(url + "/info", info)
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        dirs = pool.map(_race, [(url, i) for i in range(8)])
    info = files.read_json(url + "/info")
    assert len(set(dirs)) == 1 and dirs[0] == f"{url}/{info['mesh']}"  # the first key stays, all agree on it
    assert info["mesh"] in {f"mesh_err_{i}" for i in range(8)}
    assert {f"extra{i}" for i in range(8)} <= set(info)
    assert sorted(s["key"] for s in info["scales"][1:]) == [f"scale{i}" for i in range(8)]
    names = set(files.list_names(f"{s3_bucket}/race", recursive=True))
    assert names == {"seg/info", f"seg/{info['mesh']}/info"} | {f"seg/extra{i}/info" for i in range(8)}  # no locks


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("line", "env", "expected"),
    [
        ("mesh-manifest -v s3://no-such-bucket-here/seg", {}, "does not exist"),
        ("create-chunk -s 8 32 32 -d uint32 --pattern sin mesh -o s3://no-such-bucket-here/seg", {}, "does not exist"),
        ("download-mesh -v s3://no-such-bucket-here/seg -i 1", {}, "does not exist"),
        ("mesh-manifest -v s3://lab/seg", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, "cannot reach"),
    ],
)
def test_bad_stores_are_one_line(moto_server, line, env, expected):
    environment = {**os.environ, **moto_server, **env, "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}
    exe = os.path.join(os.path.dirname(sys.executable), "chunkflow")
    done = subprocess.run([exe, *line.split()], capture_output=True, text=True, env=environment, timeout=120)
    assert done.returncode == 1, done.stderr
    lines = [x for x in done.stderr.splitlines() if x.strip() and not x.startswith("INFO")]
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_gzip_fragments_on_disk_read_back(tmp_path):
    files.write_many(str(tmp_path), {"1:0:a": b"abc" * 50}, compress="gzip")
    assert gzip.decompress((tmp_path / "1:0:a.gz").read_bytes()) == b"abc" * 50
    assert files.read_many(str(tmp_path), ["1:0:a"]) == {"1:0:a": b"abc" * 50}
    files.write_many(str(tmp_path), {"1:0:a": b"plain"})
    assert not (tmp_path / "1:0:a.gz").exists() and files.read_many(str(tmp_path), ["1:0:a"]) == {"1:0:a": b"plain"}


def test_multires_task_files_without_id_lists_are_still_indexed(tmp_path, seg):
    """Task files written before the ``.ids`` lists existed (or whose list a killed task never wrote)."""
    from chunkflow.postprocess.multires import mesh_task_fragments, write_multires

    url = f"file://{tmp_path / 'seg'}"
    save_chunk(url, seg, block_size=(16, 64, 64))
    ids: set[int] = set()
    for task in seg.bbox.split((16, 64, 64)):
        ids |= set(mesh_task_fragments(seg.cutout(task.grow(1).intersection(seg.bbox)), url, task, seg.bbox))
    lists = list((tmp_path / "seg" / "mesh" / "fragments").glob("*.ids"))
    assert len(lists) == 2
    lists[0].unlink()
    assert write_multires(url, min_chunk_size=16) == len(ids) == len(set(np.unique(seg.array)) - {0})
