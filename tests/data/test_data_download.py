"""fetch/fetch_all: checksums, the verification cache, the offline error, loopback downloads."""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from layerwise.data import (
    ChecksumError,
    CorruptFileError,
    MissingDataError,
    RemoteFile,
    fetch,
    fetch_all,
)
from layerwise.data import checksum as checksum_module
from layerwise.data.checksum import verify
from layerwise.data.paths import cache_root
from layerwise.errors import ConfigError

if TYPE_CHECKING:  # only for annotations: "conftest" is ambiguous at run time
    from conftest import LoopbackServer

PAYLOAD = b"layerwise test payload \x00\x01\x02" * 50


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def remote_for(data: bytes, *urls: str, name: str = "file.bin", **kwargs: object) -> RemoteFile:
    return RemoteFile(
        name=name,
        urls=urls or ("https://example.invalid/" + name,),
        size=len(data),
        md5=None,
        sha256=sha(data),
        **kwargs,  # type: ignore[arg-type]
    )


def closed_port_url(path: str) -> str:
    """A loopback URL where nothing listens (the connection is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def visible_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def records() -> list[Path]:
    """The verification records in the (test-private) user cache."""
    folder = cache_root() / "verified"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


# --------------------------------------------------------------------------- local files


def test_a_good_local_file_is_returned_without_any_download(tmp_path: Path) -> None:
    (tmp_path / "file.bin").write_bytes(PAYLOAD)
    remote = remote_for(PAYLOAD)  # its URL does not resolve: any download attempt would fail
    assert fetch(remote, tmp_path, offline=False) == tmp_path / "file.bin"


def test_checksum_mismatch_names_file_expected_and_actual_digest(tmp_path: Path) -> None:
    bad = PAYLOAD[:-1] + b"X"
    (tmp_path / "file.bin").write_bytes(bad)
    remote = remote_for(PAYLOAD)
    with pytest.raises(ChecksumError) as info:
        fetch(remote, tmp_path)
    message = str(info.value)
    assert str(tmp_path / "file.bin") in message
    assert remote.sha256 in message
    assert sha(bad) in message


def test_a_wrong_size_is_reported_with_the_mismatch(tmp_path: Path) -> None:
    (tmp_path / "file.bin").write_bytes(PAYLOAD[:100])
    with pytest.raises(ChecksumError, match=f"size: 100 bytes, expected {len(PAYLOAD)}"):
        fetch(remote_for(PAYLOAD), tmp_path)


def test_uncompressed_checksum_accepts_gz_raw_and_misnamed_copies(tmp_path: Path) -> None:
    remote = remote_for(PAYLOAD, name="data.gz", checksum_of="uncompressed")
    (tmp_path / "data.gz").write_bytes(gzip.compress(PAYLOAD, mtime=0))
    assert fetch(remote, tmp_path) == tmp_path / "data.gz"

    raw_only = tmp_path / "raw"
    raw_only.mkdir()
    (raw_only / "data").write_bytes(PAYLOAD)
    assert fetch(remote, raw_only) == raw_only / "data"

    # A gzip wrapper from another tool (different header bytes) holds the same payload.
    other = tmp_path / "other"
    other.mkdir()
    (other / "data.gz").write_bytes(gzip.compress(PAYLOAD, compresslevel=1, mtime=12345))
    assert fetch(remote, other) == other / "data.gz"

    # A raw copy that kept the .gz name is still recognised (by content, not by name).
    misnamed = tmp_path / "misnamed"
    misnamed.mkdir()
    (misnamed / "data.gz").write_bytes(PAYLOAD)
    assert fetch(remote, misnamed) == misnamed / "data.gz"


def test_file_checksum_is_of_the_file_bytes_not_the_payload(tmp_path: Path) -> None:
    packed = gzip.compress(PAYLOAD, mtime=0)
    (tmp_path / "file.bin").write_bytes(packed)
    fetch(remote_for(packed), tmp_path)  # the digest of the gzip bytes: passes
    (tmp_path / "file.bin").write_bytes(packed)
    with pytest.raises(ChecksumError):
        fetch(remote_for(PAYLOAD), tmp_path, offline=True, verify_checksum=True)


@pytest.mark.parametrize("cut", [10, 30, -9, -1])
def test_truncated_gzip_is_reported_as_corrupt_not_used(tmp_path: Path, cut: int) -> None:
    packed = gzip.compress(PAYLOAD * 20, mtime=0)
    (tmp_path / "data.gz").write_bytes(packed[:cut])
    remote = remote_for(PAYLOAD * 20, name="data.gz", checksum_of="uncompressed")
    with pytest.raises(CorruptFileError, match=r"data\.gz: truncated or corrupt gzip"):
        fetch(remote, tmp_path)


def test_verify_checksum_false_skips_the_local_check(tmp_path: Path) -> None:
    (tmp_path / "file.bin").write_bytes(b"something else")
    remote = remote_for(PAYLOAD)
    assert fetch(remote, tmp_path, verify_checksum=False) == tmp_path / "file.bin"


# --------------------------------------------------------------------------- verification cache


def test_a_verified_file_is_not_hashed_again_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(PAYLOAD)
    remote = remote_for(PAYLOAD)
    verify(path, remote)
    assert len(records()) == 1
    assert visible_files(tmp_path) == ["file.bin"]  # the data folder itself is never written

    calls: list[Path] = []
    real_digest = checksum_module.payload_digest

    def counting_digest(p: Path, r: RemoteFile) -> tuple[str, int]:
        calls.append(Path(p))
        return real_digest(p, r)

    monkeypatch.setattr(checksum_module, "payload_digest", counting_digest)
    verify(path, remote)
    assert calls == []  # vouched for by the sidecar

    path.write_bytes(PAYLOAD + b"tampered")  # new size and mtime
    with pytest.raises(ChecksumError):
        verify(path, remote)
    assert calls == [path]


def test_a_change_in_place_with_the_old_size_and_mtime_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(PAYLOAD)
    remote = remote_for(PAYLOAD)
    verify(path, remote)
    st = path.stat()
    time.sleep(0.01)  # a later ctime
    with open(path, "r+b") as f:  # same inode, same size
        f.write(bytes([PAYLOAD[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime put back
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    with pytest.raises(ChecksumError):
        verify(path, remote)


def test_the_cache_is_keyed_by_the_expected_digest_too(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(PAYLOAD)
    verify(path, remote_for(PAYLOAD))
    with pytest.raises(ChecksumError):
        verify(path, remote_for(b"another registry entry", name="file.bin"))


def test_an_unwritable_sidecar_does_not_fail_verification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError("read-only folder")

    monkeypatch.setattr(checksum_module.tempfile, "mkstemp", refuse)
    path = tmp_path / "file.bin"
    path.write_bytes(PAYLOAD)
    verify(path, remote_for(PAYLOAD))
    assert records() == []


# --------------------------------------------------------------------------- offline


def test_offline_error_names_each_missing_file_url_checksum_and_folder(tmp_path: Path) -> None:
    present = remote_for(PAYLOAD, name="present.bin")
    (tmp_path / "present.bin").write_bytes(PAYLOAD)
    missing = [
        RemoteFile(
            name=f"part{i}.gz",
            urls=(f"https://mirror-a.example/part{i}.gz", f"https://mirror-b.example/part{i}.gz"),
            size=None,
            md5=None,
            sha256=sha(b"part %d" % i),
            checksum_of="uncompressed",
        )
        for i in range(3)
    ]
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "present.bin").write_bytes(PAYLOAD)
    with pytest.raises(MissingDataError) as info:
        fetch_all([present, *missing], folder, title="Toy")  # LAYERWISE_OFFLINE=1 (conftest)
    message = str(info.value)
    assert "LAYERWISE_OFFLINE" in message
    assert str(folder) in message
    assert message.startswith("Missing Toy files: part0.gz, part1.gz, part2.gz;")
    for remote in missing:
        assert remote.name in message
        assert f"uncompressed, as {remote.raw_name}" in message
        for url in remote.urls:
            assert url in message
        assert remote.sha256 in message
    assert "present.bin" not in message


def test_explicit_offline_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_server: LoopbackServer
) -> None:
    monkeypatch.setenv("LAYERWISE_OFFLINE", "0")
    remote = remote_for(PAYLOAD, http_server.serve("/file.bin", PAYLOAD))
    with pytest.raises(MissingDataError, match="downloading is disabled"):
        fetch(remote, tmp_path, offline=True)
    assert http_server.requests == []


# --------------------------------------------------------------------------- downloads


def test_download_from_loopback_is_verified_and_renamed_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_server: LoopbackServer
) -> None:
    monkeypatch.setenv("LAYERWISE_OFFLINE", "0")  # offline=None: the environment decides
    remote = remote_for(PAYLOAD, http_server.serve("/file.bin", PAYLOAD))
    folder = tmp_path / "new" / "folder"
    path = fetch(remote, folder, progress=False)
    assert path == folder / "file.bin"
    assert path.read_bytes() == PAYLOAD
    assert visible_files(folder) == ["file.bin"]  # no .part file left behind
    assert http_server.requests == ["/file.bin"]
    # Second call: the local copy is used.
    assert fetch(remote, folder, progress=False) == path
    assert http_server.requests == ["/file.bin"]


def test_download_with_progress_bar_enabled(
    tmp_path: Path, http_server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = remote_for(PAYLOAD, http_server.serve("/file.bin", PAYLOAD))
    fetch(remote, tmp_path, offline=False, progress=True)
    assert (tmp_path / "file.bin").read_bytes() == PAYLOAD
    assert "file.bin" in capsys.readouterr().err


@pytest.mark.parametrize("first_failure", ["404", "refused", "wrong bytes", "truncated"])
def test_a_failing_first_mirror_falls_back_to_the_second(
    tmp_path: Path, http_server: LoopbackServer, first_failure: str
) -> None:
    if first_failure == "404":
        first = http_server.url("/missing/file.bin")
    elif first_failure == "refused":
        first = closed_port_url("/file.bin")
    elif first_failure == "wrong bytes":
        first = http_server.serve("/a/file.bin", PAYLOAD[::-1])
    else:
        first = http_server.serve("/a/file.bin", PAYLOAD[:40], declared_length=len(PAYLOAD))
    second = http_server.serve("/b/file.bin", PAYLOAD)
    path = fetch(remote_for(PAYLOAD, first, second), tmp_path, offline=False, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert http_server.requests[-1] == "/b/file.bin"
    assert visible_files(tmp_path) == ["file.bin"]


def test_a_trickling_mirror_hits_its_deadline_and_the_next_one_is_used(
    tmp_path: Path, http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One byte every 0.2 s never trips the 30 s read timeout; the overall deadline (1 s here)
    # stops it, and the second mirror delivers.
    monkeypatch.setenv("LAYERWISE_DOWNLOAD_DEADLINE", "1")
    first = http_server.serve("/slow/file.bin", PAYLOAD, trickle=0.2)
    second = http_server.serve("/b/file.bin", PAYLOAD)
    start = time.monotonic()
    path = fetch(remote_for(PAYLOAD, first, second), tmp_path, offline=False, progress=False)
    assert time.monotonic() - start < 10
    assert path.read_bytes() == PAYLOAD
    assert http_server.requests == ["/slow/file.bin", "/b/file.bin"]
    assert visible_files(tmp_path) == ["file.bin"]


def test_a_trickling_only_mirror_fails_with_its_deadline_named(
    tmp_path: Path, http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYERWISE_DOWNLOAD_DEADLINE", "0.5")
    only = http_server.serve("/slow/file.bin", PAYLOAD, trickle=0.2)
    with pytest.raises(MissingDataError, match=r"deadline of \d+ s"):
        fetch(remote_for(PAYLOAD, only), tmp_path, offline=False, progress=False)
    assert visible_files(tmp_path) == []


@pytest.mark.parametrize("text", ["0", "-1", "soon", "nan"])
def test_a_bad_deadline_setting_is_named(
    tmp_path: Path, http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("LAYERWISE_DOWNLOAD_DEADLINE", text)
    url = http_server.serve("/a/file.bin", PAYLOAD)
    with pytest.raises(ConfigError, match="LAYERWISE_DOWNLOAD_DEADLINE must be"):
        fetch(remote_for(PAYLOAD, url), tmp_path, offline=False, progress=False)


def test_gz_download_is_checked_on_its_payload(tmp_path: Path, http_server: LoopbackServer) -> None:
    packed = gzip.compress(PAYLOAD, mtime=0)
    url = http_server.serve("/data.gz", packed)
    remote = remote_for(PAYLOAD, url, name="data.gz", checksum_of="uncompressed")
    path = fetch(remote, tmp_path, offline=False, progress=False)
    assert path.read_bytes() == packed


def test_when_every_mirror_fails_the_error_lists_each_reason_and_leaves_nothing(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    wrong = http_server.serve("/wrong/file.bin", b"not the data")
    gone = http_server.url("/gone/file.bin")
    refused = closed_port_url("/file.bin")
    cut = http_server.serve("/cut/file.bin", PAYLOAD[:40], declared_length=len(PAYLOAD))
    remote = remote_for(PAYLOAD, wrong, gone, refused, cut)
    with pytest.raises(MissingDataError) as info:
        fetch(remote, tmp_path, offline=False, progress=False)
    message = str(info.value)
    assert "every download failed" in message
    assert f"{wrong}: downloaded 12 bytes with sha256 {sha(b'not the data')}" in message
    assert f"{gone}: HTTP Error 404" in message
    assert f"{refused}: <urlopen error" in message
    assert f"{cut}: download stopped after 40 of {len(PAYLOAD)} bytes" in message
    assert remote.sha256 in message and str(tmp_path) in message
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_to_plain_http_is_refused_but_loopback_redirects_are_followed(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    to_http = http_server.serve(
        "/evil", status=302, headers={"Location": "http://example.invalid/file.bin"}
    )
    with pytest.raises(MissingDataError, match=r"refused redirect to 'http://example\.invalid"):
        fetch(remote_for(PAYLOAD, to_http), tmp_path, offline=False, progress=False)

    http_server.serve("/real/file.bin", PAYLOAD)
    moved = http_server.serve(
        "/moved", status=302, headers={"Location": http_server.url("/real/file.bin")}
    )
    path = fetch(remote_for(PAYLOAD, moved), tmp_path, offline=False, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_fetch_all_checks_local_files_before_downloading_any(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    good = remote_for(b"good", http_server.serve("/good", b"good"), name="good")
    bad = remote_for(b"bad", http_server.serve("/bad", b"bad"), name="bad")
    (tmp_path / "bad").write_bytes(b"tampered")
    with pytest.raises(ChecksumError, match="bad"):
        fetch_all([good, bad], tmp_path, offline=False, progress=False)
    assert http_server.requests == []

    (tmp_path / "bad").write_bytes(b"bad")
    paths = fetch_all([good, bad], tmp_path, offline=False, progress=False)
    assert paths == [tmp_path / "good", tmp_path / "bad"]
    assert http_server.requests == ["/good"]
