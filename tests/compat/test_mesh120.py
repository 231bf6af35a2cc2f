"""Meshes as chunkflow 1.2.0 wrote them (issue 24.2), against fragments and manifests recorded once from
1.2.0 itself (``scripts/record_mesh120.py``; ``data/mesh120``): our ``mesh`` with 1.2.0's command line writes
the same directory and the same gzip'ed fragments byte for byte, and our ``mesh-manifest`` on a volume
1.2.0 meshed leaves its ``info`` alone and writes the manifests 1.2.0 wrote, on disk and on a bucket."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from cloudvolume import CloudVolume, Mesh

from chunkflow import files
from chunkflow.cli import main

DATA = Path(__file__).parent / "data" / "mesh120"
MESH_DIR = "mesh_err_40"


def _recorded() -> dict[str, bytes]:
    """1.2.0's fragments: {name: decompressed bytes}."""
    return {p.name[:-3]: gzip.decompress(p.read_bytes()) for p in (DATA / "seg" / MESH_DIR).glob("*.gz")}


def _upload(tmp_path: Path, where: str, meshed: bool) -> str:
    """The recorded volume at ``where`` (a local path or a bucket URL): as 1.2.0's mesh left it, or as it was
    before meshing (no mesh key, no mesh directory)."""
    local = tmp_path / "seg120"
    shutil.copytree(DATA / "seg", local)
    if not meshed:
        shutil.rmtree(local / MESH_DIR)
        info = json.loads((local / "info").read_text())
        del info["mesh"]
        (local / "info").write_text(json.dumps(info))
    if not files.is_remote(where):
        return f"file://{local}"
    items = {str(p.relative_to(local)): p.read_bytes() for p in local.rglob("*") if p.is_file()}
    files.write_many(where, {n: b for n, b in items.items() if not n.endswith(".gz")})
    # 1.2.0 put its fragments through cloud-files with compress="gzip": Content-Encoding on a bucket
    files.write_many(
        where, {n[:-3]: gzip.decompress(b) for n, b in items.items() if n.endswith(".gz")}, compress="gzip"
    )
    return where


def _run(capsys, *argv: str) -> None:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    assert code == 0, capsys.readouterr().err


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "local":
        return str(tmp_path / "unused")
    return request.getfixturevalue("s3_bucket") + "/lab/seg"


def test_mesh_with_120s_command_line_writes_what_120_wrote(tmp_path, store, capsys):
    url = _upload(tmp_path, store, meshed=False)
    # 1.2.0's documented line (gs:// in its docs; the same line on the S3 server here)
    _run(capsys, "generate-tasks", "-v", url, "-c", "16", "64", "64", "load-precomputed", "-v", url, "mesh", "-o", url)
    assert files.read_json(files.join(url, "info"))["mesh"] == MESH_DIR
    recorded = _recorded()
    names = [n[:-3] if n.endswith(".gz") else n for n in files.list_names(files.join(url, MESH_DIR))]
    assert sorted(n for n in names if n != "info") == sorted(recorded)
    ours = files.read_many(files.join(url, MESH_DIR), recorded)
    assert ours == recorded  # byte for byte: same meshing, simplification and naming
    if not files.is_remote(url):
        assert all((tmp_path / "seg120" / MESH_DIR / f"{n}.gz").exists() for n in recorded)  # gzip, as 1.2.0


def test_mesh_manifest_keeps_a_120_volume_loadable(tmp_path, store, capsys):
    url = _upload(tmp_path, store, meshed=True)
    info_before = files.read_bytes(files.join(url, "info"))
    _run(capsys, "mesh-manifest", "-v", url)
    assert files.read_bytes(files.join(url, "info")) == info_before  # info["mesh"] untouched
    directory = files.join(url, MESH_DIR)
    recorded = json.loads((DATA / "manifests.json").read_text())
    got = files.read_many(directory, recorded)
    assert {name: json.loads(data) for name, data in got.items() if data} == recorded  # what 1.2.0 wrote
    fragments = files.read_many(directory, [f for m in recorded.values() for f in m["fragments"]])
    assert all(data for data in fragments.values())  # every listed fragment exists
    cv = CloudVolume(url, progress=False)
    for name, manifest in recorded.items():
        obj = int(name.split(":")[0])
        mesh = cv.mesh.get(obj)
        mesh = mesh[obj] if isinstance(mesh, dict) else mesh
        parts = [Mesh.from_precomputed(fragments[f]) for f in manifest["fragments"]]
        assert len(mesh.vertices) == sum(len(p.vertices) for p in parts) > 0


def test_meshing_more_into_a_120_volume_keeps_its_directory(tmp_path, capsys):
    url = _upload(tmp_path, str(tmp_path), meshed=True)
    _run(
        capsys,
        "generate-tasks",
        "-v",
        url,
        "-c",
        "16",
        "64",
        "64",
        "load-precomputed",
        "-v",
        url,
        "mesh",
        "-o",
        url,
        "-e",
        "8",
        "--skip-ids",
        "1,2,3,4,5,6",
    )
    assert files.read_json(files.join(url, "info"))["mesh"] == MESH_DIR
    assert not (tmp_path / "seg120" / "mesh_err_8").exists()
    _run(capsys, "mesh-manifest", "-v", url)
    manifest = json.loads((tmp_path / "seg120" / MESH_DIR / "7:0").read_text())
    assert manifest == {"fragments": ["7:0:0-64_0-64_0-16", "7:0:64-128_0-64_0-16"]}


def test_mesh_manifest_flag_writes_loadable_manifests(tmp_path, capsys):
    """1.2.0's ``mesh --manifest`` wrote ``<id>:0`` per chunk (the last chunk's fragment only); ours lists every
    fragment the object has so far, so the last task's manifests cover the whole object."""
    url = _upload(tmp_path, str(tmp_path), meshed=False)
    _run(
        capsys,
        "generate-tasks",
        "-v",
        url,
        "-c",
        "16",
        "64",
        "64",
        "load-precomputed",
        "-v",
        url,
        "mesh",
        "-o",
        url,
        "--manifest",
    )
    recorded = json.loads((DATA / "manifests.json").read_text())
    directory = tmp_path / "seg120" / MESH_DIR
    got = {p.name: json.loads(p.read_text()) for p in directory.iterdir() if p.name.count(":") == 1}
    assert got == recorded
    assert json.loads((directory / "info").read_text()) == {"@type": "neuroglancer_legacy_mesh"}
