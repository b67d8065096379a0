"""Find dataset files locally, or download and verify them.

:func:`fetch` is the only way a loader gets a registered file: a local copy is checked against
its SHA-256; a missing one is downloaded from each mirror in turn (https only) to a temporary file
in the target folder, verified, and only then renamed into place with :func:`os.replace`, so a
crash or a concurrent download never leaves a half-written file under the real name.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from layerwise.errors import ConfigError

from .checksum import accepted_digests, describe_checksum, payload_digest, record_verified, verify
from .errors import ChecksumError, CorruptFileError, MissingDataError
from .paths import ENV_DATA_DIR, ENV_OFFLINE, is_offline
from .registry import RemoteFile, is_allowed_url

__all__ = ["TIMEOUT_S", "fetch", "fetch_all", "find_local"]

#: Seconds to wait for a server to connect or to send the next block.
TIMEOUT_S = 30.0
#: The overall deadline of one file from one mirror: this many seconds, plus the time the
#: file takes at MIN_RATE bytes per second; then the next mirror is tried. A server that
#: trickles a byte now and then (never idle for TIMEOUT_S) cannot hang a command for ever.
#: ``LAYERWISE_DOWNLOAD_DEADLINE`` (seconds) overrides it.
DEADLINE_BASE_S = 60.0
MIN_RATE = 100_000
ENV_DEADLINE = "LAYERWISE_DOWNLOAD_DEADLINE"
_CHUNK = 1 << 16
_USER_AGENT = "layerwise-data/0.1 (+urllib)"


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never from https down to plain http."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not is_allowed_url(newurl):
            raise urllib.error.URLError(f"refused redirect to {newurl!r} (not https)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def find_local(remote: RemoteFile, folder: str | os.PathLike[str]) -> Path | None:
    """The first of ``remote.local_names`` present as a file in ``folder``, or None."""
    for name in remote.local_names:
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    return None


def fetch(
    remote: RemoteFile,
    folder: str | os.PathLike[str],
    *,
    offline: bool | None = None,
    verify_checksum: bool = True,
    progress: bool | None = None,
    accept_sha256: Any = None,
) -> Path:
    """The path of a verified local copy of ``remote`` in ``folder``, downloading it if needed.

    Args:
        remote: the file to get (its name, mirrors and checksum).
        folder: where the file is looked for and downloaded to (created when needed).
        offline: refuse to download; None reads ``LAYERWISE_OFFLINE``.
        verify_checksum: check a local copy's SHA-256 (a download is always checked).
        progress: show a progress bar on stderr; None shows it when stderr is a terminal.
        accept_sha256: digests ("HEX[,HEX]" or a list) of non-official local copies to use
            anyway, with a warning; ``$LAYERWISE_ACCEPT_SHA256`` adds to them.

    Raises:
        ChecksumError: a local copy does not match the registered digest.
        CorruptFileError: a local gzip copy is truncated or damaged.
        MissingDataError: the file is missing and offline, or every mirror failed.
    """
    return fetch_all(
        (remote,), folder, offline=offline, verify_checksum=verify_checksum, progress=progress,
        accept_sha256=accept_sha256,
    )[0]  # fmt: skip


def fetch_all(
    remotes: Iterable[RemoteFile],
    folder: str | os.PathLike[str],
    *,
    offline: bool | None = None,
    verify_checksum: bool = True,
    progress: bool | None = None,
    title: str = "dataset",
    accept_sha256: Any = None,
) -> list[Path]:
    """:func:`fetch` for several files; one :class:`MissingDataError` lists every missing one.

    Args:
        title: dataset name for messages, e.g. ``"MNIST"``.
        accept_sha256: as for :func:`fetch`.

    Returns:
        One path per remote, in the order given.
    """
    folder = Path(folder)
    remotes = tuple(remotes)
    accept = accepted_digests(accept_sha256)
    found: dict[str, Path] = {}
    missing: list[RemoteFile] = []
    # Check what is here first: a bad local file is reported before any network traffic.
    for remote in remotes:
        local = find_local(remote, folder)
        if local is None:
            missing.append(remote)
            continue
        if verify_checksum:
            verify(local, remote, accept=accept)
        found[remote.name] = local
    if missing:
        if offline is None:
            offline = is_offline()
        if offline:
            reason = f"downloading is disabled ({ENV_OFFLINE}=1 or offline=True)"
            raise MissingDataError(_missing_message(title, missing, folder, reason))
        found.update(_download_all(missing, folder, title, progress))
    return [found[remote.name] for remote in remotes]


def _download_all(
    missing: list[RemoteFile], folder: Path, title: str, progress: bool | None
) -> dict[str, Path]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        reason = f"the folder cannot be created ({err})"
        raise MissingDataError(_missing_message(title, missing, folder, reason)) from err
    done: dict[str, Path] = {}
    failures: dict[str, str] = {}
    for remote in missing:
        errors: list[str] = []
        for url in remote.urls:
            try:
                done[remote.name] = _download_from(url, remote, folder, progress)
                break
            # URLError, timeouts and refused connections are OSErrors; HTTPException covers
            # a server that hangs up mid-response.
            except (OSError, http.client.HTTPException, ChecksumError, CorruptFileError) as err:
                errors.append(f"{url}: {err}")
        else:
            failures[remote.name] = "; ".join(errors)
    if failures:
        failed = [remote for remote in missing if remote.name in failures]
        reason = "every download failed"
        raise MissingDataError(_missing_message(title, failed, folder, reason, failures))
    return done


def _download_from(url: str, remote: RemoteFile, folder: Path, progress: bool | None) -> Path:
    target = folder / remote.name
    # The temporary file lives in the target folder so that os.replace is a same-filesystem,
    # atomic rename; its hidden name keeps it from being mistaken for the real file.
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{remote.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _copy_url(url, out, remote.name, progress, remote.size)
            out.flush()
            os.fsync(out.fileno())
        actual, count = payload_digest(tmp, remote)
        if actual != remote.sha256:
            raise ChecksumError(
                f"downloaded {count} bytes with sha256 {actual}, expected {remote.sha256}"
            )
        tmp.chmod(0o644)  # mkstemp makes it private; the data is not secret
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    record_verified(target, remote)
    return target


def deadline_seconds(size: int | None) -> float:
    """How long one file may take from one mirror (see :data:`DEADLINE_BASE_S`)."""
    text = os.environ.get(ENV_DEADLINE, "").strip()
    if text:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{ENV_DEADLINE} must be a number of seconds > 0; got {text!r}")
        return value
    return DEADLINE_BASE_S + (size if size is not None else 50_000_000) / MIN_RATE


def _copy_url(
    url: str, out: IO[bytes], name: str, progress: bool | None, size: int | None = None
) -> None:
    opener = urllib.request.build_opener(_HttpsOnlyRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    start = time.monotonic()
    with opener.open(request, timeout=TIMEOUT_S) as response:
        length = response.headers.get("Content-Length", "")
        total = int(length) if length.isdigit() else None
        limit = deadline_seconds(total if total is not None else size)
        deadline = start + limit
        received = 0
        with tqdm(
            total=total,
            desc=name,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=sys.stderr,
            disable=not progress,
            leave=False,
        ) as bar:
            # read1: whatever has arrived (up to a chunk), so the deadline is checked between
            # the trickles of a slow server, not after a full chunk.
            while chunk := response.read1(_CHUNK):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the download did not finish within its deadline of {limit:.0f} s "
                        f"({received} bytes received; {ENV_DEADLINE} sets it)"
                    )
    # http.client does not complain when a server closes early; the length tells.
    if total is not None and received != total:
        raise CorruptFileError(f"download stopped after {received} of {total} bytes")


def _missing_message(
    title: str,
    missing: list[RemoteFile],
    folder: Path,
    reason: str,
    failures: Mapping[str, str] | None = None,
) -> str:
    names = ", ".join(remote.name for remote in missing)
    lines = [f"Missing {title} files: {names}; {reason}.", f"Put these files in {folder}:"]
    for remote in missing:
        alt = f" (or uncompressed, as {remote.raw_name})" if remote.raw_name else ""
        lines.append(f"  {remote.name}{alt}")
        lines.extend(f"    url: {url}" for url in remote.urls)
        lines.append(f"    {describe_checksum(remote)}")
        if remote.md5:
            lines.append(f"    md5 {remote.md5}")
        if failures and remote.name in failures:
            lines.append(f"    download failed: {failures[remote.name]}")
    lines.append(f"or pass data_dir (or set {ENV_DATA_DIR}) to a folder that holds them.")
    return "\n".join(lines)
