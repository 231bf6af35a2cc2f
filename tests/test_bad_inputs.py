"""Bad inputs, table-driven: each row is a command line, the exit code it must give, a word its
one-line error must contain, and (checked for every row) no traceback and nothing written.

Rows run in-process through :func:`chunkflow.cli.main` (fast: no interpreter start per row) with
stderr captured; every row has its own empty output directory ``{out}``, which must still be
empty afterwards (no partial output). Inputs (valid and broken files and volumes) are built once
per module under ``{d}``. A row that hangs fails after ``ROW_TIMEOUT_S``.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import string

import numpy as np
import pytest

from chunkflow.cli import main

ROW_TIMEOUT_S = 60

IMG = "load-h5 -f {d}/img.h5 -o img"
SEG = "load-h5 -f {d}/seg.h5 -o seg"
AFF = "load-h5 -f {d}/aff.h5 -o aff"
PROB = "load-h5 -f {d}/prob.h5 -o prob"

# (command, exit code, a word the error contains)
CASES: list[tuple[str, int, str]] = [
    # ---- usage errors: click, exit 2 -------------------------------------------------------------------------
    ("no-such-operator", 2, "no such command"),
    ("create-chunk --size 1 2", 2, "requires 3 arguments"),
    ("create-chunk --size a b c", 2, "is not an integer"),
    ("create-chunk --dtype complex64", 2, "complex64"),
    ("create-chunk --pattern nope", 2, "nope"),
    ("create-chunk --layer-type movie", 2, "movie"),
    ("load-h5", 2, "--file-name"),
    ("save-h5", 2, "--file-name"),
    ("load-precomputed", 2, "--volume-path"),
    ("threshold -t abc", 2, "is not a valid float"),
    ("connected-components -c 7", 2, "7"),
    ("generate-tasks -c 1 1", 2, "requires 3 arguments"),
    ("generate-tasks -s 0 0 0 -r 4 4 4 -c 2 2 2 --max-tasks 0", 2, "max-tasks"),
    ("generate-tasks -s 0 0 0 -r 4 4 4 -c 2 2 2 --max-receive-count 0", 2, "max-receive-count"),
    ("generate-tasks -b 0-4_0-4 -c 2 2 2", 2, "bounding"),
    ("fetch-task", 2, "--queue-name"),
    ("fetch-task -q file://{d}/queue -v 0", 2, "visibility-timeout"),
    ("fetch-task -q file://{d}/queue -r -5", 2, "retry-times"),
    ("fetch-task-from-file -f {d}/nonexistent.txt", 1, "does not exist"),
    ("mesh -i seg -o file://{out}/m -t stl", 2, "stl"),
    ("inference", 1, "convnet-model"),
    ("queue", 2, "requeue-dead"),
    ("queue status", 2, "queue_name"),
    ("view --port 70000 {d}/pre", 2, "70000"),
    ("view --segments 1,a {d}/pre --no-browser", 2, "comma-separated"),
    ("worker", 2, "chain"),
    ("--log-level loud create-chunk", 2, "loud"),
    # ---- missing and unreadable inputs ------------------------------------------------------------------------
    ("load-h5 -f {d}/nonexistent.h5 -o x", 1, "does not exist"),
    ("load-h5 -f {d}/garbage.h5 -o x", 1, "corrupt"),
    ("load-h5 -f {d}/empty.h5 -o x", 1, "corrupt"),
    ("load-h5 -f {d}/img.h5 -d nothere -o x", 1, "dataset-path"),
    ("load-h5 -f {d}/twod.h5 -o x", 1, "expected 3d"),
    ("load-h5 -f {d}/img.h5 -t 0 0 0 -p 100 100 100 -o x", 1, "not inside"),
    ("load-h5 -f {d}/img.h5 -t 0 0 0 -s 0 4 4 -o x", 2, "must be positive"),
    ("load-h5 -f {d}/img.h5 -p 4 4 4 -o x", 1, "--cutout-start"),
    ("load-h5 -f {d}/img.h5 -t 0 0 0 -p 4 4 4 -s 4 4 4 -o x", 1, "not both"),
    ("load-h5 -f {d}/dir/ -o x", 1, "bounding box"),
    ("load-tif -f {d}/nonexistent.tif -o x", 1, "does not exist"),
    ("load-tif -f {d}/garbage.tif -o x", 1, "tiff"),
    ("load-tif -f {d}/empty.tif -o x", 1, "tiff"),
    ("load-npy -f {d}/nonexistent.npy -o x", 1, "does not exist"),
    ("load-npy -f {d}/empty.npy -o x", 1, "npy"),
    ("load-npy -f {d}/garbage.npy -o x", 1, "npy"),
    ("load-npy -f {d}/object.npy -o x", 1, "npy"),
    ("load-npy -f {d}/oned.npy -o x", 1, "expected 3d"),
    ("load-npy -f {d}/fived.npy -o x", 1, "expected 3d"),
    ("load-png -p {d}/nonexistent -o x", 1, "does not exist"),
    ("load-png -p {d}/emptydir -o x", 1, "no <z>.png"),
    ("load-png -p {d}/png_garbage -o x", 1, "png"),
    ("load-png -p {d}/png_mixed -o x", 1, "same size"),
    ("load-png -p {d}/png_gap -o x", 1, "consecutive"),
    ("load-png -p {d}/png_rgb -o x", 1, "single-channel"),
    ("load-precomputed -v file://{d}/nonexistent -o x", 1, "no precomputed volume"),
    ("load-precomputed -v file://{d}/pre_badjson -o x", 1, "info"),
    ("load-precomputed -v file://{d}/pre_emptyinfo -o x", 1, "info"),
    ("load-precomputed -v file://{d}/pre_listinfo -o x", 1, "info"),
    ("load-precomputed -v file://{d}/pre_noscales -o x", 1, "scales"),
    ("load-precomputed -v file://{d}/pre_huge -s 0 0 0 -z 4 4 4 -o x", 1, "size"),
    ("load-precomputed -v file://{d}/pre_object -s 0 0 0 -z 4 4 4 -o x", 1, "object"),
    ("load-precomputed -v file://{d}/pre_negsize -s 0 0 0 -z 4 4 4 -o x", 1, "size"),
    ("load-precomputed -v file://{d}/pre_nochunks -s 0 0 0 -z 4 4 4 -o x", 1, "chunk"),
    ("load-precomputed -v file://{d}/pre -m 3 -o x", 1, "mip 3"),
    ("load-precomputed -v file://{d}/pre -s 0 0 0 -z 64 64 64 -o x", 1, "fill-missing"),
    ("load-precomputed -v file://{d}/pre_corrupt -s 0 0 0 -z 16 32 32 -o x", 1, "corrupt"),
    ("load-precomputed -v file://{d}/pre_corrupt -s 0 0 0 -z 8 16 16 -o x", 1, "--fill-missing"),
    ("load-precomputed -v file://{d}/pre_missing -s 0 0 0 -z 16 32 32 -o x", 1, "missing"),
    ("load-precomputed -v file://{d}/pre_garbageblock -s 0 0 0 -z 16 32 32 -o x", 1, "corrupt"),
    ("load-precomputed -v gs://chunkflow-no-such-bucket-xyz/vol -o x", 1, "gs://"),
    ("load-precomputed -v http://127.0.0.1:9/vol -o x", 1, "127.0.0.1"),
    ("load-precomputed -v 'http://127.0.0.1:9/vol?token=hunter2' -o x", 1, "token=***"),
    ("load-precomputed -v http://me:hunter2@127.0.0.1:9/vol -o x", 1, "me:***@"),
    ("load-precomputed -v redis://x/y -o x", 1, "format"),
    ("load-zarr -f {d}/nonexistent.zarr -o x", 1, "no zarr"),
    ("load-zarr -f {d}/notzarr.zarr -o x", 1, "zarr"),
    ("load-zarr -f {d}/z.zarr -m 2 -o x", 1, "ome"),
    ("load-zarr -f {d}/z.zarr -s 0 0 0 -z 99 99 99 -o x", 1, "not inside"),
    ("load-zarr -f {d}/z_corrupt.zarr -s 0 0 0 -z 8 16 16 -o x", 1, "corrupt"),
    ("load-zarr -f {d}/z_twod.zarr -o x", 1, "expected 3d"),
    ("load-npy -f {d}/img.txt -o x", 1, "format"),
    ("load-h5 -f {d}/img.h5 -v 0 0 -o x", 2, "not a valid integer"),
    # ---- chunk names and chain order -------------------------------------------------------------------------
    ("create-chunk -o a save-h5 -i b -f {out}/x.h5", 1, "no chunk named 'b'"),
    ("create-chunk threshold -i nope", 1, "no chunk named"),
    ("create-chunk generate-tasks -s 0 0 0 -r 4 4 4 -c 2 2 2", 2, "must come first"),
    ("create-chunk fetch-task -q file://{d}/queue", 2, "must come first"),
    ("generate-tasks -s 0 0 0 -r 4 4 4 -c 2 2 2 -q file://{d}/q2 create-chunk", 2, "would never run"),
    ("create-chunk -o a copy-var -f nope -t b", 1, "no chunk named"),
    ("create-chunk -o a delete-var -v nope", 1, "nope"),
    # ---- dtypes and shapes that formats or operators cannot take -----------------------------------------------
    (AFF + " save-pngs -i aff -o {out}/pngs", 1, "png"),
    ("create-chunk -d float32 -o c save-pngs -i c -o {out}/pngs", 1, "float32"),
    ("create-chunk -d uint64 -o c save-pngs -i c -o {out}/pngs", 1, "uint64"),
    (IMG + " save-precomputed -i img -v file://{d}/pre_u16", 1, "dtype"),
    (IMG + " save-precomputed -i img -v file://{d}/pre_badjson", 1, "info"),
    ("create-chunk -s 8 16 16 -t 1 0 0 -d uint8 -o c save-precomputed -i c -v file://{d}/pre", 1, "aligned"),
    ("create-chunk -s 8 16 16 -t 100 0 0 -d uint8 -o c save-precomputed -i c -v file://{d}/pre", 1, "does not fit"),
    (AFF + " save-precomputed -i aff -v file://{d}/pre", 1, "channels"),
    (IMG + " save-zarr -i img -s {d}/z.zarr", 1, "dtype"),
    ("create-chunk -s 8 16 16 -t 3 0 0 -d float32 -o c save-zarr -i c -s {d}/z.zarr", 1, "aligned"),
    (IMG + " save-precomputed -i img -v file://{d}/pre_noscales", 1, "scales"),
    ("create-chunk -s 100000 100000 100000 -o c", 1, "memory"),
    ("create-chunk -s 0 4 4 -o c", 2, "0"),
    ("create-chunk -s -1 4 4 -o c", 2, "-1"),
    ("create-chunk -e 0 1 1 -o c", 2, "0"),
    # ---- operator parameters -----------------------------------------------------------------------------------
    (PROB + " threshold -i prob -t nan", 2, "finite"),
    (PROB + " threshold -i prob -t inf", 2, "finite"),
    (PROB + " connected-components -i prob -t nan", 2, "finite"),
    (AFF + " agglomerate -i aff -t nan", 2, "finite"),
    (AFF + " agglomerate -i aff --thresholds 0.5,1.5", 2, "[0, 1]"),
    ("load-h5 -f {d}/nanaff.h5 -o aff agglomerate -i aff", 1, "nan"),
    ("load-h5 -f {d}/infaff.h5 -o aff agglomerate -i aff", 1, "inf"),
    (IMG + " agglomerate -i img", 1, "affinit"),
    (SEG + " agglomerate -i seg", 1, "affinit"),
    (AFF + " agglomerate -i aff --thresholds 0.5,x", 2, "not numbers"),
    (AFF + " agglomerate -i aff --thresholds 0.3,0.5", 1, "groundtruth"),
    (AFF + " agglomerate -i aff -f nosuchscore", 1, "nosuchscore"),
    (PROB + " connected-components -i prob -t -inf", 2, "finite"),
    (SEG + " mask-out-objects -i seg -s 1,x", 2, "comma-separated"),
    (SEG + " mask-out-objects -i seg -d -5", 2, "-5"),
    (IMG + " crop-margin -i img -m 100 100 100", 1, "margin"),
    (IMG + " crop-margin -i img -m -1 0 0", 2, "-1"),
    (IMG + " crop-margin -i img", 1, "bounding box"),
    (IMG + " normalize-intensity -i img -o n save-h5 -i nope -f {out}/x.h5", 1, "no chunk named"),
    (AFF + " normalize-intensity -i aff", 1, ""),
    (IMG + " mesh -i img -o file://{out}/m", 1, "segmentation"),
    (AFF + " mesh -i aff -o file://{out}/m", 1, "integer labels"),
    (SEG + " mesh -i seg -o file://{out}/m -s 1,x", 2, "comma-separated"),
    (SEG + " mesh -i seg -o file://{out}/m --shard", 1, "no precomputed volume"),
    (SEG + " mesh -i seg -o gs://bucket/m", 1, "no usable credentials"),  # meshes go to buckets: one line
    (SEG + " mesh -i seg -o s3://bucket/m -t obj", 1, "storage error on s3://bucket/m"),
    (SEG + " skeletonize -i seg -v redis://bucket/seg", 1, "redis:// is not supported"),
    (SEG + " evaluate-segmentation -s seg -g nope", 1, "no chunk named"),
    (SEG + " load-h5 -f {d}/seg_small.h5 -o gt evaluate-segmentation -s seg -g gt", 1, "same box"),
    (IMG + " inference -i img -o o -s 4 8 8 -m {d}/nonexistent.py -f pytorch", 1, "does not exist"),
    (IMG + " inference -i img -o o -s 4 8 8 -m {d}/garbage.h5 -f pytorch", 1, "model"),
    (IMG + " inference -i img -o o -s 4 8 8 -m {d}/syntax_error.py -f pytorch", 1, "model"),
    (IMG + " inference -i img -o o -s 0 8 8 -f identity", 2, "0"),
    (IMG + " inference -i img -o o -s 4 8 8 -v 4 8 8 -f identity", 1, "overlap"),
    (IMG + " inference -i img -o o -s 4 8 8 -z 8 16 16 -f identity", 1, "output patch"),
    (IMG + " inference -i img -o o -s 4 8 8 -f onnx -m {d}/garbage.h5", 1, "onnx"),
    (IMG + " inference -i img -o o -s 4 8 8 -f identity -b 0", 2, "0"),
    ("load-h5 -f {d}/nanimg.h5 -o img inference -i img -o o -s 4 8 8 -f identity", 1, "nan"),
    (IMG + " plugin -f {d}/nonexistent_plugin.py -i img", 1, "plugin"),
    (IMG + " plugin -f {d}/syntax_error.py -i img", 1, "syntax"),
    (IMG + " plugin -f {d}/no_execute.py -i img", 1, "execute"),
    (IMG + " plugin -f {d}/returns_string.py -i img -o out", 1, "str"),
    (IMG + " plugin -f {d}/returns_bad_shape.py -i img -o out", 1, "expected"),
    (IMG + " plugin -f {d}/raises.py -i img", 1, "boom"),
    (IMG + " plugin -f {d}/returns_string.py -i img -o out -a 'x=('", 1, "unexpected keyword"),
    (IMG + " downsample-upload -i img -v file://{d}/nonexistent -p 2", 1, "no precomputed volume"),
    ("create-chunk -s 8 16 16 -t 0 3 0 -d uint8 -o c downsample-upload -i c -v file://{out}/ds -p 2", 1, ""),
    (IMG + " mask -i img -v file://{d}/nonexistent", 1, "no precomputed volume"),
    ("create-chunk -o c neuroglancer -i nope", 1, "no chunk named"),
    # ---- task planning ---------------------------------------------------------------------------------------
    ("generate-tasks -b 0-100000000_0-100000000_0-100000000 -c 1 1 1", 1, "max-tasks"),
    (
        "generate-tasks -b 0-100000000_0-100000000_0-100000000 -c 1 1 1 -q file://{out}/q",
        1,
        "1,000,000,000,000,000,000,000",
    ),
    ("generate-tasks -s 0 0 0 -r 100 100 100 -c 1 1 1 --max-tasks 10 -f {out}/tasks.txt", 1, "1,000,000"),
    ("generate-tasks -s 0 0 0 -r 4 4 4 -c 0 2 2", 2, "0"),
    ("generate-tasks -s 0 0 0 -c 2 2 2", 1, "--roi-stop"),
    ("generate-tasks -c 2 2 2", 1, "--roi-start"),
    ("generate-tasks -s 0 0 0 -r 4 4 4", 1, "--chunk-size"),
    ("generate-tasks -s 4 4 4 -r 0 0 0 -c 2 2 2", 1, "4"),
    ("generate-tasks -s 0 0 0 -r 64 64 64 -c 10 64 64 -a 16 32 32", 1, "not a multiple"),
    ("generate-tasks -v file://{d}/pre -b 100-200_0-10_0-10 -c 8 16 16", 1, "outside the volume"),
    ("generate-tasks -v file://{d}/nonexistent -c 8 16 16", 1, "no precomputed volume"),
    ("generate-tasks -s 0 0 0 -r 4 4 4 -c 2 2 2 -q redis://x", 1, "unknown scheme"),
    ("generate-tasks -s 0 0 0 -r 4 4 4 -c 2 2 2 -q file:///proc/nope/q", 1, "file queue"),
    ("generate-tasks -s 0 0 0 -r 4 4 4 -c 2 2 2 -f {d}/img.h5/tasks.txt", 1, ""),
    ("fetch-task-from-file -f {d}/tasks_bad.txt -i 0", 1, "malformed task message"),
    ("fetch-task-from-file -f {d}/tasks.txt -i 99", 1, "outside the 2 tasks"),
    ("fetch-task-from-file -f {d}/binary.txt -i 0", 1, "task"),
    ("fetch-task -q file://{d}/nonexistent_queue -r 0", 1, "no file queue"),
    ("fetch-task -q redis://x -r 0", 1, "unknown scheme"),
    ("fetch-task -q sqs://a/b -r 0", 1, "not an sqs queue name"),
    (
        "generate-tasks -s 0 0 0 -r 4 4 4 -c 2 2 2 skip-task-by-file -p redis://bucket/done/",
        1,
        "redis:// is not supported",
    ),
    ("queue status file://{d}/nonexistent_queue", 1, "no file queue"),
    ("queue purge redis://x", 1, "unknown scheme"),
    ("queue requeue-dead file://{d}/nonexistent_queue", 1, "no file queue"),
    ("view {d}/nonexistent --no-browser", 1, "no precomputed volume"),
    ("view {d}/img.h5 --no-browser", 1, "no precomputed volume"),
    # ---- whole-volume jobs -----------------------------------------------------------------------------------
    ("global-connected-components -v file://{d}/nonexistent -o file://{out}/cc -b 8 16 16", 1, "no precomputed volume"),
    ("global-connected-components -v file://{d}/pre -o file://{out}/cc -b 0 16 16", 2, "0"),
    ("global-connected-components -v file://{d}/pre -o file://{out}/cc -b 8 16 16 -c 5", 2, "5"),
    ("global-connected-components -v file://{d}/pre -o redis://x -b 8 16 16", 1, "format"),
]

# every flag value a type checker rejects, for several operators at once
for op in (
    "load-h5 -f {d}/img.h5 -o x -t",
    "load-precomputed -v file://{d}/pre -o x -s",
    "create-chunk -s",
    "generate-tasks -c",
    "crop-margin -m",
):
    CASES.append((f"{op} 1 x 2", 2, "integer"))
    CASES.append((f"{op} 1.5 2 2", 2, "integer"))


def _png(path, array) -> None:
    from PIL import Image

    Image.fromarray(array).save(path)


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """The inputs the rows read: valid and broken files, volumes, queues, plugins."""
    import torch  # noqa: F401 - imported once here: an alarm must never interrupt a half-done torch import

    from chunkflow import Chunk
    from chunkflow.volumes import create_volume, save_chunk

    root = tmp_path_factory.mktemp("bad_inputs")
    rng = np.random.default_rng(0)
    img = Chunk(rng.integers(0, 255, (16, 32, 32), dtype=np.uint8), (0, 0, 0), (40, 4, 4), "image")
    seg = Chunk(rng.integers(1, 5, (16, 32, 32), dtype=np.uint32), (0, 0, 0), (40, 4, 4), "segmentation")
    aff = Chunk(rng.random((3, 16, 32, 32), dtype=np.float32), (0, 0, 0), (40, 4, 4), "affinity_map")
    prob = Chunk(rng.random((16, 32, 32), dtype=np.float32), (0, 0, 0), (40, 4, 4), "probability_map")
    for name, chunk in (("img", img), ("seg", seg), ("aff", aff), ("prob", prob)):
        save_chunk(str(root / f"{name}.h5"), chunk)
    save_chunk(str(root / "seg_small.h5"), seg.with_array(seg.array[:8]))
    nan = aff.array.copy()
    nan[0, 0, 0, :5] = np.nan
    save_chunk(str(root / "nanaff.h5"), aff.with_array(nan))
    inf = aff.array.copy()
    inf[1, 2, 3, 4] = np.inf
    save_chunk(str(root / "infaff.h5"), aff.with_array(inf))
    nanimg = prob.array.copy()
    nanimg[0, 0, 0] = np.nan
    save_chunk(str(root / "nanimg.h5"), prob.with_array(nanimg))
    import h5py

    with h5py.File(root / "twod.h5", "w") as f:
        f["main"] = np.zeros((4, 4), np.uint8)
    (root / "garbage.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(500))
    (root / "empty.h5").write_bytes(b"")
    (root / "garbage.tif").write_bytes(b"II*\x00" + os.urandom(300))
    (root / "empty.tif").write_bytes(b"")
    (root / "empty.npy").write_bytes(b"")
    (root / "garbage.npy").write_bytes(b"\x93NUMPY" + os.urandom(100))
    np.save(root / "object.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(root / "oned.npy", np.zeros(5, np.uint8))
    np.save(root / "fived.npy", np.zeros((1, 1, 1, 1, 1), np.uint8))
    (root / "img.txt").write_text("hello")
    (root / "dir").mkdir()
    (root / "emptydir").mkdir()
    for name in ("png_garbage", "png_mixed", "png_gap", "png_rgb"):
        (root / name).mkdir()
    _png(root / "png_garbage" / "0.png", np.zeros((8, 8), np.uint8))
    (root / "png_garbage" / "1.png").write_bytes(os.urandom(64))
    _png(root / "png_mixed" / "0.png", np.zeros((8, 8), np.uint8))
    _png(root / "png_mixed" / "1.png", np.zeros((9, 8), np.uint8))
    _png(root / "png_gap" / "0.png", np.zeros((8, 8), np.uint8))
    _png(root / "png_gap" / "2.png", np.zeros((8, 8), np.uint8))
    _png(root / "png_rgb" / "0.png", np.zeros((8, 8, 3), np.uint8))

    # precomputed: a valid one, then broken copies
    pre = create_volume(f"file://{root}/pre", like=img, block_size=(8, 16, 16))
    pre.write(img)
    create_volume(f"file://{root}/pre_u16", like=img.with_array(img.array.astype(np.uint16)), block_size=(8, 16, 16))
    info = json.loads((root / "pre" / "info").read_text())

    def broken(name: str, text: str | None = None, **scale_changes: object) -> None:
        import shutil

        shutil.copytree(root / "pre", root / name)
        if text is None:
            changed = json.loads(json.dumps(info))
            for key, value in scale_changes.items():
                if key == "data_type":
                    changed["data_type"] = value
                elif key == "scales":
                    changed["scales"] = value
                else:
                    changed["scales"][0][key] = value
            text = json.dumps(changed)
        (root / name / "info").write_text(text)

    broken("pre_badjson", "{not json")
    broken("pre_emptyinfo", "")
    broken("pre_listinfo", "[1, 2]")
    broken("pre_noscales", scales=[])
    broken("pre_huge", size=[10**12, 10**12, 10**12])
    broken("pre_object", data_type="object")
    broken("pre_negsize", size=[-4, 4, 4])
    broken("pre_nochunks", chunk_sizes=[])
    import shutil

    for name in ("pre_corrupt", "pre_missing", "pre_garbageblock"):
        shutil.copytree(root / "pre", root / name)
    key = info["scales"][0]["key"]
    blocks = sorted((root / "pre_corrupt" / key).iterdir())
    blocks[0].write_bytes(blocks[0].read_bytes()[: blocks[0].stat().st_size // 2])
    sorted((root / "pre_missing" / key).iterdir())[0].unlink()
    sorted((root / "pre_garbageblock" / key).iterdir())[1].write_bytes(os.urandom(77))

    # zarr
    z = create_volume(f"zarr://{root}/z.zarr", like=prob, block_size=(8, 16, 16))
    z.write(prob)
    shutil.copytree(root / "z.zarr", root / "z_corrupt.zarr")
    chunk_files = sorted(p for p in (root / "z_corrupt.zarr").rglob("*") if p.is_file() and p.name != "zarr.json")
    chunk_files[0].write_bytes(os.urandom(50))
    (root / "notzarr.zarr").mkdir()
    (root / "notzarr.zarr" / "zarr.json").write_text("{broken")
    import zarr

    zarr.create_array(str(root / "z_twod.zarr"), shape=(4, 4), dtype="uint8", chunks=(4, 4))

    # queues and task files
    from chunkflow.queues import open_queue

    open_queue(f"file://{root}/queue")
    (root / "tasks.txt").write_text("0-4_0-4_0-4\n4-8_0-4_0-4\n")
    (root / "tasks_bad.txt").write_text('{"bbox": 5}\n')
    (root / "binary.txt").write_bytes(b"\xff\xfe\x00garbage")

    # plugins
    plugins = {
        "syntax_error.py": "def execute(:\n",
        "no_execute.py": "x = 1\n",
        "returns_string.py": "def execute(chunk, args=None):\n    return 'not a chunk'\n",
        "returns_bad_shape.py": "import numpy as np\ndef execute(chunk, args=None):\n    return np.zeros((2, 2))\n",
        "raises.py": "def execute(chunk, args=None):\n    raise ValueError('boom')\n",
    }
    for name, text in plugins.items():
        (root / name).write_text(text)
    return root


def _ids() -> list[str]:
    allowed = set(string.ascii_letters + string.digits + "-_.")
    return [f"{i:03d}-" + "".join(c if c in allowed else "_" for c in cmd)[:60] for i, (cmd, _, _) in enumerate(CASES)]


class _Hang(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise _Hang()


@pytest.mark.parametrize(("command", "code", "word"), CASES, ids=_ids())
def test_bad_input(d, tmp_path, capsys, command, code, word, monkeypatch):
    out, cwd = tmp_path / "out", tmp_path / "cwd"
    out.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # a relative path written by mistake (gs:/..., x.cc-work) shows up here
    argv = shlex.split(command.format(d=d, out=out))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # no real cloud account is touched by a row
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(d / "nonexistent.json"))
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "0")
    # nor the internet: s3:// and sqs:// rows meet an address that refuses at once, tried once
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    logging.disable(logging.CRITICAL)  # log lines of the chain are not what this table judges
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(ROW_TIMEOUT_S)
    try:
        exit_code = main(argv)
    except _Hang:
        pytest.fail(f"hung for {ROW_TIMEOUT_S} s: chunkflow {command}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        logging.disable(logging.NOTSET)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "hunter2" not in err  # a password in a URL is never printed
    assert exit_code == code, err
    assert word.lower() in err.lower(), err
    if code == 1:
        assert err.count("\n") == 1, err  # one line
    left = [str(p.relative_to(tmp_path)) for p in (*out.rglob("*"), *cwd.rglob("*"))]
    assert not left, f"left behind: {left}"


def test_the_table_is_large_enough():
    assert len(CASES) >= 150
    assert len({c for c, _, _ in CASES}) == len(CASES), "duplicate rows"
