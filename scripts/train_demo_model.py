"""Train chunkflow's demo 3D U-Net on a synthetic EM image of real neurons (pinky40), on the CPU.

    .venv/bin/python scripts/train_demo_model.py [--minutes 10]

Writes src/chunkflow/datasets/data/demo_model.pt (state dict), demo_model.onnx and the data card
demo_model.json (how it was made, held-out adapted Rand error). Training data: z 0-96 of the shipped
128x256x256 crop; held out for evaluation: z 96-128.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from chunkflow import Chunk
from chunkflow.datasets import pinky40_labels
from chunkflow.datasets.synthetic_em import synthesize_em
from chunkflow.inference import Inferencer, TorchEngine
from chunkflow.segmentation import affinities_from_labels, agglomerate, evaluate_segmentation

DATA = Path(__file__).resolve().parents[1] / "src" / "chunkflow" / "datasets" / "data"
PATCH = (16, 64, 64)
TRAIN_Z = 96


def load_model():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("demo_model", DATA / "demo_model.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.UNet3D()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    labels = pinky40_labels().array
    image = synthesize_em(labels, seed=0)
    target = affinities_from_labels(labels)
    model = load_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    start, step, losses = time.time(), 0, []
    while time.time() - start < args.minutes * 60:
        xs, ys = [], []
        for _ in range(args.batch_size):
            z = rng.integers(0, TRAIN_Z - PATCH[0] + 1)
            y, x = rng.integers(0, labels.shape[1] - PATCH[1] + 1), rng.integers(0, labels.shape[2] - PATCH[2] + 1)
            img = image[z : z + PATCH[0], y : y + PATCH[1], x : x + PATCH[2]]
            aff = target[:, z : z + PATCH[0], y : y + PATCH[1], x : x + PATCH[2]]
            if rng.random() < 0.5:  # flips along y/x; affinities to predecessors stay valid for transposes only
                img, aff = img.transpose(0, 2, 1), aff[[0, 2, 1]].transpose(0, 1, 3, 2)
            xs.append(img[None].astype(np.float32) / 255)  # as inference normalises uint8
            ys.append(aff)
        x_t, y_t = torch.from_numpy(np.stack(xs)), torch.from_numpy(np.ascontiguousarray(np.stack(ys)))
        pred = model(x_t)
        # boundaries are rare: weight the classes equally
        weight = torch.where(y_t < 0.5, (y_t >= 0.5).float().mean() / (y_t < 0.5).float().mean().clamp(min=1e-3), torch.ones_like(y_t))
        loss = torch.nn.functional.binary_cross_entropy(pred, y_t, weight=weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
        step += 1
        if step % 50 == 0:
            print(f"step {step} loss {np.mean(losses[-50:]):.4f} ({time.time() - start:.0f}s)", flush=True)
    model.eval()
    torch.save(model.state_dict(), DATA / "demo_model.pt")
    example = torch.zeros(1, 1, 16, 128, 128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(DATA / "demo_model.onnx"), input_names=["input"], output_names=["output"],
                          dynamic_axes={k: {0: "n", 2: "z", 3: "y", 4: "x"} for k in ("input", "output")}, dynamo=False)  # fmt: skip
    # evaluate on the held-out sections
    held = slice(TRAIN_Z, labels.shape[0])
    engine = TorchEngine(str(DATA / "demo_model.py"), str(DATA / "demo_model.pt"), device="cpu")
    affs = Inferencer(engine, (16, 128, 128), output_patch_overlap=(4, 32, 32), output_crop_margin=(0, 0, 0),
                      num_output_channels=3, progress=False)(Chunk(image[held]))  # fmt: skip
    scores = {}
    for threshold in (0.3, 0.5, 0.7):
        seg = agglomerate(affs, threshold)
        scores[threshold] = evaluate_segmentation(seg, Chunk(labels[held].copy())).to_dict()
    best = min(scores, key=lambda t: scores[t]["adapted_rand_error"])
    card = {
        "model": "anisotropic 3D U-Net (demo_model.py), width 12, 2 poolings (1,2,2), sigmoid affinities (z, y, x)",
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "training_data": "synthetic EM (chunkflow.datasets.synthetic_em, seed 0) of pinky40 labels, crop z 192-288 "
                         "y 128-384 x 128-384 of the 512^3 volume (shipped crop, z 0-96)",
        "held_out": "z 96-128 of the shipped crop (z 288-320 of the volume)",
        "training": {"minutes": args.minutes, "steps": step, "patch": list(PATCH), "batch_size": args.batch_size,
                     "optimizer": "Adam lr 2e-3", "loss": "class-balanced binary cross-entropy",
                     "final_loss": float(np.mean(losses[-50:]))},  # fmt: skip
        "held_out_scores": {str(t): {k: v for k, v in s.items() if not k.startswith("largest")} for t, s in scores.items()},
        "recommended_threshold": best,
        "files": {"demo_model.pt": (DATA / "demo_model.pt").stat().st_size, "demo_model.onnx": (DATA / "demo_model.onnx").stat().st_size},
    }
    (DATA / "demo_model.json").write_text(json.dumps(card, indent=2))
    print(json.dumps(card["held_out_scores"], indent=2))


if __name__ == "__main__":
    main()
