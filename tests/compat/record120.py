"""Record chunkflow 1.2.0's outputs once, as small fixtures the compatibility tests compare against.

Run with our environment's python; it calls 1.2.0's command line through ``run120.py`` in the
environment named by ``CHUNKFLOW120_PYTHON`` (default ``/work/venv120/bin/python``; make one with
``python3.11 -m venv /work/venv120 && /work/venv120/bin/pip install chunkflow==1.2.0
opencv-python-headless "numpy<2" torch==2.13.0 fill_voids waterz mrcfile``; the last three are plugin needs 1.2.0 does not list)::

    .venv/bin/python tests/compat/record120.py

``--only doclines|plugins|script|inference`` records those parts. Also writes ``data/ref120_plugins.json``
(1.2.0's plugin files run by 1.2.0 on :func:`plugin_inputs`). Writes ``tests/compat/data/ref120_doclines.json``
(1.2.0's exit status, stdout and a summary of the files written for each line of ``doclines120.DOC_LINES``),
``tests/compat/data/ref120_user_script.json`` (1.2.0's results of the 24 calls of ``user_script120.py``) and ``tests/compat/data/ref120_inference.npz``: for each case in :data:`CASES`, 1.2.0's output array
(``<case>``) and its voxel offset (``<case>_offset``); the input is cut from our synthetic sample image
(``chunkflow.datasets.sample_image``), which the tests cut again the same way. And ``api_*``: 1.2.0's
``Image.normalize_contrast`` and ``Segmentation.evaluate`` on :func:`api_inputs`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "ref120_inference.npz"
DOC_OUT = HERE / "data" / "ref120_doclines.json"
SCRIPT_OUT = HERE / "data" / "ref120_user_script.json"
PYTHON = os.environ.get("CHUNKFLOW120_PYTHON", "/work/venv120/bin/python")

# 11 x 30 x 29 is not a whole number of 4 x 16 x 16 patches at stride 3 x 12 x 12 (the last patch of each
# axis is shifted flush); 10 x 40 x 40 is (1.2.0 needs that without --mask-output-chunk)
IRREGULAR = "200-211_150-180_150-179"
REGULAR = "200-210_150-190_150-190"
PATCH = ["-s", "4", "16", "16", "-v", "1", "4", "4", "-c", "3"]
CASES = {
    # name: (box, inference flags after the model flags)
    "mask_irregular": (IRREGULAR, ["--mask-output-chunk"]),
    "mask_regular": (REGULAR, ["--mask-output-chunk", "--bump", "wu"]),
    "default_regular": (REGULAR, ["-n", "3", "3", "3"]),
}


def model_flags() -> list[str]:
    from chunkflow.datasets import demo_model

    model = demo_model()
    return ["-f", "pytorch", "-m", str(model["model"]), "-w", str(model["weights"])]


def input_chunk(box: str):
    from chunkflow.compat.chunk import as_120
    from chunkflow.datasets import sample_image
    from chunkflow.geometry import BoundingBox

    return as_120(sample_image().cutout(BoundingBox.from_string(box))).clone()


def run_120(box: str, flags: list[str], work: Path) -> tuple[np.ndarray, tuple[int, ...]]:
    import h5py

    image, out = work / "image.h5", work / "out.h5"
    input_chunk(box).to_h5(str(image))
    command = [PYTHON, str(HERE / "run120.py"), "load-h5", "-f", str(image), "inference", *model_flags(), *PATCH,
               *flags, "save-h5", "-f", str(out)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=work, timeout=600)
    if done.returncode != 0:
        sys.exit(f"chunkflow 1.2.0 failed on {box} {flags}:\n{done.stderr[-3000:]}")
    with h5py.File(out, "r") as f:
        return np.asarray(f["main"]), tuple(int(v) for v in f["voxel_offset"])


# 1.2.0's Python API on small deterministic inputs (``api_inputs``): printed as JSON by 1.2.0 itself
API_SCRIPT = """
import json, sys, numpy as np
from chunkflow.chunk.image import Image
from chunkflow.chunk.segmentation import Segmentation
data = np.load(sys.argv[1])
image = Image(data["image"].copy(), voxel_offset=(3, 0, 0))
image.normalize_contrast()
scores = Segmentation(data["seg"]).evaluate(Segmentation(data["gt"]), size_threshold=10)
np.savez(sys.argv[2], normalized=image.array, **{k: np.asarray(v, dtype=np.float64) for k, v in scores.items()})
"""


def api_inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    image = rng.integers(20, 200, size=(3, 16, 16), dtype=np.uint8)
    gt = np.repeat(np.arange(4, dtype=np.uint32), 8).reshape(1, 4, 8).repeat(4, axis=0)  # 4 objects
    seg = gt.copy()
    seg[:, :2] = 7  # a merge across objects 0 and 1 in half the rows
    seg[0] = 9  # and a split of the first section
    return {"image": image, "gt": gt, "seg": seg}


def run_120_api(work: Path) -> dict[str, np.ndarray]:
    np.savez(work / "api_in.npz", **api_inputs())
    done = subprocess.run(
        [PYTHON, "-c", API_SCRIPT, str(work / "api_in.npz"), str(work / "api_out.npz")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        sys.exit(f"chunkflow 1.2.0's API failed:\n{done.stderr[-3000:]}")
    return {f"api_{k}": v for k, v in np.load(work / "api_out.npz").items()}


# command lines of 1.2.0's documentation: the list, their inputs and how a run is summarised live in
# doclines120.py; 1.2.0 runs each in a fresh folder through its console script (stdout kept; stderr
# only as its last line, for the record's reader)
def run_120_doc_lines() -> dict[str, dict[str, object]]:
    """Per documented line: 1.2.0's exit status, the lines it printed and a summary of the files it wrote."""
    from tests.compat.doclines120 import DOC_LINES, run_line

    results: dict[str, dict[str, object]] = {}
    for name in DOC_LINES:
        with tempfile.TemporaryDirectory() as directory:
            errors: list[str] = []

            def run(argv: list[str], work: str = directory, errors: list[str] = errors) -> tuple[int, str]:
                command = [PYTHON, str(HERE / "run120.py"), *argv]
                done = subprocess.run(command, capture_output=True, text=True, cwd=work, timeout=600)
                errors[:] = done.stderr.strip().splitlines()[-1:]
                return done.returncode, done.stdout

            results[name] = run_line(run, name, Path(directory))
            results[name]["stderr_last_line"] = errors[0][:300] if errors else ""
        print(name, results[name]["returncode"])
    return results


def run_120_user_script() -> dict[str, object]:
    """1.2.0's results of the 24 calls of ``user_script120.py``."""
    import json

    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "results.json"
        script, plugins = HERE / "user_script120.py", HERE / "upstream120" / "plugins" / "synapse"
        done = subprocess.run(
            [PYTHON, str(script), directory, str(plugins), str(out)], capture_output=True, text=True, cwd=directory
        )
        if done.returncode != 0:
            sys.exit(f"the user script failed on chunkflow 1.2.0:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


# 1.2.0's plugin files (its repository's chunkflow/plugins/, not in its wheel), each run through 1.2.0's
# ``plugin`` command on an h5 input; ours run the shipped plugin of the same name (test_plugins120.py)
PLUGIN_CASES = {
    # name: (input, --args)
    "inverse": ("img", None),
    "mapto01": ("img", None),
    "median_filter": ("img", "size=(3,3,3)"),
    "gaussian_filter": ("img", "sigma=1.0"),
    "transpose": ("img", None),
    "stretch_intensity": ("img", "min_threshold=50;max_threshold=200"),
    "rescale_intensity": ("img", "low=50;high=200"),
    "clahe": ("img", None),
    "fill_segmentation_holes": ("seg", None),
    "agglomerate": ("affs", "threshold=0.5"),
    "print_max_id": ("seg", None),
    "statistics": ("seg", None),
}
PLUGINS_OUT = HERE / "data" / "ref120_plugins.json"
PLUGIN_REPO = Path(os.environ.get("CHUNKFLOW120_PLUGINS", "/work/.mirror/seung-lab+chunkflow/repo"))


def plugin_inputs(work: Path) -> None:
    """``img.h5`` (uint8), ``seg.h5`` (uint32, with a hole), ``affs.h5`` (float32, x/y/z channels) at 200^3."""
    import h5py

    from chunkflow.datasets import pinky40_labels, sample_image
    from chunkflow.geometry import BoundingBox

    box = BoundingBox.from_string("200-208_200-264_200-264")
    img, seg = sample_image().cutout(box).array, pinky40_labels().cutout(box).array.copy()
    seg[2:5, 20:30, 20:30] = 0
    affs = np.zeros((3, *seg.shape), np.float32)
    affs[2, 1:] = seg[1:] == seg[:-1]
    affs[1, :, 1:] = seg[:, 1:] == seg[:, :-1]
    affs[0, :, :, 1:] = seg[:, :, 1:] == seg[:, :, :-1]
    for name, array in (("img", img), ("seg", seg), ("affs", affs)):
        with h5py.File(work / f"{name}.h5", "w") as f:
            f["main"], f["voxel_offset"], f["voxel_size"] = array, np.array([200, 200, 200]), np.array([40, 4, 4])


def plugin_command(name: str, source: str, work: Path) -> list[str]:
    """``load-h5 ... plugin -f SOURCE ... save-h5`` for one case (no save for the printing plugins)."""
    inputs, args = PLUGIN_CASES[name]
    writes = name not in ("print_max_id", "statistics")
    return [
        *["load-h5", "-f", str(work / f"{inputs}.h5"), "-o", "x", "plugin", "-f", source, "-i", "x"],
        *(["-o", "y"] if writes else []),
        *(["--args", args] if args else []),
        *(["save-h5", "-i", "y", "-f", str(work / f"{name}_out.h5")] if writes else []),
    ]


def run_120_plugins() -> dict[str, object]:
    from tests.compat.doclines120 import read_output

    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        plugin_inputs(work)
        for name in PLUGIN_CASES:
            source = work / f"{name}.py"
            shown = subprocess.run(
                ["git", "-C", str(PLUGIN_REPO), "show", f"HEAD:chunkflow/plugins/{name}.py"],
                capture_output=True,
                text=True,
                check=True,
            )
            source.write_text(shown.stdout)
            command = [PYTHON, str(HERE / "run120.py"), *plugin_command(name, str(source), work)]
            done = subprocess.run(command, capture_output=True, text=True, cwd=work, timeout=600)
            out = work / f"{name}_out.h5"
            results[name] = {
                "returncode": done.returncode,
                "stderr_last_line": (done.stderr.strip().splitlines() or [""])[-1][:300],
                "stdout": [line for line in done.stdout.splitlines() if "object" in line],
                "output": read_output(out) if out.exists() else None,
                "voxel_offset": _h5_offset(out) if out.exists() else None,
            }
            print(name, done.returncode)
    return results


def run_120_plugin_calls() -> dict[str, object]:
    """1.2.0's results of ``plugin_calls120.py`` with 1.2.0's plugin files."""
    import json

    from tests.compat.plugin_calls120 import NAMES

    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        for name in NAMES:
            shown = subprocess.run(
                ["git", "-C", str(PLUGIN_REPO), "show", f"HEAD:chunkflow/plugins/{name}.py"],
                capture_output=True,
                text=True,
                check=True,
            )
            (work / f"{name}.py").write_text(shown.stdout)
        out = work / "calls.json"
        done = subprocess.run(
            [PYTHON, str(HERE / "plugin_calls120.py"), directory, directory, str(out)],
            capture_output=True,
            text=True,
            cwd=directory,
        )
        if done.returncode != 0:
            sys.exit(f"1.2.0's plugins failed:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def _h5_offset(path: Path) -> list[int]:
    import h5py

    with h5py.File(path, "r") as f:
        return [int(v) for v in f["voxel_offset"]]


def main() -> None:
    import json

    sys.path.insert(0, str(HERE.parents[1]))  # run as a script: make ``tests.compat`` importable
    parts = (
        sys.argv[sys.argv.index("--only") + 1 :]
        if "--only" in sys.argv
        else ["doclines", "plugins", "script", "inference"]
    )
    if "doclines" in parts:
        DOC_OUT.write_text(json.dumps(run_120_doc_lines(), indent=1) + "\n")
        print(f"wrote {DOC_OUT}")
    if "plugins" in parts:
        PLUGINS_OUT.write_text(json.dumps({**run_120_plugins(), "calls": run_120_plugin_calls()}, indent=1) + "\n")
        print(f"wrote {PLUGINS_OUT}")
    if "script" in parts:
        SCRIPT_OUT.write_text(json.dumps(run_120_user_script(), indent=1) + "\n")
        print(f"wrote {SCRIPT_OUT}")
    if "inference" not in parts:
        return
    arrays: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, (box, flags) in CASES.items():
            array, offset = run_120(box, flags, Path(directory))
            arrays[name], arrays[f"{name}_offset"] = array.astype(np.float32), np.asarray(offset)
            print(name, array.shape, offset)
        arrays.update(run_120_api(Path(directory)))
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
