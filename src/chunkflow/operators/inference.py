"""``inference``: run a ConvNet over a chunk, patch by patch, with blended overlaps."""

from __future__ import annotations

from typing import Any

import click

from chunkflow.operators._options import BoundingBoxType, input_option, name_option, output_option, triple
from chunkflow.pipeline import Stage
from chunkflow.task import Task

#: this module's commands, their --help section and the extra each needs: a literal that
#: chunkflow.operators.registry reads without importing the module
COMMANDS = {"inference": {"section": "transform", "extra": "inference"}}


class BatchSize(click.ParamType):
    name = "INTEGER|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if value == "auto" or (isinstance(value, int) and value >= 1):
            return value
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if number < 1:
            self.fail(f"{value!r} is not a positive integer or 'auto'", param, ctx)
        return number


def _positive_finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A size in MiB: NaN, infinity, 0 or below is a usage error (NaN would pass a FloatRange)."""
    import math

    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"{value} is not a positive finite number of MiB", ctx, param)
    return value


@click.command("inference")
@name_option("inference")
@click.option("--convnet-model", "-m", default=None, help="Model: a .py file, TorchScript/.pt2 file, or .onnx file.")
@click.option("--convnet-weight-path", "-w", default=None, help="Weights for a .py model (state dict).")
@triple("--input-patch-size", "-s", required=True, help="ConvNet input patch size")
@triple("--output-patch-size", "-z", help="Output patch size (default: the input patch size)")
@triple(
    "--output-patch-overlap", "-v", positive=False, help="Overlap of output patches (default: half the output patch)"
)
@triple(
    "--output-crop-margin",
    positive=False,
    help="Crop the result by this margin (default: the overlap; 0 with --mask-output-chunk, "
    "--taper-output-chunk or --global-bbox)",
)
@triple("--patch-num", "-n", help="Number of patches; the overlap then follows from the chunk size")
@click.option(
    "--num-input-channels",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Channels of the input chunk the model takes.",
)
@click.option(
    "--num-output-channels",
    "-c",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Channels the model predicts (3 for affinities).",
)
@click.option(
    "--dtype",
    "-d",
    type=click.Choice(["float32", "float16"]),
    default="float32",
    show_default=True,
    help="Dtype of the output chunk (blending always accumulates in float32; float16 halves the copy back).",
)
@click.option(
    "--framework",
    "-f",
    default="universal",
    show_default=True,
    help="Engine: universal (onnx for .onnx files, else pytorch), identity, pytorch, onnx, or a "
    "third-party engine registered under the chunkflow.engines entry points.",
)
@click.option(
    "--batch-size",
    "-b",
    type=BatchSize(),
    default=1,
    show_default=True,
    help="Patches per model call; 'auto': the fastest that fits on a GPU (1 on the CPU).",
)
@click.option(
    "--bump",
    type=click.Choice(["wu", "zung", "wu-1.2.0", "wu-separable", "gaussian"]),
    default="wu",
    show_default=True,
    help="Blending weight across a patch: wu is chunkflow 1.2.0's (its outputs to 1e-5; zung and wu-1.2.0 "
    "are the same); wu-separable a separable wu bump, gaussian an nnU-Net Gaussian (sigma = patch / 8), "
    "both a little faster on a GPU.",
)
@click.option(
    "--mask-output-chunk/--no-mask-output-chunk",
    default=False,
    help="chunkflow 1.2.0's: normalise by the chunk's own summed patch weights (any chunk size; the "
    "output is the whole chunk).",
)
@click.option(
    "--taper-output-chunk/--no-taper-output-chunk",
    default=False,
    help="Normalise as if the neighbouring chunks' patches were there, so chunks overlapping by the patch "
    "overlap sum to a seamless whole (needs a chunk that fits the patch grid).",
)
@click.option(
    "--global-bbox",
    type=BoundingBoxType(),
    default=None,
    help="The whole region inferred in tiles (e.g. the volume's box): patches on its grid and weights, so "
    "tiles loaded with a margin (-e) and cropped by it equal one inference over the region.",
)
@click.option("--augment/--no-augment", default=False, help="Average over the 8 flips (affinity-aware).")
@click.option(
    "--normalize-input/--no-normalize-input",
    default=True,
    show_default=True,
    help="Divide integer images by their dtype's maximum (uint8: 255) before the model, as chunkflow 1.2.0 does.",
)
@click.option(
    "--nonfinite",
    type=click.Choice(["error", "replace"]),
    default="error",
    show_default=True,
    help="NaN/Inf in the model's output: refuse the chunk, or replace them by 0 and log how many.",
)
@click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option(
    "--precision",
    type=click.Choice(["fp32", "fp16", "bf16"]),
    default="fp32",
    show_default=True,
    help="Model arithmetic (autocast); fp16 needs a GPU. Blending stays float32.",
)
@click.option(
    "--blend-on",
    type=click.Choice(["auto", "device", "host"]),
    default="auto",
    show_default=True,
    help="Where patches are cut and blended: on the model's device (PyTorch models without pre_process) "
    "or on the host; auto: the device where possible.",
)
@click.option(
    "--device-memory-limit",
    type=float,
    callback=_positive_finite,
    default=None,
    metavar="MIB",
    help="MiB of device memory for the chunk's input and output (default: the whole chunk; on CUDA half "
    "the free memory); beyond it finished output rows are flushed as inference moves along z.",
)
@click.option(
    "--via-onnx/--no-via-onnx",
    default=False,
    help="Export the PyTorch model to ONNX at start and run it in ONNX Runtime (about 2x faster on the CPU).",
)
@click.option(
    "--compile/--no-compile", "compile_model", default=False, help="torch.compile the model (pays back on long runs)."
)
@click.option(
    "--channels-last/--no-channels-last", default=False, help="Channels-last-3d activations (faster on recent GPUs)."
)
@click.option(
    "--output-layer-type",
    type=click.Choice(["affinity_map", "probability_map"]),
    default=None,
    help="Default: affinity_map for 3 output channels, else probability_map.",
)
@click.option(
    "--output-buffer-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Memory-map the output buffer in a temporary file here, for outputs larger than RAM.",
)
@input_option()
@output_option()
def inference(
    op_name,
    convnet_model,
    convnet_weight_path,
    input_patch_size,
    output_patch_size,
    output_patch_overlap,
    output_crop_margin,
    patch_num,
    num_input_channels,
    num_output_channels,
    dtype,
    framework,
    batch_size,
    bump,
    mask_output_chunk,
    taper_output_chunk,
    global_bbox,
    augment,
    normalize_input,
    nonfinite,
    device,
    precision,
    blend_on,
    device_memory_limit,
    via_onnx,
    compile_model,
    channels_last,
    output_layer_type,
    output_buffer_dir,
    input_name,
    output_name,
) -> Stage:
    """Run ConvNet inference over a chunk of any size with blended patch overlaps.

    \b
    Example:
      chunkflow create-chunk -s 16 64 64 -d uint8 -o image inference -f identity -s 8 32 32 -v 2 8 8 -c 3 \\
          --output-crop-margin 0 0 0 -i image -o affs save-h5 -i affs -f affs.h5
    """
    from chunkflow.inference import Inferencer, ModelOptions, PatchOptions, RunOptions, make_engine

    engine = make_engine(
        framework,
        convnet_model,
        convnet_weight_path,
        num_output_channels,
        device,
        precision,
        channels_last=channels_last,
        compile=compile_model,
    )
    if via_onnx:
        import tempfile

        from chunkflow.inference.engines import TorchEngine, torch_to_onnx

        if not isinstance(engine, TorchEngine):
            raise click.UsageError("--via-onnx exports PyTorch models; this model is not one")
        with tempfile.TemporaryDirectory(prefix="chunkflow-onnx-") as directory:  # loaded into memory, then removed
            engine = torch_to_onnx(engine, input_patch_size, num_input_channels, directory)
    patches = PatchOptions(
        input_patch_size,
        output_patch_size,
        output_patch_overlap,
        output_crop_margin,
        patch_num,
        bump=bump,
        mask_output_chunk=mask_output_chunk,
        global_bbox=global_bbox,
        taper_output_chunk=taper_output_chunk,
    )
    model = ModelOptions(
        num_input_channels,
        num_output_channels,
        normalize_input=normalize_input,
        augment=augment,
        dtype=dtype,
        output_layer_type=output_layer_type,
        nonfinite=nonfinite,
    )
    run = RunOptions(
        batch_size,
        device_path={"auto": None, "device": True, "host": False}[blend_on],
        device_memory_limit=None if device_memory_limit is None else int(device_memory_limit * 2**20),
        output_buffer_dir=output_buffer_dir,
    )
    inferencer = Inferencer.from_options(engine, patches, model, run)

    def apply(task: Task) -> None:
        task[output_name] = inferencer(task[input_name])

    return Stage(op_name, apply)
