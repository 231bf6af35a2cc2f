"""Inference engines behind one interface: ``predict(batch) -> batch``.

``batch`` is float32 ``(N, C_in, Z, Y, X)``; the result is float32 ``(N, C_out, Z', Y', X')``
where ``Z'..X'`` is the input patch size (same convolutions) or the output patch size (valid
convolutions). Engines load lazily: importing this module imports neither torch nor onnxruntime.
"""

from __future__ import annotations

import importlib.util
import logging
import pickle
import platform
import re
import warnings
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from chunkflow.errors import InvalidParameterError, ModelError
from chunkflow.registry import Registry

__all__ = ["Engine", "IdentityEngine", "TorchEngine", "OnnxEngine", "make_engine", "check_device", "torch_to_onnx"]

log = logging.getLogger(__name__)


class Engine(Protocol):
    device: str

    def predict(self, batch: np.ndarray) -> np.ndarray: ...


class IdentityEngine:
    """Returns the input, its first channel repeated to ``num_output_channels`` (tests, benchmarks)."""

    def __init__(self, num_output_channels: int = 1) -> None:
        self.num_output_channels = num_output_channels
        self.device = f"cpu ({platform.processor() or platform.machine()})"

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if self.num_output_channels == batch.shape[1]:
            return batch
        return np.repeat(batch[:, :1], self.num_output_channels, axis=1)


_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device(device: str) -> str:
    """Refuse a device string that is not ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (one clear line)."""
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise InvalidParameterError(f"device {device!r} is not one of auto, cpu, cuda, cuda:N; pass e.g. --device cpu")
    return device


def _load_source(path: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"chunkflow_model_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:
        raise ModelError(f"model file {path!r} failed to import: {type(exc).__name__}: {exc}") from None
    return module


def _require_file(path: str | None, what: str) -> str:
    if path is None:
        raise ModelError(f"no {what} given; pass --convnet-model (and --convnet-weight-path where the model needs one)")
    if not Path(path).expanduser().is_file():
        raise ModelError(f"{what} {path!r} does not exist; check the path")
    return str(Path(path).expanduser())


class TorchEngine:
    """PyTorch on CPU or CUDA.

    ``model_path`` is either a chunkflow-style Python file (defining ``InstantiatedModel`` or
    ``load_model(weight_path)``, optionally ``pre_process``/``post_process``; weights a state dict
    or ``{"state_dict": ...}``), a TorchScript file, or a ``torch.export`` archive (``.pt2``).

    ``channels_last`` stores activations channels-last-3d (faster convolutions on recent GPUs);
    ``compile`` wraps the model in ``torch.compile`` (pays back on long jobs). On CUDA, cuDNN's
    autotuner is on: patch shapes are fixed, so the fastest algorithm is picked once.
    """

    def __init__(
        self,
        model_path: str | None,
        weight_path: str | None = None,
        device: str = "auto",
        precision: str = "fp32",
        channels_last: bool = False,
        compile: bool = False,
    ) -> None:
        import torch

        self.torch = torch
        device = check_device(device)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise InvalidParameterError(f"device {device!r} asked for but CUDA is not available; use --device cpu")
        if device.startswith("cuda:") and int(device[5:]) >= torch.cuda.device_count():
            raise InvalidParameterError(
                f"device {device!r} asked for but only {torch.cuda.device_count()} CUDA device(s) are visible; "
                "use cuda:0 .. cuda:N-1 (CUDA_VISIBLE_DEVICES renumbers them)"
            )
        self.torch_device = torch.device(device)
        if self.torch_device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.device = torch.cuda.get_device_name(self.torch_device) if device.startswith("cuda") else "cpu"
        self.precision = precision
        if precision == "fp16" and self.torch_device.type == "cpu":
            raise InvalidParameterError("--precision fp16 needs a GPU; use bf16 or fp32 on the CPU")
        self.pre_process = None
        self.post_process = None
        path = _require_file(model_path, "model file")
        self.model = self._load(path, weight_path)
        if not path.endswith(".pt2"):  # an exported program is already in inference form and refuses eval()
            self.model.eval()
            self.model.to(self.torch_device)
        self.channels_last = channels_last
        if channels_last and not path.endswith(".pt2"):
            self.model.to(memory_format=torch.channels_last_3d)
        if compile:
            self.model = torch.compile(self.model)

    def _load(self, path: str, weight_path: str | None) -> Any:
        torch = self.torch
        if path.endswith(".py"):
            source = _load_source(path)
            self.pre_process = getattr(source, "pre_process", None)
            self.post_process = getattr(source, "post_process", None)
            if hasattr(source, "load_model"):
                return source.load_model(weight_path)
            if not hasattr(source, "InstantiatedModel"):
                raise ModelError(f"model file {path!r} defines neither InstantiatedModel nor load_model(weight_path)")
            model = source.InstantiatedModel
            if weight_path is None:
                log.warning(
                    "model %s defines no load_model and no --convnet-weight-path was given: "
                    "it runs with untrained (random) weights",
                    path,
                )
            else:
                weights = _require_file(weight_path, "weight file")
                try:
                    checkpoint = torch.load(weights, map_location=self.torch_device, weights_only=True)
                    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else checkpoint
                    model.load_state_dict(state)
                except (
                    RuntimeError,
                    OSError,
                    KeyError,
                    TypeError,
                    ValueError,
                    pickle.UnpicklingError,
                    EOFError,
                ) as exc:
                    first = str(exc).strip().splitlines()[0]
                    raise ModelError(f"cannot load weights {weights!r} into the model: {first}") from None
            return model
        try:
            if path.endswith(".pt2"):
                return torch.export.load(path).module().to(self.torch_device)
            with warnings.catch_warnings():  # TorchScript is deprecated upstream but still what many labs ship
                warnings.simplefilter("ignore", DeprecationWarning)
                return torch.jit.load(path, map_location=self.torch_device)
        except (RuntimeError, OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"cannot load model {path!r} as TorchScript or torch.export: {first}") from None

    def predict(self, batch: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            if self.pre_process is not None:
                net_input = self.pre_process(batch)
                if isinstance(net_input, np.ndarray):
                    net_input = torch.from_numpy(net_input)
            else:
                net_input = torch.from_numpy(batch)
            output = self.forward(net_input.to(self.torch_device, non_blocking=True))
            return np.asarray(output.cpu().numpy(), dtype=np.float32)

    def suggest_batch_size(self, patch: Any, channels: int) -> int:
        """``--batch-size auto``: on CUDA the batch (1..16) with the most patches per second whose memory
        leaves half the free memory for the chunk; 1 on the CPU, where larger batches do not pay."""
        if self.torch_device.type != "cuda":
            return 1
        import time

        torch, best, best_rate = self.torch, 1, 0.0
        free = torch.cuda.mem_get_info(self.torch_device)[0]
        for n in (1, 2, 4, 8, 16):
            try:
                x = torch.zeros((n, channels, *patch), device=self.torch_device)
                torch.cuda.reset_peak_memory_stats(self.torch_device)
                self.forward(x)  # warm-up: cuDNN autotuning for this shape
                torch.cuda.synchronize(self.torch_device)
                start = time.perf_counter()
                self.forward(x)
                self.forward(x)
                torch.cuda.synchronize(self.torch_device)
                rate = 2 * n / (time.perf_counter() - start)
                peak = torch.cuda.max_memory_allocated(self.torch_device)
            except torch.cuda.OutOfMemoryError:
                break
            if rate > best_rate * 1.05:
                best, best_rate = n, rate
            if peak * 2 > free // 2:  # the next doubling would crowd out the chunk's buffers
                break
        torch.cuda.empty_cache()
        log.info("--batch-size auto: %d (%.1f patches/s)", best, best_rate)
        return best

    def forward(self, net_input: Any) -> Any:
        """The model on a device tensor ``(N, C, Z, Y, X)``; returns a float32 tensor on the same device."""
        torch = self.torch
        with torch.inference_mode():
            if self.channels_last:
                net_input = net_input.contiguous(memory_format=torch.channels_last_3d)
            dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision)
            if dtype is not None:
                with torch.autocast(device_type=self.torch_device.type, dtype=dtype):
                    output = self.model(net_input)
            else:
                output = self.model(net_input)
            if self.post_process is not None:
                output = self.post_process(output)
            if isinstance(output, (tuple, list)):
                output = output[0]
            if isinstance(output, dict):
                output = next(iter(output.values()))
            return output.float()


class OnnxEngine:
    """ONNX Runtime: the CPU-optimised engine; uses the CUDA provider when present."""

    def __init__(self, model_path: str | None, device: str = "auto") -> None:
        import onnxruntime as ort

        check_device(device)
        path = _require_file(model_path, "ONNX model")
        available = ort.get_available_providers()
        want_cuda = device.startswith("cuda") or (device == "auto" and "CUDAExecutionProvider" in available)
        if device.startswith("cuda") and "CUDAExecutionProvider" not in available:
            raise InvalidParameterError(
                f"device {device!r} asked for but onnxruntime has no CUDA provider; use --device cpu"
            )
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if want_cuda else ["CPUExecutionProvider"]
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(path, sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise ModelError(f"cannot load ONNX model {path!r}: {str(exc).splitlines()[0]}") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(
                f"ONNX model {path!r} takes {len(inputs)} inputs, not one image batch; export it with "
                "a forward(x) whose output is computed from x"
            )
        self.input_name = inputs[0].name
        self.device = "cuda" if want_cuda else "cpu"

    def predict(self, batch: np.ndarray) -> np.ndarray:
        try:
            output = self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        except Exception as exc:  # onnxruntime's errors are untyped; a shape mismatch is the usual cause
            detail = " ".join(str(exc).split())[:300]
            raise ModelError(f"ONNX model refused a batch of shape {batch.shape}: {detail}") from None
        return np.asarray(output, dtype=np.float32)


def torch_to_onnx(engine: TorchEngine, patch: Any, channels: int, directory: str) -> OnnxEngine:
    """Export ``engine``'s model (traced on one ``patch``, batch size free) and load it in ONNX Runtime.

    On the CPU ONNX Runtime ran the RSUNet of ``benchmarks/inference_gpu.py`` in half the time of
    PyTorch eager, with outputs equal to 1e-6.
    """
    torch = engine.torch
    if engine.pre_process is not None or engine.post_process is not None:
        raise InvalidParameterError("--via-onnx cannot export a model file's pre_process/post_process; drop the flag")
    path = str(Path(directory) / "model.onnx")
    example = torch.zeros((1, channels, *patch), device=engine.torch_device)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                engine.model,
                (example,),
                path,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": {0: "n"}, "output": {0: "n"}},
                dynamo=False,
            )
    except Exception as exc:  # the exporter raises many types for unsupported operators
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot export the model to ONNX: {first}; drop --via-onnx") from None
    try:
        return OnnxEngine(path, device=str(engine.torch_device))
    except ModelError:  # tracing records what leaves torch (NumPy, .item(), Python lists) as constants
        raise ModelError(
            "the model exported to ONNX does not take the image as its one input: its forward leaves "
            "PyTorch (NumPy, .item()), which tracing freezes into constants; drop --via-onnx"
        ) from None


def make_engine(
    framework: str,
    model_path: str | None = None,
    weight_path: str | None = None,
    num_output_channels: int = 1,
    device: str = "auto",
    precision: str = "fp32",
    channels_last: bool = False,
    compile: bool = False,
) -> Engine:
    """Build an engine by name from :data:`ENGINES` (``universal`` picks onnx or pytorch by the model file).

    A third-party engine is a factory taking these keyword arguments, registered under the
    ``chunkflow.engines`` entry-point group (or ``ENGINES.register(name, factory)``).
    """
    check_device(device)
    if framework == "universal":
        framework = "onnx" if (model_path or "").endswith(".onnx") else "pytorch"
    if framework not in ENGINES:
        raise InvalidParameterError(
            f"framework {framework!r} is not one of universal, {', '.join(ENGINES.names())}; "
            "pick one with --framework (a third-party engine registers under the chunkflow.engines entry points)"
        )
    factory = ENGINES.load(framework)
    return factory(
        model_path=model_path,
        weight_path=weight_path,
        num_output_channels=num_output_channels,
        device=device,
        precision=precision,
        channels_last=channels_last,
        compile=compile,
    )


def _identity(num_output_channels: int = 1, **_: Any) -> Engine:
    return IdentityEngine(num_output_channels)


def _pytorch(
    model_path: str | None = None,
    weight_path: str | None = None,
    device: str = "auto",
    precision: str = "fp32",
    channels_last: bool = False,
    compile: bool = False,
    **_: Any,
) -> Engine:
    return TorchEngine(
        model_path, weight_path, device=device, precision=precision, channels_last=channels_last, compile=compile
    )


def _onnx(model_path: str | None = None, device: str = "auto", precision: str = "fp32", **_: Any) -> Engine:
    if precision != "fp32":
        log.warning("--precision %s is ignored by the onnx engine (export a half-precision model instead)", precision)
    return OnnxEngine(model_path, device=device)


def _check_factory(name: str, obj: Any) -> Any:
    if not callable(obj):
        raise InvalidParameterError(f"inference engine {name!r} is registered as {obj!r}, which is not callable")
    return obj


#: inference engines by ``--framework`` name: factories building an :class:`Engine` (one registry per kind)
ENGINES: Registry[Any] = Registry(
    "inference engine",
    "chunkflow.engines",
    {"identity": _identity, "pytorch": _pytorch, "onnx": _onnx},
    check=_check_factory,
)
