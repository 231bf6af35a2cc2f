"""chunkflow 1.2.0's ``chunkflow.synapses.Synapses``: pre-synaptic points (N, 3) and post-synaptic
points (M, 4: index of the pre point, z, y, x), with confidences, in HDF5 or JSON files laid out as
1.2.0 wrote them."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from chunkflow.errors import IncompatibleChunkError, VolumeFormatError

__all__ = ["Synapses"]

_ARRAYS = ("pre", "post", "pre_confidence", "post_confidence", "pre_users", "post_users")


class Synapses:
    """Synapses in ZYX coordinates (``c_order=False`` files are XYZ and are turned around)."""

    def __init__(
        self,
        pre: Any,
        pre_confidence: Any = None,
        post: Any = None,
        post_confidence: Any = None,
        resolution: Any = None,
        users: list[str] | None = None,
        pre_users: Any = None,
        post_users: Any = None,
    ) -> None:
        pre = np.asarray(pre)
        if pre.ndim != 2 or pre.shape[1] != 3:
            raise IncompatibleChunkError(f"pre-synaptic points must be (N, 3), got {pre.shape}")
        if post is not None:
            post = np.asarray(post)
            if post.ndim != 2 or post.shape[1] != 4 or not np.issubdtype(post.dtype, np.integer):
                raise IncompatibleChunkError(
                    f"post-synaptic points must be integer (M, 4), got {post.dtype} {post.shape}"
                )
        self.pre, self.post = pre, post
        self.pre_confidence = None if pre_confidence is None else np.asarray(pre_confidence)
        self.post_confidence = None if post_confidence is None else np.asarray(post_confidence)
        self.resolution = None if resolution is None else tuple(int(v) for v in resolution)
        self.users = users
        self.pre_users = None if pre_users is None else np.asarray(pre_users)
        self.post_users = None if post_users is None else np.asarray(post_users)

    @property
    def pre_num(self) -> int:
        return int(self.pre.shape[0])

    @property
    def post_num(self) -> int:
        return 0 if self.post is None else int(self.post.shape[0])

    def transpose_axis(self) -> None:
        """XYZ <-> ZYX, in place."""
        self.pre = self.pre[:, ::-1]
        if self.post is not None:
            self.post = np.concatenate([self.post[:, :1], self.post[:, :0:-1]], axis=1)
        if self.resolution is not None:
            self.resolution = self.resolution[::-1]

    def remove_synapses_outside_bounding_box(self, bbox: Any) -> None:
        """Keep the pre points inside ``bbox`` (start <= p < stop) and the post points of those."""
        start, stop = np.asarray(tuple(bbox.start)), np.asarray(tuple(bbox.stop))
        self._keep_pre(np.all((self.pre >= start) & (self.pre < stop), axis=1))

    @property
    def pre_indices_without_post(self) -> list[int]:
        with_post = np.zeros(self.pre_num, dtype=bool)
        if self.post is not None:
            with_post[self.post[:, 0]] = True
        return np.flatnonzero(~with_post).tolist()

    def remove_pre(self, indices: Any) -> None:
        """Remove the pre points at ``indices`` and their post points, in place."""
        keep = np.ones(self.pre_num, dtype=bool)
        keep[np.asarray(indices, dtype=np.int64)] = False
        self._keep_pre(keep)

    def remove_synapses_without_post(self) -> None:
        """Remove the pre points no post point refers to, in place."""
        self.remove_pre(self.pre_indices_without_post)

    def _keep_pre(self, keep: np.ndarray) -> None:
        new_index = np.cumsum(keep) - 1
        self.pre = self.pre[keep]
        for name in ("pre_confidence", "pre_users"):
            if getattr(self, name) is not None:
                setattr(self, name, getattr(self, name)[keep])
        if self.post is not None:
            kept_post = keep[self.post[:, 0]]
            self.post = self.post[kept_post]
            self.post[:, 0] = new_index[self.post[:, 0]]
            for name in ("post_confidence", "post_users"):
                if getattr(self, name) is not None:
                    setattr(self, name, getattr(self, name)[kept_post])

    def __eq__(self, other: object) -> bool:
        """Equal pre and post points (confidences are not compared, as in 1.2.0)."""
        if not isinstance(other, Synapses):
            return NotImplemented
        if not np.array_equal(self.pre, other.pre):
            return False
        if self.post is None or other.post is None:
            return self.post is None and other.post is None
        return bool(np.array_equal(self.post, other.post))

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Synapses:
        return cls(**{k: data.get(k) for k in (*_ARRAYS, "resolution", "users")})

    @classmethod
    def from_json(cls, fname: str, resolution: Any = None, c_order: bool = True) -> Synapses:
        with open(fname, encoding="utf-8") as f:
            data = json.load(f)
        if resolution is not None:
            data["resolution"] = resolution
        syns = cls.from_dict(data)
        if not c_order:
            syns.transpose_axis()
        return syns

    @classmethod
    def from_h5(cls, fname: str, resolution: Any = None, c_order: bool = True) -> Synapses | None:
        import h5py

        if os.path.getsize(fname) == 0:
            return None
        with h5py.File(fname, "r") as f:
            data = {k: np.asarray(f[k]) for k in _ARRAYS if k in f}
            if "pre" not in data and "tbars" in f:
                data["pre"] = np.asarray(f["tbars"])
            if resolution is None and "resolution" in f:
                resolution = np.asarray(f["resolution"])
            users = f.attrs.get("users")
        data["resolution"] = resolution
        data["users"] = users.split(";") if isinstance(users, str) else None  # type: ignore[assignment]
        syns = cls.from_dict(data)
        if not c_order:
            syns.transpose_axis()
        return syns

    @classmethod
    def from_file(cls, fname: str, resolution: Any = None, c_order: bool = True) -> Synapses | None:
        if fname.endswith(".json"):
            return cls.from_json(fname, resolution=resolution, c_order=c_order)
        if fname.endswith(".h5"):
            return cls.from_h5(fname, resolution=resolution, c_order=c_order)
        raise VolumeFormatError(f"synapses are read from .h5 or .json files, not {fname!r}")

    def to_h5(self, fname: str) -> None:
        import h5py

        from chunkflow.files import atomic_path

        with atomic_path(fname) as aside, h5py.File(aside, "w") as f:
            for key in _ARRAYS:
                if getattr(self, key) is not None:
                    f[key] = getattr(self, key)
            if self.resolution is not None:
                f["resolution"] = np.asarray(self.resolution)
            if self.users is not None:
                f.attrs["users"] = ";".join(self.users)

    def to_json(self, fname: str) -> None:
        """Write :attr:`json_dict` to ``fname`` (local or a bucket), atomically: a reader sees the old file
        or the new one, never a part."""
        from chunkflow.files import write_json

        write_json(fname, self.json_dict)

    @property
    def json_dict(self) -> dict[str, Any]:
        data = {
            k: getattr(self, k).tolist()
            for k in ("pre", "post", "pre_confidence", "post_confidence")
            if getattr(self, k) is not None
        }
        if self.resolution is not None:
            data["resolution"] = list(self.resolution)
        return data
