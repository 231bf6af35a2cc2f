"""Sample data shipped with chunkflow, usable without network access.

``pinky40_labels()`` is a 128x256x256 crop (z 192-320, y 128-384, x 128-384 of the 512^3 volume)
of a dense segmentation of real mouse visual cortex neurons (MICrONS pinky40), the volume that
ships in the ``fill-voids`` 2.1.2 source distribution. ``load_pinky40_512`` reads the whole
512^3 volume from a checkout's ``../shared/data`` (benchmarks), where it is available.
``sample_image()`` is an EM-like image synthesised from the crop (``synthetic_em``), and
``demo_model()`` the paths of the small 3D U-Net trained on it by ``scripts/train_demo_model.py``
(data card: ``demo_model()["card"]``, also in the README).
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import VolumeNotFoundError

__all__ = ["pinky40_labels", "sample_image", "demo_model", "load_pinky40_512", "PINKY40_VOXEL_SIZE"]

#: the file does not record a voxel size; pinky40 was imaged at about 4 x 4 x 40 nm (x, y, z)
PINKY40_VOXEL_SIZE = (40, 4, 4)
_CROP_OFFSET = (192, 128, 128)


@lru_cache(maxsize=1)
def _crop() -> np.ndarray:
    import crackle

    data = resources.files(__package__).joinpath("data/pinky40_crop_128x256x256.ckl.gz").read_bytes()
    labels = np.ascontiguousarray(crackle.decompress(gzip.decompress(data)))
    labels.setflags(write=False)
    return labels


def pinky40_labels() -> Chunk:
    """Real neuron labels, (128, 256, 256) uint32, ZYX, placed at their offset in the 512^3 volume."""
    return Chunk(_crop().copy(), _CROP_OFFSET, PINKY40_VOXEL_SIZE, "segmentation")


@lru_cache(maxsize=2)
def _synthetic_em(seed: int) -> np.ndarray:
    from chunkflow.datasets.synthetic_em import synthesize_em

    image = synthesize_em(_crop(), seed=seed)
    image.setflags(write=False)
    return image


def sample_image(seed: int = 0) -> Chunk:
    """Synthetic EM of :func:`pinky40_labels` (uint8, same box), the demo model's input.

    Synthesised once per process and seed (seconds), then copied (8 MiB) for each caller."""
    return Chunk(_synthetic_em(seed).copy(), _CROP_OFFSET, PINKY40_VOXEL_SIZE, "image")


def demo_model() -> dict[str, Path]:
    """Paths of the shipped demo model: ``model`` (.py), ``weights`` (.pt state dict), ``onnx``,
    ``card`` (JSON data card). Input patch (16, 128, 128) or any Z, Y and X divisible by 4."""
    data = Path(str(resources.files(__package__).joinpath("data")))
    return {
        "model": data / "demo_model.py",
        "weights": data / "demo_model.pt",
        "onnx": data / "demo_model.onnx",
        "card": data / "demo_model.json",
    }


def load_pinky40_512(path: str | Path | None = None) -> Chunk:
    """The whole 512^3 segmentation (ZYX, C order) from ``../shared/data`` or ``path``."""
    import crackle

    candidates = (
        [Path(path)]
        if path
        else [
            Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "pinky40_seg_512.npy.ckl.gz",
            Path.cwd() / ".." / "shared" / "data" / "pinky40_seg_512.npy.ckl.gz",
        ]
    )
    for candidate in candidates:
        if candidate.exists():
            labels = crackle.decompress(gzip.open(candidate).read())  # X, Y, Z in Fortran order
            return Chunk(np.ascontiguousarray(labels.T), (0, 0, 0), PINKY40_VOXEL_SIZE, "segmentation")
    raise VolumeNotFoundError(f"pinky40_seg_512.npy.ckl.gz not found (looked in {', '.join(map(str, candidates))})")
