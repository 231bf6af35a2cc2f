"""Every ``chunkflow`` command line of chunkflow 1.2.0's documentation, and how to run it offline.

Sources, read from 1.2.0's repository (seung-lab/chunkflow at 3c883ef, whose code is the 1.2.0 release):
``README.md``, ``docs/source/tutorial.rst`` (the other pages, ``install``, ``development``, ``api``,
``introduction``, ``index`` and ``docs/README.md``, hold no ``chunkflow`` command line), and
``tests/command_line.sh``, which the tutorial names as the place for "example usage".

Each line is kept as documented, with only what a user changes to try it on one machine:

- paths the docs leave to the user (``path/of/image.tif``, ``model.py``, ``/tmp/...``, ``tests/data/log``)
  point into one scratch folder ``{tmp}`` that :func:`doc_line_inputs` fills with small synthetic data
  (CREMI's ``sample_A_20160501.hdf`` becomes an 8 x 64 x 64 file with the same dataset path);
- ``gs://my/dataset/path`` becomes ``file://{tmp}/seg`` where nothing else needs the network;
- the model is our small demo network (3 output channels) where the docs name ``model.py`` and a weight file;
- a trailing ``neuroglancer`` / ``view`` (a GUI that waits for a browser) is dropped where the line writes
  something before it; where the docs suggest it ("add a writing operator, such as save-tif, before the
  neuroglancer operator") it is replaced by ``save-tif``.

:data:`NOT_RUNNABLE` lists the documented lines left out and why (SQS queues, cloud buckets with
credentials, a GUI and nothing else, ``......`` placeholders).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LOG120 = HERE / "data" / "log120"  # 1.2.0's tests/data/log, two task logs (Apache-2.0, see upstream120/)
MESH120 = HERE / "data" / "mesh120" / "seg"  # a volume meshed by 1.2.0 (test_mesh120.py)

MODEL = "--convnet-model {model} --convnet-weight-path {weights}"

# name: the command line after ``chunkflow`` (``{tmp}``, ``{model}``, ``{weights}`` filled in)
DOC_LINES: dict[str, str] = {
    # --- README.md: the image segmentation example (its neuroglancer dropped; the affinities are kept)
    "readme_segmentation": "load-tif --file-name {tmp}/image.tif -o image inference " + MODEL + " "
    "--input-patch-size 20 256 256 --output-patch-overlap 4 64 64 --num-output-channels 3 -f pytorch "
    "--batch-size 12 --mask-output-chunk -i image -o affs plugin -f agglomerate --threshold 0.7 "
    "--aff-threshold-low 0.001 --aff-threshold-high 0.9999 -i affs -o seg save-h5 -i seg --file-name {tmp}/seg.h5",
    # --- docs/source/tutorial.rst
    "list": "",
    "help": "create-chunk --help",
    "hdf_to_precomputed": "load-h5 --file-name {tmp}/sample_A_20160501.hdf --dataset-path /volumes/raw "
    "save-precomputed --volume-path file://{tmp}/key",
    "precomputed_start_stop": "load-precomputed --volume-path file://{tmp}/key --start 0 0 0 --stop 128 512 512 "
    "save-h5 --file-name {tmp}/cutout_chunk.h5",
    "evaluate_tifs": "load-tif --file-name {tmp}/groundtruth.tif -o gt load-tif --file-name {tmp}/segmentation.tif "
    "-o seg evaluate-segmentation -g gt -s seg",
    "cleft_inference": "load-tif -f {tmp}/image.tif -o image inference " + MODEL + " --patch-size 18 192 192 "
    "--patch-overlap 4 64 64 --framework pytorch --batch-size 6 --bump wu --num-output-channels 1 "
    "--mask-output-chunk -i image -o cleft save-tif -i cleft -f {tmp}/cleft_out.tif",
    "cleft_segmentation": "load-tif -f {tmp}/image.tif -o image load-tif -f {tmp}/cleft.tif -o cleft "
    "connected-components -i cleft -o seg -t 0.1 save-tif -i seg -f {tmp}/cleft_seg.tif",
    "boundary_inference": "load-tif --file-name {tmp}/image.tif -o image inference " + MODEL + " "
    "--patch-size 20 256 256 --patch-overlap 4 64 64 --num-output-channels 3 -f pytorch --batch-size 12 "
    "--mask-output-chunk -i image -o affs save-h5 -i affs --file-name {tmp}/affs_out.h5",
    "agglomerate": "load-h5 --file-name {tmp}/affs.h5 -o affs agglomerate --threshold 0.7 --aff-threshold-low 0.001 "
    "--aff-threshold-high 0.9999 -i affs -o seg save-tif -i seg -f {tmp}/seg.tif load-tif --file-name "
    "{tmp}/image.tif -o image",
    "inference_and_agglomerate": "load-tif --file-name {tmp}/image.tif -o image inference " + MODEL + " "
    "--patch-size 20 256 256 --patch-overlap 4 64 64 --num-output-channels 3 -f pytorch --batch-size 12 "
    "--mask-output-chunk -i image -o affs save-h5 -i affs --file-name {tmp}/affs_out.h5 agglomerate --threshold 0.7 "
    "--aff-threshold-low 0.001 --aff-threshold-high 0.9999 -i affs -o seg save-tif -i seg -f {tmp}/seg.tif",
    "mesh_manifest": "mesh-manifest --volume-path file://{tmp}/seg --prefix 7",
    "log_summary": "log-summary --log-dir {tmp}/log --output-size 156 1280 1280",
    # --- tests/command_line.sh (named by the tutorial as example usage)
    "sh_generate_tasks": "generate-tasks -c 0 0 0 -s 0 0 0 -g 1 1 1",
    "sh_downsample_image": "create-chunk --dtype uint8 --pattern sin downsample",
    "sh_downsample_segmentation": "create-chunk --dtype uint32 --pattern sin downsample",
    "sh_skip_all_zero": "create-chunk --pattern zero skip-all-zero save-h5 -f {tmp}/",
    "sh_save_h5_folder": "create-chunk save-h5 -f {tmp}/",
    "sh_skip_task": "generate-tasks --roi-start 0 0 0 --chunk-size 64 64 64 skip-task --prefix {tmp}/ --suffix .h5",
    "sh_plugin_args": 'create-chunk plugin -f median_filter -i chunk -o chunk --args "size=(3,1,1);mode=reflect" '
    "save-h5 -f {tmp}/median.h5",
    "sh_evaluate": "create-chunk -o seg create-chunk -o gt evaluate-segmentation -s seg -g gt",
    "sh_log_summary": "log-summary -l {tmp}/log",
    "sh_save_pngs": "create-chunk save-pngs -o {tmp}/pngs",
    "sh_normalize_intensity": "create-chunk normalize-intensity",
    "sh_connected_components": 'create-chunk save-h5 --file-name="{tmp}/img.h5" connected-components --threshold 128 '
    "save-h5 --file-name={tmp}/seg.h5",
    "sh_load_h5": "load-h5 --file-name={tmp}/img.h5",
    "sh_save_tif": 'create-chunk save-tif -f "{tmp}/img.tif"',
    "sh_load_tif": 'load-tif -f "{tmp}/img.tif"',
    "sh_save_tif_uint16": "create-chunk --dtype uint16 --pattern sin save-tif -f {tmp}/seg16.tif",
    "sh_load_tif_uint16": "load-tif -f {tmp}/seg16.tif",
    "sh_create_info": "create-chunk --size 128 128 128 --dtype uint32 --pattern sin create-info --voxel-size 8 8 8 "
    "--block-size 64 64 64 --output-layer-path file://{tmp}/newseg/",
    "sh_save_precomputed_mesh": "create-chunk --size 128 128 128 --dtype uint32 --pattern sin save-precomputed "
    "--volume-path file://{tmp}/newseg mesh --voxel-size 8 8 8 --output-format precomputed --output-path "
    "file://{tmp}/newseg",
    "sh_setup_env_dry_run": '--dry-run --log-level info setup-env -l "file://{tmp}/planned" --volume-start 2002 25616 '
    "12304 --volume-stop 2068 26128 12816 --max-ram-size 14 --input-patch-size 20 128 128 --output-patch-size 16 96 96 "
    "--output-patch-overlap 6 32 32 --channel-num 3 --dtype float32 -m 0 --encoding raw --voxel-size 45 16 16 "
    "--max-mip 5",
    "sh_inference_universal": "--log-level debug create-chunk --size 36 448 448 inference --input-patch-size 20 256 256 "
    '--patch-num 2 2 2 --framework "universal" --convnet-model "{tmp}/universal_identity.py" --batch-size 3',
    "sh_inference_identity": "create-chunk --size 36 448 448 inference --input-patch-size 20 256 256 --patch-num 2 2 2 "
    "--framework identity --batch-size 3",
    "sh_inference_identity_zero": "create-chunk --pattern zero --size 36 448 448 inference --input-patch-size 20 256 256 "
    "--patch-num 2 2 2 --framework identity --batch-size 3",
}

# lines that need an earlier line's output, run first in the same folder (their results are not compared)
RUN_FIRST: dict[str, list[str]] = {
    "precomputed_start_stop": ["hdf_to_precomputed"],
    "sh_save_h5_folder": ["sh_skip_all_zero"],
    "sh_skip_task": ["sh_save_h5_folder"],
    "sh_load_h5": ["sh_connected_components"],
    "sh_load_tif": ["sh_save_tif"],
    "sh_load_tif_uint16": ["sh_save_tif_uint16"],
    "sh_save_precomputed_mesh": ["sh_create_info"],
}

# documented lines that do not run on one machine without a network, credentials or a person
NOT_RUNNABLE: dict[str, str] = {
    "tutorial: create-chunk neuroglancer": "GUI only (serves neuroglancer until interrupted)",
    "tutorial: create-chunk view": "GUI only (serves a viewer until interrupted)",
    "tutorial: load-h5 ... neuroglancer --voxel-size 40 4 4": "GUI only",
    "tutorial: setup-env -l gs://... -q my-sqs-queue-name": "a GCS bucket and an SQS queue",
    "tutorial: generate-tasks ... --queue-name my-queue": "an SQS queue",
    "tutorial: generate-tasks -l gs://... -q my-queue": "an SQS queue",
    "tutorial: --mip 0 fetch-task -q my-queue ... downsample-upload": "an SQS queue",
    "tutorial: --mip 3 fetch-task -q my-queue ... mesh": "an SQS queue",
    "tutorial: --mip 2 fetch-task ... s3:// ... cloud-watch": "an SQS queue, S3 and CloudWatch (and an unclosed quote)",
    "tutorial: --mip 1 fetch-task ... (production, after export ...)": "an SQS queue, GCS and CloudWatch",
    "tutorial: ...... plugin -f my_plugin -i chunk (3 lines)": "placeholders (``......``), not commands",
}

FLOAT_TOLERANCE = 1e-5


def doc_line_inputs(tmp: Path) -> None:
    """Write every input the lines read into ``tmp``."""
    import h5py
    import tifffile

    from chunkflow.datasets import sample_image
    from chunkflow.geometry import BoundingBox

    rng = np.random.default_rng(0)
    with h5py.File(tmp / "sample_A_20160501.hdf", "w") as f:
        f["/volumes/raw"] = rng.integers(0, 255, (8, 64, 64), dtype=np.uint8)
    labels = (np.arange(8 * 64 * 64).reshape(8, 64, 64) // 2000).astype(np.uint32)
    tifffile.imwrite(tmp / "groundtruth.tif", labels)
    tifffile.imwrite(tmp / "segmentation.tif", labels // 2)
    # one 20 x 256 x 256 patch of our synthetic EM (the docs' patch sizes, so one patch per line)
    image = sample_image().cutout(BoundingBox.from_string("200-220_128-384_128-384")).array
    tifffile.imwrite(tmp / "image.tif", np.ascontiguousarray(image))
    cleft = np.zeros(image.shape, np.float32)
    cleft[2:6, 10:30, 10:40] = 0.8
    cleft[10:14, 100:140, 60:70] = 0.3
    cleft[15:18, 200:210, 200:250] = 0.05  # under the documented threshold 0.1
    tifffile.imwrite(tmp / "cleft.tif", cleft)
    seg = labels[:, :32, :32]
    affs = np.zeros((3, *seg.shape), np.float32)  # x, y, z channels as 1.2.0 orders them
    affs[2, 1:] = seg[1:] == seg[:-1]
    affs[1, :, 1:] = seg[:, 1:] == seg[:, :-1]
    affs[0, :, :, 1:] = seg[:, :, 1:] == seg[:, :, :-1]
    with h5py.File(tmp / "affs.h5", "w") as f:
        f["main"] = affs
    shutil.copytree(LOG120, tmp / "log")
    mesh = tmp / "seg"
    shutil.copytree(MESH120, mesh)
    for manifest in (mesh / "mesh_err_40").glob("*:0"):  # keep the fragments, drop 1.2.0's manifests
        manifest.unlink()
    (tmp / "universal_identity.py").write_text(UNIVERSAL_IDENTITY)


# 1.2.0's examples/inference/universal_identity.py (Apache-2.0), used by tests/command_line.sh
UNIVERSAL_IDENTITY = """import platform

import numpy as np


class PatchInferencer:
    def __init__(self, model_weight_file, output_patch_mask):
        self.output_patch_mask = output_patch_mask

    @property
    def compute_device(self):
        return platform.processor()

    def __call__(self, input_patch):
        if np.issubdtype(input_patch.dtype, np.integer):
            # normalize to 0-1 value range
            input_patch /= np.iinfo(input_patch.dtype).max
        output_patch = input_patch.astype(np.float32)

        # mask should be done in patch engine now
        output_patch *= self.output_patch_mask

        return output_patch
"""


def fill(line: str, tmp: Path) -> str:
    from chunkflow.datasets import demo_model

    model = demo_model()
    return line.format(tmp=tmp, model=model["model"], weights=model["weights"])


def snapshot(tmp: Path) -> dict[str, float]:
    return {str(p.relative_to(tmp)): p.stat().st_mtime_ns for p in tmp.rglob("*") if p.is_file()}


def _array_summary(array: np.ndarray) -> dict[str, object]:
    """dtype, shape, a hash of the values (as float64, so a float64 copy of integer data hashes alike)
    and, for float data, a strided sample and the mean (compared to FLOAT_TOLERANCE)."""
    array = np.asarray(array)
    values = np.ascontiguousarray(array, dtype=np.float64)
    summary: dict[str, object] = {
        "dtype": str(array.dtype),
        "shape": list(array.shape),
        "sha256": hashlib.sha256(values.tobytes()).hexdigest(),
    }
    if np.issubdtype(array.dtype, np.floating):
        sample = values[(..., *[slice(None, None, max(1, n // 8)) for n in array.shape[-3:]])]
        summary["sample"] = np.round(sample, 7).ravel().tolist()
        summary["mean"] = float(values.mean()) if array.size else 0.0
    return summary


def read_output(path: Path) -> dict[str, object] | None:
    """A comparable summary of one written file: arrays (ints by hash, floats by a sample and the mean),
    json by its content, anything else by name only (``None``)."""
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf"):
        import h5py

        with h5py.File(path, "r") as f:
            return {"main": _array_summary(f["main"][()])} if "main" in f else {}
    if suffix in (".tif", ".tiff"):
        import tifffile

        return {"array": _array_summary(tifffile.imread(path))}
    if suffix == ".png":
        from PIL import Image

        return {"array": _array_summary(np.asarray(Image.open(path)))}
    if path.name == "info":  # what a reader of the volume sees: type, dtype, channels, the first scale
        info = json.loads(path.read_text())
        if "scales" not in info:  # a mesh or skeleton directory's info
            return {"json": info}
        scale = info["scales"][0]
        keys = ("size", "voxel_offset", "resolution")
        return {
            "json": [info.get("type"), info.get("data_type"), info.get("num_channels"), *(scale.get(k) for k in keys)]
        }
    if path.parent.name.startswith("mesh") and path.name.endswith(":0"):  # a mesh manifest
        return {"json": json.loads(path.read_text())}
    return None


def written_outputs(tmp: Path, before: dict[str, float]) -> dict[str, object]:
    after = snapshot(tmp)
    return {
        name: read_output(tmp / name)
        for name in sorted(after)
        if before.get(name) != after[name] and not name.startswith(("log/", "__pycache__"))
    }


def compare_summaries(ours: object, theirs: object, *, dtype: bool = True) -> None:
    """Assert two summaries (of :func:`read_output`) agree: integer data exactly (by value), float data
    to FLOAT_TOLERANCE; ``dtype=False`` compares values only (1.2.0's ``save-tif`` wrote float64)."""
    if isinstance(theirs, dict) and "shape" in theirs:
        assert isinstance(ours, dict) and ours["shape"] == theirs["shape"], (ours, theirs)
        assert not dtype or ours["dtype"] == theirs["dtype"], (ours["dtype"], theirs["dtype"])
        if "sample" in ours and "sample" in theirs:
            np.testing.assert_allclose(ours["sample"], theirs["sample"], atol=FLOAT_TOLERANCE)
            assert abs(ours["mean"] - theirs["mean"]) <= FLOAT_TOLERANCE
        else:
            assert ours["sha256"] == theirs["sha256"], "values differ"
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), (ours, theirs)
        for key in theirs:
            compare_summaries(ours[key], theirs[key], dtype=dtype)
    else:
        assert ours == theirs, (ours, theirs)


def run_line(run: Callable[[list[str]], tuple[int, str]], name: str, tmp: Path) -> dict[str, object]:
    """Run the line ``name`` (after the lines it needs) in ``tmp`` with ``run`` (argv -> exit status and
    stdout): its exit status, the lines it printed and a summary of every file it wrote."""
    doc_line_inputs(tmp)
    for first in RUN_FIRST.get(name, []):
        run(shlex.split(fill(DOC_LINES[first], tmp)))
    before = snapshot(tmp)
    code, stdout = run(shlex.split(fill(DOC_LINES[name], tmp)))
    lines = [line for line in stdout.splitlines() if not line.startswith("napari not installed")]
    return {"returncode": code, "stdout": lines, "outputs": written_outputs(tmp, before)}
