"""The device-side path (chunk, patches and blending on the model's device) equals the host path.

Run here with device="cpu": the same code, the same arithmetic in the same order, so the two
paths must agree bit for bit, including when a small device-memory cap makes the input and output
windows slide along z.
"""

from __future__ import annotations

import numpy as np
import pytest

from chunkflow import Chunk
from chunkflow.errors import InvalidParameterError, ModelError
from chunkflow.inference import Inferencer, make_engine
from chunkflow.inference.device import DeviceRun


@pytest.fixture(scope="module")
def engine(conv_model_files):
    return make_engine("pytorch", str(conv_model_files / "net.py"), str(conv_model_files / "net.pt"), 3, "cpu")


def image(shape=(12, 40, 36), dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 256, shape).astype(dtype) if dtype == np.uint8 else rng.random(shape, dtype=dtype)
    return Chunk(array, (5, 10, 20))


def both(engine, chunk, **kwargs):
    kwargs = {"output_patch_overlap": (2, 8, 8), "num_output_channels": 3, "progress": False, **kwargs}
    host = Inferencer(engine, (4, 16, 16), device_path=False, **kwargs)(chunk)
    device = Inferencer(engine, (4, 16, 16), device_path=True, **kwargs)(chunk)
    assert host.bbox == device.bbox and host.dtype == device.dtype
    return host, device


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(batch_size=2),
        dict(batch_size=3, output_crop_margin=(0, 0, 0), dtype="float16"),
        dict(batch_size=1, output_patch_size=(2, 12, 10), output_patch_overlap=(1, 4, 3)),  # valid-convolution crop
        dict(batch_size=4, device_memory_limit=40_000),  # windows slide along z
        dict(batch_size=2, device_memory_limit=100_000, output_crop_margin=(0, 0, 0), dtype="float16"),
        dict(batch_size=2, bump="wu-separable"),  # weights from separable 1D pieces
        dict(batch_size=2, mask_output_chunk=True, device_memory_limit=100_000),  # 1.2.0's chunk-normalised masks
    ],
)
def test_device_path_equals_host_path_bit_for_bit(engine, kwargs):
    host, device = both(engine, image(), **kwargs)
    assert host.array.astype(np.float32).std() > 0.01  # a real, varying prediction
    np.testing.assert_array_equal(host.array, device.array)


def test_float_input_and_memmap_output(engine, tmp_path):
    host, device = both(engine, image(dtype=np.float32), batch_size=2, output_buffer_dir=str(tmp_path))
    np.testing.assert_array_equal(host.array, device.array)


def test_small_cap_really_slides_windows(engine):
    chunk = image()
    inferencer = Inferencer(
        engine, (4, 16, 16), output_patch_overlap=(2, 8, 8), num_output_channels=3, batch_size=4, progress=False
    )
    plan = inferencer.plan(chunk)
    output = np.zeros((3, *plan.output_shape), np.float32)
    run = DeviceRun(engine, chunk.array[None], plan, 4, 255, output, lambda slab, rows: None, memory_limit=40_000)
    assert run.in_height < chunk.shape[0] and run.out_height < output.shape[1]
    run.run()
    np.testing.assert_array_equal(output, inferencer(chunk).array)


def test_cap_below_one_batch_is_refused(engine):
    with pytest.raises(InvalidParameterError, match="below the .* MiB one batch needs"):
        Inferencer(
            engine,
            (4, 16, 16),
            num_output_channels=3,
            batch_size=2,
            device_path=True,
            device_memory_limit=1000,
            progress=False,
        )(image())


NAN_SOURCE = """
import torch
class Net(torch.nn.Module):
    def forward(self, x):
        y = x.repeat(1, 3, 1, 1, 1)
        return torch.where(x.repeat(1, 3, 1, 1, 1) > 0.99, torch.full_like(y, float("nan")), y)
InstantiatedModel = Net()
def load_model(weight_path):
    return InstantiatedModel
"""


@pytest.mark.parametrize("device_path", [False, True])
def test_nonfinite_output_is_an_error_naming_the_chunk_or_replaced_and_counted(tmp_path, caplog, device_path):
    (tmp_path / "nan.py").write_text(NAN_SOURCE)
    engine = make_engine("pytorch", str(tmp_path / "nan.py"), device="cpu")
    chunk = Chunk(np.full((8, 32, 32), 100, np.uint8), (1, 2, 3))
    chunk.array[4, 10, 10] = 255  # one voxel the model turns into NaN
    kwargs = dict(num_output_channels=3, output_crop_margin=(0, 0, 0), device_path=device_path, progress=False)
    with pytest.raises(
        ModelError, match=r"NaN/Inf output value\(s\) in the chunk at 1-9_2-34_3-35.*--nonfinite replace"
    ):
        Inferencer(engine, (4, 16, 16), **kwargs)(chunk)
    out = Inferencer(engine, (4, 16, 16), nonfinite="replace", **kwargs)(chunk)
    assert np.isfinite(out.array).all() and (out.array[:, 4, 10, 10] == 0).all()
    np.testing.assert_allclose(out.array[:, 0], 100 / 255, rtol=1e-6)
    assert "replaced 3 NaN/Inf output value(s) by 0 in the chunk at 1-9_2-34_3-35" in caplog.text


def test_bad_device_is_one_line(run_cli, conv_model_files):
    r = run_cli(
        "create-chunk",
        "inference",
        "-m",
        str(conv_model_files / "net.py"),
        "-w",
        str(conv_model_files / "net.pt"),
        "-s",
        "4",
        "8",
        "8",
        "--device",
        "potato",
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert (
        r.stderr.strip()
        == "chunkflow: error: device 'potato' is not one of auto, cpu, cuda, cuda:N; pass e.g. --device cpu"
    )


def test_unavailable_cuda_device_refused(conv_model_files, torch):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(InvalidParameterError, match="'cuda:7' asked for but CUDA is not available"):
        make_engine("pytorch", str(conv_model_files / "net.py"), str(conv_model_files / "net.pt"), 3, "cuda:7")


def test_batch_size_auto_is_one_on_the_cpu(engine):
    assert Inferencer(engine, (4, 16, 16), batch_size="auto", progress=False).batch_size == 1


def test_via_onnx_equals_torch(engine, tmp_path):
    from chunkflow.inference.engines import OnnxEngine, torch_to_onnx

    onnx = torch_to_onnx(engine, (4, 16, 16), 1, str(tmp_path))
    assert isinstance(onnx, OnnxEngine)
    kwargs = dict(output_patch_overlap=(2, 8, 8), num_output_channels=3, batch_size=3, progress=False)
    chunk = image()
    np.testing.assert_allclose(
        Inferencer(onnx, (4, 16, 16), **kwargs)(chunk).array,
        Inferencer(engine, (4, 16, 16), **kwargs)(chunk).array,
        rtol=1e-5,
        atol=1e-6,
    )
