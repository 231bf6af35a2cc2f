"""Smoke checks of a chunkflow wheel installed with only the core (run by .ci/wheel-test).

Usage: VENV/bin/python .ci/wheel_smoke.py WHEEL SOURCE_TREE WORKDIR
Run from outside the source tree, with the venv's interpreter: every import must come from the wheel.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

WHEEL, SRC, WORK = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
BIN = Path(sys.executable).parent
CHUNKFLOW = str(BIN / "chunkflow")


def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([CHUNKFLOW, *args], capture_output=True, text=True, cwd=WORK, timeout=300)
    if proc.returncode != expect:
        sys.exit(f"FAIL chunkflow {' '.join(args)}: exit {proc.returncode} (expected {expect})\n{proc.stdout}\n{proc.stderr}")
    return proc


def check(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"FAIL {what}")
    print(f"ok   {what}")


# 1. imports come from the installed wheel, not the source tree
import chunkflow  # noqa: E402

check(str(SRC) not in chunkflow.__file__ and "site-packages" in chunkflow.__file__, f"chunkflow imported from {chunkflow.__file__}")
version_line = next(line for line in (SRC / "src/chunkflow/__init__.py").read_text().splitlines() if line.startswith("__version__"))
expected_version = version_line.split("=")[1].strip().strip("\"'")
check(run("--version").stdout.strip().endswith(expected_version), f"chunkflow --version says {expected_version}")
check(expected_version in WHEEL.name, f"wheel file name {WHEEL.name} carries the version")

# 2. shipped data: every file of the package tree is in the wheel (demo model, sample labels, plugins)
names = set(zipfile.ZipFile(WHEEL).namelist())
package = SRC / "src/chunkflow"
expected = sorted(
    "chunkflow/" + str(p.relative_to(package))
    for p in package.rglob("*")
    if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    and p.stat().st_mtime < WHEEL.stat().st_mtime  # a file added while the wheel test ran is not the wheel's fault
)
missing = [e for e in expected if e not in names]
check(not missing, f"all {len(expected)} files of src/chunkflow are in the wheel (missing: {missing[:5]})")
for required in ("chunkflow/datasets/data/demo_model.onnx", "chunkflow/datasets/data/demo_model.pt",
                 "chunkflow/datasets/data/pinky40_crop_128x256x256.ckl.gz"):  # fmt: skip
    check(required in names, f"{required} shipped")
plugin_files = [n for n in names if "/plugins/" in n and n.endswith(".py")]
shipped_plugins = [p for p in package.rglob("plugins/*.py")]
check(len(plugin_files) >= len(shipped_plugins), f"{len(plugin_files)} shipped plugin files in the wheel")
from chunkflow import datasets  # noqa: E402

labels = datasets.pinky40_labels()
check(labels.array.shape == (128, 256, 256) and int(labels.array.max()) > 0, "pinky40 sample labels load from the wheel")

# 3. --help lists operators whose extra is missing; running one fails with one line before any work
help_text = run("--help").stdout
for op in ("inference", "agglomerate", "mesh", "view", "load-h5"):
    check(op in help_text, f"chunkflow --help lists {op}")
out = WORK / "never.h5"
proc = run("create-chunk", "-s", "8", "32", "32", "save-h5", "-f", str(out), "inference", "-s", "4", "16", "16",
           "-c", "3", expect=1)  # fmt: skip
lines = proc.stderr.strip().splitlines()
check(len(lines) == 1 and "'inference' extra" in lines[0] and "pip install 'chunkflow[inference]'" in lines[0],
      f"missing extra -> one line: {lines}")  # fmt: skip
check(not out.exists(), "no work done before the missing-extra error (save-h5 before it wrote nothing)")
proc = run("run", "--", "generate-tasks", "-b", "0-8_0-8_0-8", "-c", "8", "8", "8", expect=1)
check("pip install 'chunkflow[dask]'" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1,
      "run without the dask extra names chunkflow[dask] in one line")  # fmt: skip
proc = run("view", str(WORK), expect=1)
check("pip install 'chunkflow[viewer]'" in proc.stderr, "view without the viewer extra names chunkflow[viewer]")

# 4. an I/O chain through every core format
t0 = time.perf_counter()
run("create-chunk", "-s", "16", "64", "64", "--pattern", "sin", "-t", "0", "0", "0", "save-h5", "-f", "sin.h5")
run("load-h5", "-f", "sin.h5", "save-tif", "-f", "sin.tif", "save-npy", "-f", "sin.npy", "save-zarr", "-s", "sin.zarr",
    "save-precomputed", "-v", f"file://{WORK}/img", "downsample-upload", "-v", f"file://{WORK}/img", "--stop-mip", "2")  # fmt: skip
run("load-precomputed", "-v", f"file://{WORK}/img", "-s", "0", "0", "0", "-z", "16", "64", "64", "save-h5", "-f", "back.h5",
    "load-zarr", "-f", "sin.zarr", "-o", "z", "save-h5", "-i", "z", "-f", "backz.h5")  # fmt: skip
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tifffile  # noqa: E402

with h5py.File(WORK / "sin.h5") as a, h5py.File(WORK / "back.h5") as b, h5py.File(WORK / "backz.h5") as c:
    original = a["main"][()]
    check(original.any() and np.array_equal(original, b["main"][()]), "h5 -> precomputed -> h5 round trip is identical")
    check(np.array_equal(original, c["main"][()]), "h5 -> zarr -> h5 round trip is identical")
check(np.array_equal(original, tifffile.imread(WORK / "sin.tif")), "tif equals the h5 chunk")
check(np.array_equal(original, np.load(WORK / "sin.npy")), "npy equals the h5 chunk")
check((WORK / "img/info").exists() and len(json.loads((WORK / "img/info").read_text())["scales"]) >= 2, "pyramid written")
print(f"     I/O chain took {time.perf_counter() - t0:.1f} s")

# 5. a queue round trip: frontend -> file queue -> 2 worker processes -> done markers
queue = f"file://{WORK}/queue"
run("create-info", "-v", f"file://{WORK}/copy", "-z", "16", "64", "64", "-s", "40", "4", "4", "-b", "8", "32", "32",
    "-d", str(original.dtype), "-t", "image")  # fmt: skip
run("generate-tasks", "-v", f"file://{WORK}/copy", "-c", "8", "32", "32", "-q", queue)
status = run("queue", "status", queue).stdout
check("waiting    8" in status, f"8 tasks queued ({status.splitlines()[1:2]})")
run("worker", "-p", "2", "--", "fetch-task", "-q", queue, "--retry-times", "1", "--retry-interval", "0.2",
    "load-precomputed", "-v", f"file://{WORK}/img", "save-precomputed", "-v", f"file://{WORK}/copy",
    "mark-complete", "-p", f"{WORK}/done/", "delete-task-in-queue")  # fmt: skip
status = run("queue", "status", queue).stdout
check("waiting    0" in status and "in flight  0" in status, "queue drained")
check(len(list((WORK / "done").iterdir())) == 8, "8 done markers")
run("load-precomputed", "-v", f"file://{WORK}/copy", "-s", "0", "0", "0", "-z", "16", "64", "64", "save-h5", "-f", "copy.h5")
with h5py.File(WORK / "copy.h5") as f:
    check(np.array_equal(original, f["main"][()]), "the queue-copied volume equals the original")

# 6. nothing of the extras came in with the core
import importlib.util  # noqa: E402

present = [m for m in ("torch", "onnxruntime", "waterz", "cc3d", "zmesh", "kimimaro", "neuroglancer", "distributed", "scipy")
           if importlib.util.find_spec(m) is not None]  # fmt: skip
check(not present, f"core install has no extra's library ({present})")
print("wheel smoke checks passed")
