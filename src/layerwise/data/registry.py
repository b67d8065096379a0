"""The registry of downloadable files: names, mirrors, sizes and checksums.

A :class:`RemoteFile` says where a file comes from and how to recognise a good copy; a
:class:`RemoteDataset` groups the files of one dataset with the subfolder they live in. Tests (and
users with their own mirror) build their own ``RemoteFile`` and hand it to
:func:`layerwise.data.download.fetch`; nothing here is read from the network at import time.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from layerwise.errors import ConfigError

__all__ = [
    "CIFAR10",
    "CIFAR10_ARCHIVE",
    "MNIST",
    "MNIST_FILES",
    "REGISTRY",
    "RemoteDataset",
    "RemoteFile",
    "is_allowed_url",
]

ChecksumOf = Literal["file", "uncompressed"]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
# Plain http is refused (a tampered download would still fail its checksum, but there is no
# reason to allow it); only a server on this machine, which is what the tests run, may use it.
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_allowed_url(url: str) -> bool:
    """True for ``https://`` URLs, and ``http://`` ones that point at this machine (tests)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.netloc:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file and how to check it.

    Attributes:
        name: file name in the data folder (no folder part), e.g. ``"train-images-idx3-ubyte.gz"``.
        urls: mirrors, tried in order; https only (http only for 127.0.0.1/localhost).
        size: byte count of what the checksum covers (the file, or its uncompressed payload),
            or None when unknown.
        md5: the MD5 the publisher lists (shown in messages only), or None.
        sha256: SHA-256 of the file, or of its gunzipped payload when ``checksum_of`` is
            ``"uncompressed"``; lower-case hex.
        checksum_of: ``"file"``, or ``"uncompressed"`` when copies differ only in their gzip
            wrapper (MNIST); then a raw copy named without ``.gz`` is accepted too.
    """

    name: str
    urls: tuple[str, ...]
    size: int | None
    md5: str | None
    sha256: str
    checksum_of: ChecksumOf = "file"

    def __post_init__(self) -> None:
        # Registry entries are code, but RemoteFile is public: fail at construction, not at
        # the first download, and never let a name escape the data folder.
        if not self.name or "/" in self.name or "\\" in self.name or self.name in {".", ".."}:
            raise ConfigError(f"RemoteFile name must be a plain file name, got {self.name!r}")
        if not isinstance(self.urls, tuple) or not self.urls:
            raise ConfigError(f"RemoteFile urls must be a non-empty tuple, got {self.urls!r}")
        for url in self.urls:
            if not isinstance(url, str) or not is_allowed_url(url):
                raise ConfigError(
                    f"RemoteFile url must be https:// (http:// only on loopback), got {url!r}"
                )
        if self.size is not None and (isinstance(self.size, bool) or self.size < 0):
            raise ConfigError(
                f"RemoteFile size must be a non-negative int or None, got {self.size}"
            )
        if self.md5 is not None and not _HEX32.fullmatch(self.md5):
            raise ConfigError(f"RemoteFile md5 must be 32 lower-case hex digits, got {self.md5!r}")
        if not _HEX64.fullmatch(self.sha256):
            raise ConfigError(
                f"RemoteFile sha256 must be 64 lower-case hex digits, got {self.sha256!r}"
            )
        if self.checksum_of not in ("file", "uncompressed"):
            raise ConfigError(
                f"RemoteFile checksum_of must be 'file' or 'uncompressed', got {self.checksum_of!r}"
            )

    @property
    def raw_name(self) -> str | None:
        """Name of an accepted uncompressed copy (``name`` without ``.gz``), or None."""
        if self.checksum_of == "uncompressed" and self.name.endswith(".gz"):
            return self.name[: -len(".gz")]
        return None

    @property
    def local_names(self) -> tuple[str, ...]:
        """File names that satisfy this entry in a data folder, in the order they are tried."""
        raw = self.raw_name
        return (self.name,) if raw is None else (self.name, raw)


@dataclass(frozen=True)
class RemoteDataset:
    """The files of one downloadable dataset.

    Attributes:
        name: the name used by :func:`layerwise.data.load_dataset`, e.g. ``"mnist"``.
        title: display name for messages, e.g. ``"MNIST"``.
        subfolder: folder under a data root where the files are kept, e.g. ``"mnist"``.
        files: the files, each with its mirrors and checksum.
        homepage: where a user can read about (and fetch) the data by hand.
    """

    name: str
    title: str
    subfolder: str
    files: tuple[RemoteFile, ...]
    homepage: str


CIFAR10_ARCHIVE = RemoteFile(
    name="cifar-10-python.tar.gz",
    urls=("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
    size=170_498_071,
    md5="c58f30108f718f92721af3b95e74349a",
    sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
)

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def _mnist_file(name: str, size: int, sha256: str) -> RemoteFile:
    # Checked on the uncompressed payload: the gzip wrappers differ between mirrors, the IDX
    # bytes inside do not. The sizes follow from the IDX headers (16 or 8 bytes + the data).
    return RemoteFile(
        name=name,
        urls=tuple(mirror + name for mirror in _MNIST_MIRRORS),
        size=size,
        md5=None,
        sha256=sha256,
        checksum_of="uncompressed",
    )


MNIST_FILES: tuple[RemoteFile, ...] = (
    _mnist_file(
        "train-images-idx3-ubyte.gz",
        16 + 60_000 * 28 * 28,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    _mnist_file(
        "train-labels-idx1-ubyte.gz",
        8 + 60_000,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    _mnist_file(
        "t10k-images-idx3-ubyte.gz",
        16 + 10_000 * 28 * 28,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    _mnist_file(
        "t10k-labels-idx1-ubyte.gz",
        8 + 10_000,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
)

MNIST = RemoteDataset(
    name="mnist",
    title="MNIST",
    subfolder="mnist",
    files=MNIST_FILES,
    homepage="http://yann.lecun.com/exdb/mnist/",
)

CIFAR10 = RemoteDataset(
    name="cifar10",
    title="CIFAR-10",
    subfolder="cifar10",
    files=(CIFAR10_ARCHIVE,),
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
)

#: The downloadable datasets by name (read-only).
REGISTRY: Mapping[str, RemoteDataset] = MappingProxyType({"mnist": MNIST, "cifar10": CIFAR10})
