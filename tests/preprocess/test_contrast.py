"""Section contrast normalization (igneous / chunkflow 1.2.0 definitions), volume-wide levels
through tasks (chunked == whole), and CLAHE."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from chunkflow import Chunk
from chunkflow.cli import cli
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox
from chunkflow.preprocess import (
    aggregate_levels,
    clahe,
    clamping_values,
    normalize_contrast,
    read_levels,
    section_histograms,
    write_levels_fragment,
)
from chunkflow.preprocess.contrast import lookup_table


@pytest.fixture(scope="module")
def image() -> Chunk:
    """EM-like sections whose brightness and contrast drift from section to section."""
    from chunkflow.datasets import pinky40_labels
    from chunkflow.datasets.synthetic_em import synthesize_em

    labels = pinky40_labels().array[:16, :64, :96]
    em = synthesize_em(np.ascontiguousarray(labels), seed=0).astype(np.float32)
    gain = np.linspace(0.4, 1.0, 16)[:, None, None]
    offset = np.linspace(60, 10, 16)[:, None, None]
    array = np.clip(em * gain + offset, 0, 255).astype(np.uint8)
    array[:, :4, :4] = 0  # pure black is left out of the histograms
    return Chunk(array, (100, 20, 30), (40, 4, 4), "image")


def igneous_clamping(zlevel, lowerfract, upperfract):
    """igneous ContrastNormalizationTask.find_section_clamping_values, transcribed."""
    filtered = np.copy(zlevel)
    filtered[0] = 0
    cdf = np.zeros(shape=(len(filtered),), dtype=np.uint64)
    cdf[0] = filtered[0]
    for i in range(1, len(filtered)):
        cdf[i] = cdf[i - 1] + filtered[i]
    total = cdf[-1]
    if total == 0:
        return (0, 0)
    lower = 0
    for i, val in enumerate(cdf):
        if float(val) / float(total) > lowerfract:
            break
        lower = i
    upper = 0
    for i, val in enumerate(cdf):
        if float(val) / float(total) > upperfract:
            break
        upper = i
    return (lower, upper)


@pytest.mark.parametrize("seed", range(6))
def test_clamping_values_equal_igneous(seed):
    rng = np.random.default_rng(seed)
    hist = rng.integers(0, 50, size=256).astype(np.uint64) * (rng.random(256) < 0.5)
    for lower, upper in [(0.01, 0.01), (0.0, 0.0), (0.2, 0.3), (1.0, 0.0), (0.5, 0.5)]:
        assert clamping_values(hist, lower, upper) == igneous_clamping(hist, lower, 1 - upper)
    assert clamping_values(np.zeros(256), 0.01, 0.01) == (0, 0)


def test_lookup_table_is_1_2_0s():
    lower, upper = 37, 201
    expected = np.arange(0, 256, dtype=np.float32)
    expected = (expected - float(lower)) * (255 / (float(upper) - float(lower)))
    np.clip(expected, 1, 255, out=expected)
    assert np.array_equal(lookup_table(lower, upper, 1, 255), np.round(expected).astype(np.uint8))
    assert lookup_table(9, 9) is None


def test_sections_are_stretched(image):
    out = normalize_contrast(image)
    assert out.dtype == np.uint8 and out.bbox == image.bbox and out.array is not image.array
    for section in out.array:
        values = section[section > 0]
        assert np.percentile(values, 0.5) <= 3 and np.percentile(values, 99.5) >= 250
    means = [s[s > 0].mean() for s in out.array]
    assert np.ptp(means) < 0.5 * np.ptp([s[s > 0].mean() for s in image.array])  # the drift is gone
    whole = normalize_contrast(image, per_section=False)
    assert not np.array_equal(whole.array, out.array)  # one table for the chunk


def blocks(bbox: BoundingBox, size):
    for z in range(bbox.start[0], bbox.stop[0], size[0]):
        for y in range(bbox.start[1], bbox.stop[1], size[1]):
            for x in range(bbox.start[2], bbox.stop[2], size[2]):
                yield BoundingBox(
                    (z, y, x),
                    (min(z + size[0], bbox.stop[0]), min(y + size[1], bbox.stop[1]), min(x + size[2], bbox.stop[2])),
                )


@pytest.mark.parametrize("size", [(8, 32, 48), (5, 27, 40), (16, 64, 96)])
def test_chunked_through_levels_equals_whole(tmp_path, image, size):
    whole = normalize_contrast(image, 0.02, 0.03)
    for box in blocks(image.bbox, size):
        write_levels_fragment(image.cutout(box), tmp_path)
    assert aggregate_levels(tmp_path) == 16
    z0 = image.voxel_offset[0]
    assert np.array_equal(np.stack(list(read_levels(tmp_path, range(z0, z0 + 16)).values())), section_histograms(image))
    out = np.zeros_like(image.array)
    for box in blocks(image.bbox, size):
        piece = image.cutout(box)
        levels = read_levels(tmp_path, range(box.start[0], box.stop[0]))
        out[box.slices(image.bbox)] = normalize_contrast(piece, 0.02, 0.03, levels=levels).array
    assert np.array_equal(out, whole.array)
    # without the volume's levels, chunks disagree with the whole (the seam this avoids)
    own = np.zeros_like(image.array)
    for box in blocks(image.bbox, size):
        own[box.slices(image.bbox)] = normalize_contrast(image.cutout(box), 0.02, 0.03).array
    assert size == (16, 64, 96) or not np.array_equal(own, whole.array)


def test_cli_volume_through_tasks(tmp_path, image):
    import cloudvolume

    from chunkflow.volumes import open_volume  # noqa: F401  (the precomputed backend)

    runner = CliRunner()
    src, dst, levels = f"file://{tmp_path}/img", f"file://{tmp_path}/norm", str(tmp_path / "levels")
    np.save(tmp_path / "img.npy", image.array)
    for url in (src, dst):
        out = runner.invoke(
            cli,
            [
                "create-info",
                "-v",
                url,
                "-z",
                "16",
                "64",
                "96",
                "-o",
                "100",
                "20",
                "30",
                "-s",
                "40",
                "4",
                "4",
                "-b",
                "8",
                "32",
                "32",
                "-d",
                "uint8",
                "-t",
                "image",
            ],
        )
        assert out.exit_code == 0, out.output
    vol = cloudvolume.CloudVolume(src)
    vol[30:126, 20:84, 100:116] = image.array.T
    chain = ["generate-tasks", "-v", src, "-c", "8", "32", "32", "load-precomputed", "-v", src]
    out = runner.invoke(cli, [*chain, "compute-luminance-levels", "-p", levels])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["aggregate-luminance-levels", "-p", levels])
    assert out.exit_code == 0 and "16 sections" in out.output, out.output
    out = runner.invoke(cli, [*chain, "normalize-contrast", "--levels-path", levels, "save-precomputed", "-v", dst])
    assert out.exit_code == 0, out.output
    result = np.asarray(cloudvolume.CloudVolume(dst)[30:126, 20:84, 100:116])[..., 0].T
    assert np.array_equal(result, normalize_contrast(image).array)


def test_cli_refusals(tmp_path, image):
    runner = CliRunner()
    np.save(tmp_path / "img.npy", image.array)
    base = ["load-npy", "-f", str(tmp_path / "img.npy"), "-o", "img"]
    out = runner.invoke(cli, [*base, "normalize-contrast", "-i", "img", "--levels-path", str(tmp_path / "none")])
    assert out.exit_code != 0 and "luminance levels of section 0" in str(out.exception or out.output)
    out = runner.invoke(cli, [*base, "normalize-contrast", "-i", "img", "-l", "0.7", "-u", "0.6"])
    assert out.exit_code != 0
    with pytest.raises(InvalidParameterError, match="add up to at most 1"):
        normalize_contrast(image, 0.7, 0.6)
    with pytest.raises(IncompatibleChunkError, match="uint8"):
        normalize_contrast(image.with_array(image.array.astype(np.float32)))
    with pytest.raises(VolumeNotFoundError, match="compute-luminance-levels"):
        aggregate_levels(tmp_path / "empty")


def test_clahe(image):
    from skimage.exposure import equalize_adapthist

    flat = image.with_array((image.array // 4 + 100).astype(np.uint8))  # low contrast
    out = clahe(flat, kernel_size=16, clip_limit=0.02)
    assert out.dtype == np.uint8 and out.shape == flat.shape
    assert out.array.std() > 2 * flat.array.std()
    expected = np.round(equalize_adapthist(flat.array[3], kernel_size=16, clip_limit=0.02) * 255).astype(np.uint8)
    assert np.array_equal(out.array[3], expected)
    with pytest.raises(InvalidParameterError, match="clip limit"):
        clahe(flat, clip_limit=0)
    runner = CliRunner()
    out = runner.invoke(
        cli, ["create-chunk", "-s", "4", "64", "64", "--pattern", "sin", "clahe", "--clip-limit", "0.03"]
    )
    assert out.exit_code == 0, out.output
