from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chunkflow.errors import InvalidBoundingBoxError
from chunkflow.geometry import BoundingBox, Vec3

coords = st.integers(-1000, 1000)
sizes = st.integers(1, 200)
vecs = st.builds(Vec3, coords, coords, coords)
size_vecs = st.builds(Vec3, sizes, sizes, sizes)
boxes = st.builds(BoundingBox.from_size, vecs, size_vecs)


@given(boxes)
def test_string_round_trip(box):
    assert BoundingBox.from_string(str(box)) == box
    assert hash(BoundingBox.from_string(str(box))) == hash(box)


@given(boxes, boxes)
def test_intersection_is_contained_in_both(a, b):
    inter = a.intersection(b)
    if inter is None:
        assert not a.intersects(b)
    else:
        assert a.contains(inter) and b.contains(inter)
        assert inter == b.intersection(a)


@given(boxes, boxes)
def test_union_contains_both(a, b):
    u = a.union(b)
    assert u.contains(a) and u.contains(b)


@given(boxes, size_vecs, vecs)
def test_aligned_to_contains_and_is_on_grid(box, block, grid_offset):
    aligned = box.aligned_to(block, grid_offset)
    assert aligned.contains(box)
    assert aligned.is_aligned(block, grid_offset)
    assert all(((s - o) % b) == 0 for s, o, b in zip(aligned.start, grid_offset, block))
    # smallest: shrinking any face by one block would lose part of the box
    assert all(a - s < b for a, s, b in zip(box.start, aligned.start, block))


@given(
    st.builds(BoundingBox.from_size, vecs, st.builds(Vec3, *(st.integers(1, 30),) * 3)),
    st.builds(Vec3, *(st.integers(1, 12),) * 3),
)
def test_split_tiles_the_box_exactly(box, block):
    parts = box.split(block)
    assert sum(p.volume for p in parts) == box.volume
    covered = np.zeros(box.shape, dtype=np.int32)
    for p in parts:
        assert box.contains(p)
        covered[p.slices(box)] += 1
    assert (covered == 1).all()


@given(boxes, st.integers(0, 10))
def test_grow_then_shrink_is_identity(box, margin):
    assert box.grow(margin).shrink(margin) == box


def test_slices_relative_to_another_box():
    outer = BoundingBox(Vec3(10, 20, 30), Vec3(20, 40, 60))
    inner = BoundingBox(Vec3(12, 25, 30), Vec3(15, 30, 40))
    assert inner.slices(outer) == (slice(2, 5), slice(5, 10), slice(0, 10))


def test_vec3_arithmetic_and_xyz():
    v = Vec3(1, 2, 3)
    assert v + 1 == Vec3(2, 3, 4)
    assert v * (2, 2, 2) == Vec3(2, 4, 6)
    assert v.xyz == (3, 2, 1)
    assert Vec3.from_xyz((3, 2, 1)) == v
    assert Vec3.of(np.int64(5)) == Vec3(5, 5, 5)


@pytest.mark.parametrize("text", ["", "0-1_0-1", "a-b_c-d_e-f", "0-10_0-10_0-10_0-10", "5-1_0-1_0-1", "0-0_0-1_0-1"])
def test_malformed_or_empty_strings_are_refused(text):
    with pytest.raises(InvalidBoundingBoxError):
        BoundingBox.from_string(text)


@pytest.mark.parametrize("bad", [(1, 2), (1.5, 2, 3), ("a", 1, 2)])
def test_vec3_refuses_non_integers(bad):
    with pytest.raises(InvalidBoundingBoxError):
        Vec3.of(bad)


def test_negative_or_zero_size_refused():
    with pytest.raises(InvalidBoundingBoxError):
        BoundingBox.from_size(0, (4, 0, 4))
    with pytest.raises(InvalidBoundingBoxError):
        BoundingBox.from_size(0, (4, -1, 4))


def test_frozen():
    box = BoundingBox.from_size(0, 4)
    with pytest.raises(AttributeError):
        box.start = Vec3(1, 1, 1)  # type: ignore[misc]
