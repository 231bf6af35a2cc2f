from __future__ import annotations

import numpy as np
import pytest

from chunkflow import BoundingBox, Chunk, Task, Vec3
from chunkflow.errors import IncompatibleChunkError, MissingChunkError


def make(shape=(4, 6, 8), offset=(10, 20, 30)):
    return Chunk(np.arange(np.prod(shape), dtype=np.float32).reshape(shape), offset, (40, 4, 4), "image")


def test_bbox_and_cutout_is_a_view():
    c = make()
    assert c.bbox == BoundingBox(Vec3(10, 20, 30), Vec3(14, 26, 38))
    sub = c.cutout(BoundingBox(Vec3(11, 21, 31), Vec3(13, 23, 33)))
    assert sub.voxel_offset == Vec3(11, 21, 31)
    assert np.shares_memory(sub.array, c.array)
    np.testing.assert_array_equal(sub.array, c.array[1:3, 1:3, 1:3])


def test_crop_margin_and_4d():
    c = Chunk(np.zeros((3, 10, 10, 10), np.float32), (0, 0, 0), layer_type="affinity_map")
    cropped = c.crop_margin((1, 2, 3))
    assert cropped.shape == (3, 8, 6, 4)
    assert cropped.voxel_offset == Vec3(1, 2, 3)
    assert c.num_channels == 3


def test_cutout_outside_refused():
    with pytest.raises(IncompatibleChunkError, match="not inside"):
        make().cutout(BoundingBox.from_size((0, 0, 0), (4, 4, 4)))


def test_blend_and_paste_by_global_position():
    a = Chunk(np.zeros((4, 4, 4), np.float32), (0, 0, 0))
    b = Chunk(np.ones((4, 4, 4), np.float32), (2, 2, 2))
    a.blend(b)
    a.blend(b)
    assert a.array[2:, 2:, 2:].min() == 2 and a.array[:2].max() == 0
    a.paste(b)
    assert (a.array[2:, 2:, 2:] == 1).all()


@pytest.mark.parametrize("bad", [np.zeros(4), np.zeros((1, 1, 1, 1, 1)), np.zeros((0, 4, 4))])
def test_bad_arrays_refused(bad):
    with pytest.raises(IncompatibleChunkError):
        Chunk(bad)


def test_2d_array_is_one_section():  # as chunkflow 1.2.0
    assert Chunk(np.zeros((4, 5))).shape == (1, 4, 5)


def test_bad_layer_type_refused():
    with pytest.raises(IncompatibleChunkError, match="layer type"):
        Chunk(np.zeros((2, 2, 2)), layer_type="nonsense")


def test_task_named_chunks():
    t = Task()
    t["image"] = make()
    assert "image" in t
    with pytest.raises(MissingChunkError, match="'affs'.*image"):
        t["affs"]
    with t.timed("op"):
        pass
    assert "op" in t.log
