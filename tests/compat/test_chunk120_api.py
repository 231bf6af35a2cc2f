"""chunkflow 1.2.0 user code on our Chunk, written the way 1.2.0's tests/chunk/test_chunk.py is."""

import numpy as np
import pytest

from chunkflow.chunk import Chunk
from chunkflow.chunk.affinity_map import AffinityMap
from chunkflow.chunk.image import Image
from chunkflow.chunk.probability_map import ProbabilityMap
from chunkflow.chunk.segmentation import Segmentation
from chunkflow.errors import IncompatibleChunkError
from chunkflow.lib.cartesian_coordinate import BoundingBox, Cartesian


def create_chunk(size=(7, 8, 9), voxel_offset=(-2, -3, -4), dtype=np.float32, voxel_size=(1, 1, 1)):
    rng = np.random.default_rng(1)
    if np.issubdtype(dtype, np.floating):
        arr = rng.random(size).astype(dtype)
    else:
        arr = (rng.random(size) * np.iinfo(dtype).max).astype(dtype)
    return Chunk(arr, voxel_offset=voxel_offset, voxel_size=voxel_size)


def test_arithmetic_keeps_placement():
    img = create_chunk(dtype=np.uint8, voxel_size=(40, 4, 4))
    inv = 255 - img
    assert isinstance(inv, Chunk)
    assert inv.voxel_offset == (-2, -3, -4) and inv.voxel_size == (40, 4, 4)
    np.testing.assert_array_equal(inv.array, 255 - img.array)
    scaled = img.astype(np.float32) / 255.0
    assert isinstance(scaled, Chunk) and scaled.dtype == np.float32 and scaled.voxel_offset == img.voxel_offset
    np.testing.assert_allclose(np.asarray(scaled), img.array / 255.0, rtol=1e-6)
    assert isinstance(np.sin(scaled), Chunk)
    assert np.asarray(img) is img.array


def test_in_place_operators_return_the_same_chunk():
    chunk = create_chunk()
    before = chunk.array.copy()
    same = chunk
    chunk /= 127.5
    chunk -= 1
    assert chunk is same
    np.testing.assert_allclose(chunk.array, before / 127.5 - 1, rtol=1e-6)


def test_clone_is_a_deep_copy():
    chunk = create_chunk()
    copy = chunk.clone()
    copy.array[0, 0, 0] = 42
    assert chunk.array[0, 0, 0] != 42 and copy.voxel_offset == chunk.voxel_offset


def test_max_min_and_array_methods():
    chunk = create_chunk()
    assert chunk.max() == chunk.array.max() and chunk.min() == chunk.array.min()
    assert chunk.sum() == pytest.approx(chunk.array.sum())


def test_transpose_reverses_offset_and_size():
    chunk = create_chunk(voxel_size=(40, 4, 2))
    t = chunk.transpose()
    assert t.shape == chunk.shape[::-1]
    assert t.voxel_offset == (-4, -3, -2) and t.voxel_size == (2, 4, 40)
    assert chunk.transpose(only_array=True).voxel_offset == (-2, -3, -4)


def test_indexing_returns_placed_chunks_and_arrays():
    chunk = create_chunk(size=(3, 7, 8, 9), voxel_offset=(-2, -3, -4))
    part = chunk[:, 1:3, 2:, :5]
    assert isinstance(part, Chunk) and part.voxel_offset == (-1, -1, -4) and part.shape == (3, 2, 6, 5)
    one = chunk[0]
    assert isinstance(one, Chunk) and one.shape == (7, 8, 9) and one.voxel_offset == (-2, -3, -4)
    section = chunk[0, 3]
    assert isinstance(section, np.ndarray) and section.shape == (8, 9)
    chunk[:, :, :, :] = 0
    np.testing.assert_array_equal(chunk, 0)


def test_properties_round_trip():
    seg = create_chunk(dtype=np.uint32, voxel_size=(40, 4, 4))
    props = seg.properties
    assert props == {"voxel_offset": (-2, -3, -4), "voxel_size": (40, 4, 4), "layer_type": "segmentation"}
    other = Chunk(np.zeros((7, 8, 9), np.uint64))
    other.set_properties(props)
    assert other.voxel_offset == (-2, -3, -4) and other.voxel_size == (40, 4, 4)
    other.properties = {"voxel_offset": (1, 2, 3)}
    assert other.bbox.string == "1-8_2-10_3-12"


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.zeros((2, 3, 4), np.uint8), "image"),
        (np.zeros((2, 3, 4), np.uint32), "segmentation"),
        (np.zeros((2, 3, 4), bool), "segmentation"),
        (np.full((2, 3, 4), 0.5, np.float32), "probability_map"),
        (np.full((3, 2, 3, 4), 0.5, np.float32), "affinity_map"),
        (np.full((2, 3, 4), 7.0, np.float32), "unknown"),
        (np.zeros((2, 2, 3, 4), np.uint8), "unknown"),
    ],
)
def test_layer_type_inferred_from_dtype_and_channels(array, expected):
    chunk = Chunk(array)
    assert chunk.layer_type == expected
    assert getattr(chunk, f"is_{expected}", True) is True


def test_declared_layer_type_wins_and_unknown_falls_back_to_dtype():
    assert Chunk(np.zeros((2, 3, 4), np.float32), layer_type="image").is_image
    unknown = Chunk(np.zeros((2, 3, 4), np.uint8), layer_type="unknown")
    assert unknown.is_image and not unknown.is_segmentation


@pytest.mark.parametrize(
    "margin, expected_offset, expected_shape",
    [
        ((1, 2, 3), (-1, -1, -1), (5, 4, 3)),
        ((1, 2, 3, 0, 1, 2), (-1, -1, -1), (6, 5, 4)),
    ],
)
def test_crop_margin_forms(margin, expected_offset, expected_shape):
    chunk = create_chunk()
    cropped = chunk.crop_margin(margin_size=margin)
    assert cropped.voxel_offset == expected_offset and cropped.shape == expected_shape
    np.testing.assert_array_equal(cropped, chunk.cutout(cropped.bbox))
    box = BoundingBox.from_delta((0, 0, 0), (2, 2, 2))
    assert chunk.crop_margin(output_bbox=box).bbox == box


def test_2d_arrays_and_4_element_offsets():
    chunk = Chunk(np.ones((4, 5), np.uint8), voxel_offset=(3, 0, 0))
    assert chunk.shape == (1, 4, 5) and chunk.voxel_offset == (3, 0, 0)
    affs = Chunk(np.zeros((3, 2, 2, 2), np.float32), (0, -1, -1, -1))
    assert affs.voxel_offset == (-1, -1, -1)
    assert affs.slices == (slice(0, 3), slice(-1, 1), slice(-1, 1), slice(-1, 1))
    with pytest.raises(IncompatibleChunkError, match="start with 0"):
        Chunk(np.zeros((3, 2, 2, 2), np.float32), (1, 0, 0, 0))


def test_assignable_array_and_offset():
    chunk = create_chunk(dtype=np.uint8)
    chunk.array = chunk.array[1:]
    chunk.voxel_offset = (10, 20, 30)
    assert chunk.bbox.string == "10-16_20-28_30-39"
    with pytest.raises(IncompatibleChunkError):
        chunk.array = np.zeros(5)
    with pytest.raises(IncompatibleChunkError):
        chunk.layer_type = "nonsense"


def test_constructors():
    bbox = BoundingBox.from_delta((1, 2, 3), (4, 5, 6))
    zero = Chunk.from_bbox(bbox)
    assert zero.bbox == bbox and zero.dtype == np.uint8 and not zero.array.any()
    placed = Chunk.from_array(np.ones((4, 5, 6), np.float32), bbox, voxel_size=(2, 2, 2))
    assert placed.voxel_offset == (1, 2, 3) and placed.voxel_size == (2, 2, 2)
    sin = Chunk.create(size=(4, 5, 6), dtype=np.uint8)
    grid = np.meshgrid(*[np.linspace(0, 1, n) for n in (4, 5, 6)], indexing="ij")
    np.testing.assert_array_equal(sin.array, (np.abs(np.sin(4 * sum(grid))) * 255).astype(np.uint8))
    assert Chunk.create(size=(2, 4, 5, 6), dtype=np.float32).shape == (2, 4, 5, 6)


def test_h5_round_trip_in_120_layout(tmp_path):
    import h5py

    seg = create_chunk(dtype=np.uint32, voxel_size=(40, 4, 4))
    file_name = seg.to_h5(str(tmp_path / "seg_"))
    assert file_name.endswith("seg_-2-5_-3-5_-4-5.h5")
    with h5py.File(file_name) as f:
        assert sorted(f.keys()) == ["main", "unique_nonzeros", "voxel_offset", "voxel_size"]
        assert f.attrs["layer_type"] == "segmentation"
    back = Chunk.from_h5(file_name)
    assert back == seg
    part = Chunk.from_h5(file_name, cutout_start=(0, 0, 0), cutout_size=(2, 2, 2))
    np.testing.assert_array_equal(part, seg.cutout(BoundingBox.from_delta((0, 0, 0), (2, 2, 2))))
    assert Chunk.from_h5(str(tmp_path / "missing_"), cutout_start=(0, 0, 0), cutout_stop=(1, 1, 1)) is None


def test_small_120_operations():
    affs = create_chunk(size=(3, 2, 3, 4), voxel_offset=(0, 0, 0))
    votes = affs.channel_voting()
    np.testing.assert_array_equal(votes.array, np.argmax(affs.array, axis=0) + 1)
    assert votes.layer_type == "segmentation"
    quant = AffinityMap.from_chunk(affs).quantize("z")
    np.testing.assert_array_equal(quant.array, (affs.array[-1] * 255).astype(np.uint8))
    binary = create_chunk().threshold(0.5)
    assert binary.dtype == np.uint8 and set(np.unique(binary.array)) <= {0, 1}


def test_typed_chunks():
    assert Image(np.zeros((2, 2, 2), np.uint8)).layer_type == "image"
    seg = Segmentation(np.array([[[5, 5, 0, 9]]], np.uint32))
    assert seg.remap(base_id=10) == 12 and seg.dtype == np.uint64
    with pytest.raises(IncompatibleChunkError):
        Segmentation(np.zeros((2, 2, 2), np.float32))
    prob = np.zeros((9, 9, 9), np.float32)
    prob[4, 4, 4] = 1.0
    coords, conf = ProbabilityMap(prob, voxel_offset=(10, 0, 0)).detect_points(min_distance=1, exclude_border=False)
    np.testing.assert_array_equal(coords, [[14, 4, 4]])


def test_evaluate_and_normalize_contrast_equal_recorded_120():
    """``Segmentation.evaluate`` and ``Image.normalize_contrast`` against 1.2.0's own results on the
    inputs of ``record120.api_inputs`` (recorded by ``tests/compat/record120.py``)."""
    from pathlib import Path

    from tests.compat.record120 import api_inputs

    reference = np.load(Path(__file__).parent / "data" / "ref120_inference.npz")
    data = api_inputs()
    image = Image(data["image"].copy(), voxel_offset=(3, 0, 0))
    assert image.normalize_contrast() is None
    np.testing.assert_array_equal(image.array, reference["api_normalized"])
    scores = Segmentation(data["seg"]).evaluate(Segmentation(data["gt"]), size_threshold=10)
    for key in ("rand_index", "adjusted_rand_index", "variation_of_information", "fowlkes_mallows_index"):
        assert scores[key] == pytest.approx(float(reference[f"api_{key}"]), abs=1e-9), key
    assert tuple(scores["edit_distance"]) == tuple(reference["api_edit_distance"].astype(int))


def test_cartesian_and_bounding_box():
    c = Cartesian(1, 2, 3)
    assert c + 1 == (2, 3, 4) and c * Cartesian(2, 2, 2) == (2, 4, 6) and -c == (-1, -2, -3)
    assert c.tuple == (1, 2, 3) and c.inverse == (3, 2, 1) and (c // 2) == (0, 1, 1)
    box = BoundingBox.from_string("0-64_0-512_0-512.h5")
    assert box.minpt == (0, 0, 0) and box.maxpt == (64, 512, 512) and box.string == "0-64_0-512_0-512"
    assert box.slices == (slice(0, 64), slice(0, 512), slice(0, 512))
    assert box.shape == (64, 512, 512)
    assert BoundingBox.from_string("nonsense") is None
    assert box.adjust(2) == BoundingBox.from_list([-2, -2, -2, 66, 514, 514])
    assert len(box.decompose((32, 256, 256))) == 8
    assert box.to_geometry() == box and BoundingBox.from_geometry(box.to_geometry()) == box
    assert box.union(BoundingBox.from_delta((64, 0, 0), (1, 1, 1))).maxpt == (65, 512, 512)
    assert box.is_aligned_with((64, 64, 64))


def test_readme_python_example_runs():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    lines = text.split("**Python.**", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    import numpy"))
    block = []
    for line in lines[start:]:
        if line and not line.startswith("    "):
            break
        block.append(line[4:])
    code = "\n".join(block)
    assert "255 - chunk" in code
    exec(compile(code, "README.md", "exec"), {})
