from __future__ import annotations

import h5py
import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.cli import main
from chunkflow.errors import IncompatibleChunkError, ModelError
from chunkflow.inference import Inferencer, make_engine

from .conftest import A, B


def sample(shape=(13, 37, 29), seed=0):
    return Chunk(np.random.default_rng(seed).random(shape, dtype=np.float32), (2, 3, 4))


def run(engine, chunk, **kwargs):
    kwargs.setdefault("output_crop_margin", (0, 0, 0))
    return Inferencer(engine, (5, 16, 16), num_output_channels=3, progress=False, **kwargs)(chunk)


@pytest.mark.parametrize(
    "framework,model,weights",
    [
        ("pytorch", "model.py", "weights.pt"),
        ("pytorch", "model.py", "checkpoint.chkpt"),
        ("pytorch", "loader.py", "weights.pt"),
        ("pytorch", "model.ts", None),
        ("pytorch", "model.pt2", None),
        ("onnx", "model.onnx", None),
        ("universal", "model.onnx", None),
    ],
)
def test_pointwise_model_gives_ax_plus_b_everywhere(pointwise_model_files, framework, model, weights):
    engine = make_engine(
        framework,
        str(pointwise_model_files / model),
        str(pointwise_model_files / weights) if weights else None,
        3,
        "cpu",
    )
    chunk = sample()
    out = run(engine, chunk)
    assert out.bbox == chunk.bbox and out.layer_type == "affinity_map"
    np.testing.assert_allclose(out.array, np.broadcast_to(A * chunk.array + B, out.shape), rtol=1e-5, atol=1e-6)


def test_batch_sizes_agree(pointwise_model_files):
    engine = make_engine("onnx", str(pointwise_model_files / "model.onnx"))
    chunk = sample((11, 40, 40))
    one = run(engine, chunk, batch_size=1, output_patch_overlap=(2, 5, 7))
    five = run(engine, chunk, batch_size=5, output_patch_overlap=(2, 5, 7))
    np.testing.assert_array_equal(one.array, five.array)


def test_torch_and_onnx_agree(pointwise_model_files):
    chunk = sample()
    t = run(make_engine("pytorch", str(pointwise_model_files / "model.ts")), chunk, batch_size=3)
    o = run(make_engine("onnx", str(pointwise_model_files / "model.onnx")), chunk, batch_size=3)
    np.testing.assert_allclose(t.array, o.array, rtol=1e-6, atol=1e-6)


def test_tta_on_flip_equivariant_model_changes_nothing(pointwise_model_files):
    engine = make_engine("pytorch", str(pointwise_model_files / "model.ts"))
    chunk = sample()
    plain = run(engine, chunk, output_layer_type="probability_map")
    augmented = run(engine, chunk, augment=True, output_layer_type="probability_map")
    np.testing.assert_allclose(plain.array, augmented.array, rtol=1e-5, atol=1e-6)


class AffinityEngine:
    """Affinity between a voxel and its predecessor along z, y, x (edge-replicated): flip-equivariant
    only once the affinity channels are shifted back, which is what --augment must do."""

    device = "cpu"

    def predict(self, batch):
        x = batch[:, 0]
        out = np.ones((x.shape[0], 3, *x.shape[1:]), np.float32)
        out[:, 0, 1:] = 1 - np.abs(x[:, 1:] - x[:, :-1])
        out[:, 1, :, 1:] = 1 - np.abs(x[:, :, 1:] - x[:, :, :-1])
        out[:, 2, :, :, 1:] = 1 - np.abs(x[..., 1:] - x[..., :-1])
        return out


def test_tta_shifts_affinities_back():
    chunk = sample()
    plain = run(AffinityEngine(), chunk)
    augmented = run(AffinityEngine(), chunk, augment=True)
    np.testing.assert_allclose(plain.array, augmented.array, rtol=1e-5, atol=1e-6)
    # flipping without the shift would be wrong: check the test can tell
    from chunkflow.inference.augment import AugmentedEngine

    wrong = AugmentedEngine(AffinityEngine(), affinity=False)
    naive = run(wrong, chunk)
    assert np.abs(naive.array - plain.array).max() > 0.05


def test_model_with_wrong_channel_count(pointwise_model_files):
    engine = make_engine("onnx", str(pointwise_model_files / "model.onnx"))
    with pytest.raises(ModelError, match="3 output channel.*--num-output-channels is 2"):
        Inferencer(engine, (5, 16, 16), num_output_channels=2, progress=False)(sample())


@pytest.mark.parametrize(
    "array,message",
    [
        (np.zeros((13, 37, 29), np.uint64), "dtype uint64"),
        (np.full((13, 37, 29), np.nan, np.float32), "NaN"),
        (np.zeros((2, 13, 37, 29), np.float32), "2 channel"),
    ],
)
def test_bad_input_chunks(array, message):
    with pytest.raises(IncompatibleChunkError, match=message):
        run(make_engine("identity", num_output_channels=3), Chunk(array))


def test_missing_model_and_weights(pointwise_model_files, tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        make_engine("pytorch", str(tmp_path / "nope.py"))
    with pytest.raises(ModelError, match="does not exist"):
        make_engine("pytorch", str(pointwise_model_files / "model.py"), str(tmp_path / "nope.pt"))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelError, match="cannot load weights"):
        make_engine("pytorch", str(pointwise_model_files / "model.py"), str(bad))
    with pytest.raises(ModelError, match="cannot load ONNX"):
        make_engine("onnx", str(bad))


def test_cli_inference_chain(pointwise_model_files, tmp_path):
    code = main(
        [
            "create-chunk",
            "-s",
            "12",
            "40",
            "40",
            "-d",
            "float32",
            "-t",
            "0",
            "10",
            "10",
            "inference",
            "-m",
            str(pointwise_model_files / "model.py"),
            "-w",
            str(pointwise_model_files / "weights.pt"),
            "-s",
            "4",
            "16",
            "16",
            "-v",
            "2",
            "8",
            "8",
            "--output-crop-margin",
            "0",
            "0",
            "0",
            "-b",
            "2",
            "-o",
            "affs",
            "save-h5",
            "-i",
            "affs",
            "-f",
            f"{tmp_path}/affs.h5",
            "save-h5",
            "-f",
            f"{tmp_path}/img.h5",
        ]
    )
    assert code == 0
    with h5py.File(tmp_path / "affs.h5") as a, h5py.File(tmp_path / "img.h5") as i:
        np.testing.assert_allclose(
            a["main"][()], np.broadcast_to(A * i["main"][()] + B, a["main"].shape), rtol=1e-5, atol=1e-6
        )
        assert a.attrs["layer_type"] == "affinity_map"


@pytest.mark.parametrize(
    "args,message",
    [
        (["inference", "-f", "pytorch", "-m", "missing.py", "-s", "4", "8", "8"], "does not exist"),
        (
            ["create-chunk", "-s", "4", "8", "8", "inference", "-f", "identity", "-s", "8", "8", "8"],
            "larger than the chunk",
        ),
        (
            [
                "create-chunk",
                "-s",
                "8",
                "8",
                "8",
                "inference",
                "-f",
                "identity",
                "-s",
                "4",
                "4",
                "4",
                "-v",
                "4",
                "1",
                "1",
            ],
            "overlap",
        ),
        (["create-chunk", "-d", "uint64", "inference", "-f", "identity", "-s", "4", "4", "4"], "dtype uint64"),
        (
            ["create-chunk", "inference", "-f", "onnx", "-m", "{models}/model.onnx", "-s", "4", "8", "8", "-c", "2"],
            "output channel",
        ),
    ],
)
def test_cli_bad_input_one_line(run_cli, pointwise_model_files, args, message):
    r = run_cli(*(a.format(models=pointwise_model_files) for a in args))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr


def test_engine_registry_takes_a_third_party_engine(tmp_path, capsys):
    """``--framework NAME`` looks the engine up in one registry; a registered factory is used as is."""
    import h5py

    from chunkflow.cli import main
    from chunkflow.inference.engines import ENGINES, IdentityEngine

    class Doubling(IdentityEngine):
        def predict(self, batch):
            return super().predict(batch) * 2

    ENGINES.register("doubling", lambda num_output_channels=1, **_: Doubling(num_output_channels))
    try:
        assert (
            main(
                [
                    "create-chunk",
                    "-s",
                    "8",
                    "32",
                    "32",
                    "-d",
                    "float32",
                    "-o",
                    "img",
                    "save-h5",
                    "-i",
                    "img",
                    "-f",
                    f"{tmp_path}/in.h5",
                    "inference",
                    "-f",
                    "doubling",
                    "-s",
                    "8",
                    "32",
                    "32",
                    "-c",
                    "1",
                    "--output-crop-margin",
                    "0",
                    "0",
                    "0",
                    "-i",
                    "img",
                    "-o",
                    "out",
                    "save-h5",
                    "-i",
                    "out",
                    "-f",
                    f"{tmp_path}/out.h5",
                ]
            )
            == 0
        )
    finally:
        ENGINES.unregister("doubling")
    with h5py.File(tmp_path / "in.h5") as a, h5py.File(tmp_path / "out.h5") as b:
        np.testing.assert_allclose(b["main"][()].reshape(a["main"].shape), a["main"][()] * 2, rtol=1e-6)
    capsys.readouterr()
    assert main(["create-chunk", "inference", "-f", "nosuch", "-s", "8", "32", "32"]) == 1
    err = capsys.readouterr().err
    assert "framework 'nosuch' is not one of universal, identity, pytorch, onnx" in err and err.count("\n") == 1


def test_default_crop_is_announced_and_one_patch_error_names_the_flag(tmp_path, caplog, capsys):
    import logging

    with caplog.at_level(logging.INFO, logger="chunkflow.inference"):
        assert (
            main(
                [
                    "create-chunk",
                    "-s",
                    "32",
                    "256",
                    "256",
                    "inference",
                    "-f",
                    "identity",
                    "-s",
                    "16",
                    "128",
                    "128",
                    "-c",
                    "3",
                    "save-h5",
                    "-f",
                    f"{tmp_path}/out.h5",
                ]
            )
            == 0
        )
    lines = [r.getMessage() for r in caplog.records if "keeps" in r.getMessage()]
    assert lines == [
        "inference keeps 16x128x128 of the 32x256x256 chunk: the default output crop is the patch overlap "
        "(8, 64, 64) (1.2.0's default); --output-crop-margin 0 0 0 keeps the whole chunk"
    ]
    with h5py.File(tmp_path / "out.h5") as f:
        assert f["main"].shape == (3, 16, 128, 128)
    capsys.readouterr()
    assert (
        main(
            [
                "create-chunk",
                "-s",
                "16",
                "128",
                "128",
                "inference",
                "-f",
                "identity",
                "-s",
                "16",
                "128",
                "128",
                "-c",
                "3",
            ]
        )
        == 1
    )
    assert "--output-crop-margin 0 0 0" in capsys.readouterr().err
