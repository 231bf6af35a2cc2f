"""The one registry of volume formats: which format a URL names, and its :class:`Volume` class.

A format is registered once, as a :class:`VolumeFormat`: its name, how a URL names it (its own
schemes such as ``zarr://``, file suffixes such as ``.h5``, and for the catch-all precomputed format
the storage schemes ``file://``, ``gs://`` ...) and its class as ``"module:Class"`` (imported only when a
URL of that format is opened). Built-in formats are listed in ``BUILTIN_FORMATS``; another package
adds one through the ``chunkflow.volumes`` entry-point group, naming either a :class:`VolumeFormat`
or a :class:`Volume` subclass (which then claims ``NAME://`` URLs)::

    [project.entry-points."chunkflow.volumes"]
    npzdir = "my_package.npzdir:FORMAT"

or at run time with ``FORMATS.register(name, VolumeFormat(...))``. Its classmethods ``open`` and
``create`` are what :func:`open_volume` and :func:`create_volume` call; ``chunkflow.testing.volume_conformance``
is the test suite a new format runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chunkflow.errors import VolumeFormatError
from chunkflow.registry import Registry, load_target

if TYPE_CHECKING:
    from chunkflow.chunk.base import Chunk
    from chunkflow.volumes.base import Volume

__all__ = [
    "VolumeFormat", "FORMATS", "BUILTIN_FORMATS", "ENTRY_POINT_GROUP", "format_of", "volume_class", "open_volume",
    "create_volume", "strip_scheme",
]  # fmt: skip

ENTRY_POINT_GROUP = "chunkflow.volumes"

#: where data lives, not what it is: a URL with one of these and no format scheme or suffix is precomputed
STORAGE_SCHEMES = ("file://", "gs://", "s3://", "http://", "https://", "matrix://")


@dataclass(frozen=True)
class VolumeFormat:
    """How URLs name a format, and its :class:`Volume` class.

    A URL belongs to the first format (in registry order) one of whose ``schemes`` starts it; else to
    the first whose ``suffixes`` end it (trailing ``/`` ignored); else to the first whose
    ``storage_schemes`` start it. Matching ignores case. ``volume_class`` is ``"module:Class"`` (imported
    on first use) or the class itself.
    """

    name: str
    volume_class: str | type[Volume]
    schemes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    storage_schemes: tuple[str, ...] = ()

    def describe(self) -> str:
        forms = [f"{s}PATH" for s in self.schemes] + [f"*{s}" for s in self.suffixes]
        if self.storage_schemes:
            forms.append(f"a {' | '.join(self.storage_schemes)} URL")
        return f"{self.name} ({', '.join(forms)})"


BUILTIN_FORMATS: dict[str, VolumeFormat] = {
    f.name: f
    for f in (
        VolumeFormat("zarr", "chunkflow.volumes.zarr:ZarrVolume", ("zarr://", "zarr3://"), (".zarr",)),
        VolumeFormat("h5", "chunkflow.volumes.h5:H5Volume", suffixes=(".h5", ".hdf5", ".hdf")),
        VolumeFormat("tif", "chunkflow.volumes.tiff:TiffVolume", suffixes=(".tif", ".tiff")),
        VolumeFormat("npy", "chunkflow.volumes.npy:NpyVolume", suffixes=(".npy",)),
        VolumeFormat("png", "chunkflow.volumes.png:PngVolume", ("png://",)),
        VolumeFormat(
            "precomputed",
            "chunkflow.volumes.precomputed:PrecomputedVolume",
            ("precomputed://",),
            storage_schemes=STORAGE_SCHEMES,
        ),
    )
}


def _as_format(name: str, obj: Any) -> VolumeFormat:
    """An entry point names a :class:`VolumeFormat`, or a :class:`Volume` subclass claiming ``NAME://``."""
    from chunkflow.volumes.base import Volume

    if isinstance(obj, VolumeFormat):
        return obj
    if isinstance(obj, type) and issubclass(obj, Volume):
        return VolumeFormat(name, obj, schemes=(f"{name}://",))
    raise VolumeFormatError(
        f"volume format {name!r} is registered as {obj!r}, which is neither a VolumeFormat nor a Volume subclass; "
        "fix the entry point of the package that provides it"
    )


FORMATS: Registry[VolumeFormat] = Registry("volume format", ENTRY_POINT_GROUP, BUILTIN_FORMATS, check=_as_format)


def _formats() -> list[VolumeFormat]:
    return [FORMATS.load(name) for name in FORMATS.names()]


def format_of(url: str) -> str:
    """Name the format of ``url`` (``zarr``, ``h5``, ``tif``, ``npy``, ``png``, ``precomputed`` or a plug-in's)."""
    lower = url.lower()
    formats = _formats()
    for fmt in formats:
        if lower.startswith(tuple(s.lower() for s in fmt.schemes)):
            return fmt.name
    stem = lower.rstrip("/")
    for fmt in formats:
        if fmt.suffixes and stem.endswith(tuple(s.lower() for s in fmt.suffixes)):
            return fmt.name
    for fmt in formats:
        if lower.startswith(tuple(s.lower() for s in fmt.storage_schemes)):
            return fmt.name
    raise VolumeFormatError(
        f"cannot tell the format of {url!r}; use one of: {'; '.join(f.describe() for f in formats)}"
    )


def volume_class(url: str) -> type[Volume]:
    """The :class:`Volume` subclass of the format of ``url``."""
    from chunkflow.volumes.base import Volume

    fmt = FORMATS.load(format_of(url))
    cls: Any = fmt.volume_class
    if isinstance(cls, str):
        cls = load_target(cls, f"volume format {fmt.name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Volume)):
        raise VolumeFormatError(f"volume format {fmt.name!r} names {cls!r}, which is not a Volume subclass")
    return cls


def open_volume(url: str, **options: Any) -> Volume:
    """Open an existing volume; the format is picked from the URL (:func:`format_of`)."""
    return volume_class(url).open(url, **options)


def create_volume(url: str, like: Chunk | None = None, **options: Any) -> Volume:
    """Create a volume (block formats: with bounds from ``options`` or from ``like``)."""
    return volume_class(url).create(url, like=like, **options)


def strip_scheme(url: str, *, keep_storage: bool = False) -> str:
    """What a volume URL points at: its format scheme (``zarr://``, ``png://``, ``precomputed://``, a
    plug-in's) removed, then ``file://`` unless ``keep_storage`` (which keeps ``file://``, ``gs://`` ...
    for libraries that take storage URLs). ``precomputed://file:///d`` gives ``/d``."""
    lower = url.lower()
    for fmt in _formats():
        for scheme in fmt.schemes:
            if lower.startswith(scheme.lower()):
                url, lower = url[len(scheme) :], lower[len(scheme) :]
                break
        else:
            continue
        break
    if not keep_storage and lower.startswith("file://"):
        url = url[len("file://") :]
    return url
