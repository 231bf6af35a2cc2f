"""Integer images reach the model divided by their dtype's maximum, exactly as chunkflow 1.2.0 does.

1.2.0 (``chunkflow/flow/divid_conquer/inferencer.py``, ``Inferencer.__call__``)::

    if np.issubdtype(input_chunk.dtype, np.integer):
        dtype_max = np.iinfo(input_chunk.dtype).max
        input_chunk = input_chunk.astype(self.dtype)   # float32
        input_chunk /= dtype_max
"""

from __future__ import annotations

import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.inference import Inferencer, make_engine

from .conftest import A, B


def as_in_1_2_0(array: np.ndarray) -> np.ndarray:
    out = array.astype(np.float32)
    out /= np.iinfo(array.dtype).max
    return out


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int8, np.int16])
@pytest.mark.parametrize("device_path", [False, True])
def test_integer_input_is_scaled_like_1_2_0(conv_model_files, dtype, device_path):
    engine = make_engine("pytorch", str(conv_model_files / "net.py"), str(conv_model_files / "net.pt"), 3, "cpu")
    info = np.iinfo(dtype)
    array = np.random.default_rng(0).integers(max(info.min, 0), info.max, (8, 24, 24), endpoint=True).astype(dtype)
    kwargs = dict(output_patch_overlap=(2, 8, 8), num_output_channels=3, device_path=device_path, progress=False)
    ours = Inferencer(engine, (4, 16, 16), **kwargs)(Chunk(array))
    reference = Inferencer(engine, (4, 16, 16), **kwargs)(Chunk(as_in_1_2_0(array)))  # float input is not scaled
    np.testing.assert_array_equal(ours.array, reference.array)
    raw = Inferencer(engine, (4, 16, 16), normalize_input=False, **kwargs)(Chunk(array))
    assert np.abs(raw.array - ours.array).max() > 0.05  # the flag really changes what the model sees


def test_pointwise_values_and_flag_off(pointwise_model_files):
    engine = make_engine("onnx", str(pointwise_model_files / "model.onnx"))
    array = np.random.default_rng(1).integers(0, 256, (6, 20, 20)).astype(np.uint8)
    kwargs = dict(num_output_channels=3, output_crop_margin=(0, 0, 0), progress=False)
    scaled = Inferencer(engine, (4, 16, 16), **kwargs)(Chunk(array))
    np.testing.assert_allclose(scaled.array[0], A * as_in_1_2_0(array) + B, rtol=1e-6, atol=1e-6)
    raw = Inferencer(engine, (4, 16, 16), normalize_input=False, **kwargs)(Chunk(array))
    np.testing.assert_allclose(raw.array[0], A * array.astype(np.float32) + B, rtol=1e-6, atol=1e-5)


def test_cli_flag_and_untrained_warning(run_cli, conv_model_files, pointwise_model_files, caplog):
    r = run_cli(
        "create-chunk",
        "-s",
        "4",
        "16",
        "16",
        "-d",
        "uint8",
        "inference",
        "-s",
        "4",
        "16",
        "16",
        "--output-crop-margin",
        "0",
        "0",
        "0",
        "-m",
        str(pointwise_model_files / "model.py"),
        "--no-normalize-input",
    )
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if "untrained" in line]
    assert len(warnings) == 1 and "model.py" in warnings[0] and warnings[0].startswith("WARNING"), r.stderr
    caplog.clear()
    make_engine("pytorch", str(conv_model_files / "net.py"), str(conv_model_files / "net.pt"), 3, "cpu")
    make_engine(
        "pytorch", str(pointwise_model_files / "loader.py"), str(pointwise_model_files / "weights.pt"), 3, "cpu"
    )
    assert "untrained" not in caplog.text  # weights given, or a load_model that loads its own
    make_engine("pytorch", str(conv_model_files / "net.py"), None, 3, "cpu")
    assert caplog.text.count("untrained") == 1
