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
import hashlib
import json
import os
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO

from .compression import open_payload
from .errors import ChecksumError
from .paths import cache_root
from .registry import RemoteFile

__all__ = [
    "check_digest",
    "describe_checksum",
    "payload_digest",
    "record_verified",
    "verify",
]

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
    if actual == remote.sha256:
        return
    what = "uncompressed payload" if remote.checksum_of == "uncompressed" else "file"
    size_note = ""
    if remote.size is not None and count != remote.size:
        size_note = f"\n  {what} size: {count} bytes, expected {remote.size}"
    raise ChecksumError(
        f"{path}: checksum mismatch for {remote.name}\n"
        f"  expected sha256 of the {what}: {remote.sha256}\n"
        f"  actual   sha256 of the {what}: {actual}{size_note}\n"
        "The file is damaged or is not the official one; delete it to download it again."
    )


def verify(path: str | os.PathLike[str], remote: RemoteFile, *, use_cache: bool = True) -> None:
    """Check ``path`` against ``remote``'s SHA-256, skipping the hash when a sidecar vouches.

    Raises:
        ChecksumError: the digest differs.
        CorruptFileError: a gzip stream is truncated or damaged.
    """
    path = Path(path).absolute()
    if use_cache and _cached_ok(path, remote):
        return
    check_digest(path, remote)
    if use_cache:
        record_verified(path, remote)
