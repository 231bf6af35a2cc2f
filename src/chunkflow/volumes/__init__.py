"""Volume formats behind one interface. See :mod:`chunkflow.volumes.base`."""

from __future__ import annotations

from chunkflow.chunk import Chunk
from chunkflow.errors import VolumeNotFoundError
from chunkflow.volumes.base import Volume, create_volume, format_of, open_volume

__all__ = ["Volume", "open_volume", "create_volume", "save_chunk", "format_of"]


def save_chunk(url: str, chunk: Chunk, **create_options: object) -> Volume:
    """Write ``chunk`` to ``url``.

    Single-file formats are (re)written whole; block formats are opened, or created from the
    chunk (its box, dtype, voxel size and layer type) when they do not exist yet.
    """
    from chunkflow.volumes.arrayfile import ArrayFileVolume
    from chunkflow.volumes.base import _volume_class

    cls = _volume_class(url)
    if issubclass(cls, ArrayFileVolume):
        cls.save(url, chunk)
        return cls.open(url)  # type: ignore[attr-defined,no-any-return]
    try:
        volume = open_volume(url, mip=create_options.pop("mip", 0))
    except VolumeNotFoundError:
        volume = create_volume(url, like=chunk, **create_options)
    volume.write(chunk)
    return volume
