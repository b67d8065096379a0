"""SHA-256 verification of dataset files, with a small cache of good results.

Hashing the 47 MB MNIST training images on every load would cost more than parsing them, so a
successful verification is remembered in a small record under the per-user cache
(``<cache>/verified/<hash of the file's absolute path>.json``), keyed by the file's path, size,
modification time (ns) and inode and by the expected digest. Any change to the file (or to the
registry entry) re-hashes it. The records live in the cache, not beside the data, so folders the
user points at (possibly shared or read-only) are never written to; a record that cannot be
written is simply skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO

from layerwise.errors import ConfigError

from .compression import open_payload
from .errors import ChecksumError
from .paths import cache_root
from .registry import RemoteFile

__all__ = [
    "ENV_ACCEPT",
    "UnofficialDataWarning",
    "accepted_digests",
    "check_digest",
    "describe_checksum",
    "parse_digests",
    "payload_digest",
    "record_verified",
    "verify",
]

#: Environment variable: SHA-256 digests (comma-separated) of non-official copies to accept.
ENV_ACCEPT = "LAYERWISE_ACCEPT_SHA256"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class UnofficialDataWarning(UserWarning):
    """A dataset file that is not the official one was accepted, because its digest was named
    (``accept_sha256`` / ``--accept-sha256`` / ``$LAYERWISE_ACCEPT_SHA256``)."""


def parse_digests(value: Any, where: str = "accept_sha256") -> frozenset[str]:
    """SHA-256 digests from ``"HEX[,HEX]"`` text or a list of them: 64 hex digits each (case
    ignored); anything else is a ConfigError naming ``where``."""
    if value is None:
        return frozenset()
    parts = value.split(",") if isinstance(value, str) else value
    # a list or tuple of texts; not a mapping, bytes or array (a 0-d array "is" iterable)
    if not isinstance(parts, (list, tuple, frozenset, set)):
        raise ConfigError(f"{where} must be SHA-256 digests (64 hex digits); got {value!r}", where)
    digests = set()
    for part in parts:
        text = part.strip().lower() if isinstance(part, str) else None
        if text == "":
            continue
        if text is None or not _HEX64.fullmatch(text):
            raise ConfigError(
                f"{where}: {part!r} is not a SHA-256 digest; expected 64 hex digits, as "
                "`sha256sum FILE` prints them",
                where,
            )
        digests.add(text)
    return frozenset(digests)


def accepted_digests(extra: Any = None) -> frozenset[str]:
    """The digests of non-official files to accept: ``extra`` and ``$LAYERWISE_ACCEPT_SHA256``."""
    return parse_digests(extra) | parse_digests(os.environ.get(ENV_ACCEPT), ENV_ACCEPT)


_CHUNK = 1 << 20


def payload_digest(path: str | os.PathLike[str], remote: RemoteFile) -> tuple[str, int]:
    """SHA-256 (hex) and byte count of what ``remote``'s checksum covers in ``path``.

    That is the file itself, or its gunzipped payload when ``remote.checksum_of`` is
    ``"uncompressed"`` (a raw, uncompressed copy is hashed as it is).

    Raises:
        CorruptFileError: a gzip stream is truncated or damaged.
    """
    digest = hashlib.sha256()
    count = 0
    with _open_checked(path, remote) as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            count += len(chunk)
    return digest.hexdigest(), count


def _open_checked(
    path: str | os.PathLike[str], remote: RemoteFile
) -> AbstractContextManager[BinaryIO]:
    if remote.checksum_of == "uncompressed":
        return open_payload(path)
    return open(path, "rb")


def _record(path: Path) -> Path:
    """Where the verification record of ``path`` (absolute) is kept."""
    key = hashlib.sha256(os.fsencode(path)).hexdigest()[:32]
    return cache_root() / "verified" / f"{key}.json"


def _stamp(path: Path, remote: RemoteFile) -> dict[str, Any]:
    st = path.stat()
    return {
        "path": str(path),
        "sha256": remote.sha256,
        "checksum_of": remote.checksum_of,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        # A change in place that keeps the size and puts the mtime back (os.utime) still moves
        # the ctime, which no user can set: the record no longer vouches for the file.
        "ctime_ns": st.st_ctime_ns,
        "inode": st.st_ino,
    }


def _cached_ok(path: Path, remote: RemoteFile) -> bool:
    try:
        recorded = json.loads(_record(path).read_text(encoding="utf-8"))
        return bool(recorded == _stamp(path, remote))
    except (OSError, ValueError):
        return False


def record_verified(path: str | os.PathLike[str], remote: RemoteFile) -> None:
    """Remember that ``path`` matched ``remote``'s checksum (best effort, atomic)."""
    path = Path(path).absolute()
    record = _record(path)
    try:
        text = json.dumps(_stamp(path, remote), sort_keys=True)
        record.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=record.parent, prefix=f".{record.stem}.", suffix=".tmp")
    except OSError:
        return  # no writable cache: verify again next time
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, record)  # concurrent writers: the last complete record wins
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def describe_checksum(remote: RemoteFile) -> str:
    """``"sha256 <hex>"`` plus what it covers, for messages."""
    what = " of the uncompressed payload" if remote.checksum_of == "uncompressed" else ""
    return f"sha256{what} {remote.sha256}"


def check_digest(path: str | os.PathLike[str], remote: RemoteFile) -> None:
    """Hash ``path`` (no cache) and raise :class:`ChecksumError` if it is not ``remote``'s.

    Raises:
        ChecksumError: the digest differs; the message names file, expected and actual digest.
        CorruptFileError: a gzip stream is truncated or damaged.
    """
    actual, count = payload_digest(path, remote)
    if actual != remote.sha256:
        raise _mismatch(path, remote, actual, count)


def _mismatch(
    path: str | os.PathLike[str], remote: RemoteFile, actual: str, count: int
) -> ChecksumError:
    """The error for a file whose digest is ``actual`` (of ``count`` bytes), not ``remote``'s."""
    what = "uncompressed payload" if remote.checksum_of == "uncompressed" else "file"
    size_note = ""
    if remote.size is not None and count != remote.size:
        size_note = f"\n  {what} size: {count} bytes, expected {remote.size}"
    return ChecksumError(
        f"{path}: checksum mismatch for {remote.name}\n"
        f"  expected sha256 of the {what}: {remote.sha256}\n"
        f"  actual   sha256 of the {what}: {actual}{size_note}\n"
        "The file is damaged or is not the official one; delete it to download it again, or "
        f"accept this very copy with --accept-sha256 {actual} (or {ENV_ACCEPT})."
    )


def verify(
    path: str | os.PathLike[str],
    remote: RemoteFile,
    *,
    use_cache: bool = True,
    accept: Iterable[str] = (),
) -> None:
    """Check ``path`` against ``remote``'s SHA-256, skipping the hash when a record vouches.

    A file whose digest is one of ``accept`` (lowercase hex, see :func:`accepted_digests`) is
    used although it is not the official one, with an :class:`UnofficialDataWarning` naming
    the file and its digest; no other file is ever accepted.

    Raises:
        ChecksumError: the digest differs (the message says how to accept this very file).
        CorruptFileError: a gzip stream is truncated or damaged.
    """
    path = Path(path).absolute()
    accept = frozenset(accept) - {remote.sha256}
    if use_cache and _cached_ok(path, remote):
        return
    for digest in accept:  # an accepted copy verified before: no need to hash it again
        if use_cache and _cached_ok(path, dataclasses.replace(remote, sha256=digest)):
            _warn_unofficial(path, remote, digest)
            return
    actual, count = payload_digest(path, remote)
    if actual == remote.sha256:
        if use_cache:
            record_verified(path, remote)
        return
    if actual not in accept:
        raise _mismatch(path, remote, actual, count)
    _warn_unofficial(path, remote, actual)
    if use_cache:
        record_verified(path, dataclasses.replace(remote, sha256=actual))


def _warn_unofficial(path: Path, remote: RemoteFile, digest: str) -> None:
    warnings.warn(
        UnofficialDataWarning(
            f"{path} is not the official {remote.name} (sha256 {digest}, the official one is "
            f"{remote.sha256}); using it because that digest is accepted"
        ),
        stacklevel=2,
    )
