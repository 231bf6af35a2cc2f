from __future__ import annotations

import textwrap
import warnings

import pytest

A, B = 1.5, -0.25  # the pointwise model computes A * x + B on every channel


@pytest.fixture(scope="session")
def torch():
    torch = pytest.importorskip("torch")
    # tiny convolutions on a shared, loaded machine: extra threads only spin against each other
    # (measured 20x slower with 2 threads at load 14); results do not depend on the thread count
    torch.set_num_threads(1)
    return torch


@pytest.fixture(scope="session")
def pointwise_model_files(tmp_path_factory, torch):
    """A 1x1x1 conv (3 output channels: a*x+b) as a chunkflow .py + state dict, TorchScript, export and ONNX."""
    root = tmp_path_factory.mktemp("models")
    source = textwrap.dedent("""
        import torch
        class Pointwise(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = torch.nn.Conv3d(1, 3, 1)
            def forward(self, x):
                return self.conv(x)
        InstantiatedModel = Pointwise()
    """)
    (root / "model.py").write_text(source)
    namespace: dict = {}
    exec(source, namespace)
    model = namespace["InstantiatedModel"]
    with torch.no_grad():
        model.conv.weight.fill_(A)
        model.conv.bias.fill_(B)
    torch.save(model.state_dict(), root / "weights.pt")
    torch.save({"state_dict": model.state_dict()}, root / "checkpoint.chkpt")
    (root / "loader.py").write_text(
        source
        + textwrap.dedent("""
        def load_model(weight_path):
            model = Pointwise()
            model.load_state_dict(torch.load(weight_path, weights_only=True))
            return model
    """)
    )
    example = torch.zeros(1, 1, 4, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.trace(model, example).save(str(root / "model.ts"))
    auto = torch.export.Dim.AUTO
    exported = torch.export.export(model, (example,), dynamic_shapes=({0: auto, 2: auto, 3: auto, 4: auto},))
    torch.export.save(exported, root / "model.pt2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(root / "model.onnx"),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={k: {0: "n", 2: "z", 3: "y", 4: "x"} for k in ("input", "output")},
            dynamo=False,
        )
    return root


CONV_SOURCE = textwrap.dedent("""
    import torch
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.a = torch.nn.Conv3d(1, 4, 3, padding=1)
            self.b = torch.nn.Conv3d(4, 3, 3, padding=1)
        def forward(self, x):
            return torch.sigmoid(self.b(torch.relu(self.a(x * 4 - 2))))
    InstantiatedModel = Net()
""")


@pytest.fixture(scope="session")
def conv_model_files(tmp_path_factory, torch):
    """A small nonlinear 3D conv net (receptive field 5): its output depends on where a patch sits."""
    root = tmp_path_factory.mktemp("conv")
    (root / "net.py").write_text(CONV_SOURCE)
    namespace: dict = {}
    exec(CONV_SOURCE, namespace)
    torch.save(namespace["InstantiatedModel"].state_dict(), root / "net.pt")
    return root


@pytest.fixture(scope="session")
def sample():
    """The synthetic-EM sample (= demo-output/image), made once: synthesising it takes seconds."""
    from chunkflow.datasets import sample_image

    return sample_image()
