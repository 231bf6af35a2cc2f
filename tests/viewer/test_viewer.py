"""The neuroglancer viewer: ``chunkflow view`` serving precomputed volumes from disk, the
``neuroglancer`` operator, and a real headless Chromium loading the viewer."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from chunkflow import BoundingBox
from chunkflow.datasets import pinky40_labels
from chunkflow.datasets.synthetic_em import synthesize_em
from chunkflow.postprocess import downsample_upload, mesh_chunk, write_manifests
from chunkflow.volumes import save_chunk

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def volumes(tmp_path_factory) -> tuple[Path, Path]:
    """Image and segmentation (2 mips, meshes) of 32x256x256 voxels of real neurons."""
    root = tmp_path_factory.mktemp("ng")
    labels = pinky40_labels()
    box = BoundingBox.from_string("192-224_128-384_128-384")
    seg = labels.cutout(box).with_array(np.ascontiguousarray(labels.cutout(box).array))
    image = seg.with_array(synthesize_em(seg.array), layer_type="image")
    for name, chunk in (("image", image), ("seg", seg)):
        save_chunk(f"file://{root / name}", chunk)
        downsample_upload(chunk, f"file://{root / name}", 0, 2)
    mesh_chunk(seg, f"file://{root / 'seg'}", dust_size_threshold=2000)
    write_manifests(f"file://{root / 'seg'}")
    return root / "image", root / "seg"


def _start_view(*args: str) -> tuple[subprocess.Popen, list[str]]:
    exe = str(Path(sys.executable).parent / "chunkflow")
    proc = subprocess.Popen(
        [exe, "view", *args, "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.startswith("layers:"):
            break
    return proc, lines


@pytest.mark.server
@pytest.mark.subprocess
def test_view_prints_link_serves_volumes_and_stops(volumes):
    port = _free_port()
    proc, lines = _start_view(str(volumes[0]), f"file://{volumes[1]}", "--port", str(port))
    try:
        link = next(line.split()[-1] for line in lines if line.startswith("neuroglancer viewer:"))
        token = link.rstrip("/").rsplit("/", 1)[-1]
        assert link == f"http://127.0.0.1:{port}/v/{token}/" and len(token) >= 20, lines  # random per run
        html = urllib.request.urlopen(link, timeout=10).read()
        assert b"<html" in html.lower() or b"<!doctype" in html.lower()
        # the old fixed token gives nothing: no page, and no state can be posted to it
        for path in ("/v/chunkflow/", "/state/chunkflow"):
            with pytest.raises(urllib.error.HTTPError):
                data = b"{}" if path.startswith("/state") else None
                urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data), timeout=10)
        data = next(line.split()[-1] for line in lines if line.startswith("local volumes served at")).replace(
            "<layer>/", ""
        )
        assert data.startswith("http://127.0.0.1:")
        own = urllib.request.Request(f"{data}seg/info", headers={"Origin": f"http://127.0.0.1:{port}"})
        assert (
            urllib.request.urlopen(own, timeout=10).headers["Access-Control-Allow-Origin"] == f"http://127.0.0.1:{port}"
        )
        evil = urllib.request.Request(f"{data}seg/info", headers={"Origin": "http://evil.example"})
        assert urllib.request.urlopen(evil, timeout=10).headers["Access-Control-Allow-Origin"] is None
        # cloud-volume's gzip'ed chunk NAME.gz is served as NAME with Content-Encoding: gzip
        chunk = next(p for p in (volumes[1] / "4_4_40").iterdir() if p.name.endswith(".gz")).name.removesuffix(".gz")
        request = urllib.request.Request(f"{data}seg/4_4_40/{chunk}", headers={"Accept-Encoding": "gzip"})
        assert urllib.request.urlopen(request, timeout=10).headers["Content-Encoding"] == "gzip"
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{data}seg/..%2f..%2fetc/passwd", timeout=10)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["/nonexistent/volume"], "no precomputed volume"), (["--segments", "1,a", "/x"], "comma-separated")],
)
def test_view_bad_input(run_cli, args, message):
    r = run_cli("view", *args, "--no-browser", timeout=60)
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr


def test_view_busy_port(run_cli, volumes):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = run_cli("view", str(volumes[0]), "--port", str(s.getsockname()[1]), "--no-browser", timeout=60)
    assert r.returncode == 1 and "is in use" in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.server
@pytest.mark.subprocess
def test_neuroglancer_operator_shows_task_chunks(volumes):
    exe = str(Path(sys.executable).parent / "chunkflow")
    proc = subprocess.Popen(
        [
            exe,
            "load-precomputed",
            "-v",
            f"file://{volumes[1]}",
            "-s",
            "192",
            "128",
            "128",
            "-z",
            "32",
            "64",
            "64",
            "-o",
            "seg",
            "neuroglancer",
            "-i",
            "seg",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    link = ""
    for _ in range(5):
        line = proc.stdout.readline()
        if "neuroglancer viewer" in line:
            link = line.split()[-1]
            break
    assert link.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else link
    assert urllib.request.urlopen(link, timeout=10).status == 200
    proc.communicate("\n", timeout=60)
    assert proc.returncode == 0


@pytest.mark.subprocess
@pytest.mark.server
@pytest.mark.browser
@pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Chromium and chromedriver are absent: apt-get install -y chromium chromium-driver (.ci/run does)",
)
def test_viewer_in_headless_chromium(volumes):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from chunkflow.viewer import view_volumes

    session = view_volumes([str(volumes[0]), str(volumes[1])], port=_free_port())
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1200,900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.get(session.url)
        labels: list[str] = []
        deadline = time.time() + 60
        while time.time() < deadline and not {"image", "seg"} <= set(labels):
            time.sleep(0.5)
            labels = driver.execute_script(
                "return Array.from(document.querySelectorAll('.neuroglancer-layer-item-label')).map(e => e.textContent)"
            )
        assert {"image", "seg"} <= set(labels), f"layers listed: {labels}"
        # wait until the picture stops changing (chunks and meshes loaded)
        from io import BytesIO

        from PIL import Image

        previous, picture = None, None
        deadline = time.time() + 90
        while time.time() < deadline:
            time.sleep(2)
            picture = np.asarray(Image.open(BytesIO(driver.get_screenshot_as_png())).convert("RGB"))
            if previous is not None and np.array_equal(previous, picture):
                break
            previous = picture
        ARTIFACTS.mkdir(exist_ok=True)
        Image.fromarray(picture).save(ARTIFACTS / "viewer.png")
        height, width, _ = picture.shape
        panels = picture[60:]  # below the top bar and the layer list
        assert panels.std() > 20, "the viewer picture is blank"
        colours = np.unique(panels.reshape(-1, 3) // 32, axis=0)
        assert len(colours) > 30, f"only {len(colours)} colours: the layers did not render"
        three_d = picture[height // 2 + 20 :, 20 : width // 2 - 20]  # bottom-left: the 3D view with meshes
        saturated = (three_d.max(axis=-1).astype(int) - three_d.min(axis=-1)) > 60
        assert saturated.mean() > 0.002, "no coloured meshes or segments in the 3D view"
    finally:
        driver.quit()
        session.stop()
    assert os.path.getsize(ARTIFACTS / "viewer.png") > 10_000


@pytest.mark.server
def test_remote_urls_are_passed_to_the_browser(volumes):
    """gs://, s3:// and http(s):// volumes are opened by neuroglancer itself; here an HTTP one."""
    from chunkflow.viewer import DataServer, view_volumes

    data = DataServer({"remote": str(volumes[1])})
    session = view_volumes([f"{data.url}/remote", str(volumes[0])], port=_free_port(), segments=[1, 2])
    try:
        state = session.viewer.state.to_json()
        layers = {layer["name"]: layer for layer in state["layers"]}
        source = layers["remote"]["source"]
        source = source[0] if isinstance(source, list) else source
        source = source["url"] if isinstance(source, dict) else source
        assert source == f"precomputed://{data.url}/remote"
        assert layers["image"]["type"] == "image" and session.layers == ["remote", "image"]
        assert urllib.request.urlopen(f"{data.url}/remote/info", timeout=10).status == 200
    finally:
        session.stop()
        data.stop()


@pytest.mark.server
def test_data_server_cors_origin_option(volumes):
    """--cors-origin lets one more origin read the served volumes; others still get no CORS header."""
    from chunkflow.viewer.serve import DataServer

    server = DataServer({"seg": str(volumes[1])}, origins=["https://neuroglancer-demo.appspot.com"])
    try:
        for origin, allowed in (("https://neuroglancer-demo.appspot.com", True), ("http://evil.example", False)):
            r = urllib.request.urlopen(
                urllib.request.Request(f"{server.url}/seg/info", headers={"Origin": origin}), timeout=10
            )
            assert r.headers["Access-Control-Allow-Origin"] == (origin if allowed else None)
        server.origins.append("*")
        r = urllib.request.urlopen(
            urllib.request.Request(f"{server.url}/seg/info", headers={"Origin": "http://x.example"}), timeout=10
        )
        assert r.headers["Access-Control-Allow-Origin"] == "http://x.example"
    finally:
        server.stop()


@pytest.mark.server
def test_data_server_answers_range_requests(tmp_path):
    """neuroglancer reads sharded volumes by byte ranges: 206 with the asked bytes, 416 past the end."""
    from chunkflow.viewer.serve import DataServer

    (tmp_path / "vol").mkdir()
    payload = bytes(range(256)) * 4
    (tmp_path / "vol" / "0.shard").write_bytes(payload)
    server = DataServer({"vol": str(tmp_path / "vol")})
    try:
        url = f"{server.url}/vol/0.shard"
        for header, expected in (
            ("bytes=10-19", payload[10:20]),
            ("bytes=1000-", payload[1000:]),
            ("bytes=-8", payload[-8:]),
        ):
            r = urllib.request.urlopen(urllib.request.Request(url, headers={"Range": header}), timeout=10)
            assert r.status == 206 and r.read() == expected
            assert r.headers["Content-Range"].endswith(f"/{len(payload)}")
        assert urllib.request.urlopen(url, timeout=10).read() == payload
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=5000-"}), timeout=10)
        assert exc.value.code == 416
    finally:
        server.stop()
