"""read_idx: round trips in every IDX type, and each way a file can be broken."""

from __future__ import annotations

import gzip
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layerwise.data import CorruptFileError, MissingDataError, read_idx

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def _write(path: Path, data: bytes, gz: bool) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


@settings(
    max_examples=60,
    deadline=None,
    # The autouse environment fixture only sets variables; it is the same for every example.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    array=st.sampled_from(IDX_DTYPES).flatmap(
        lambda dtype: hnp.arrays(
            dtype, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)
        )
    ),
    gz=st.booleans(),
)
def test_round_trip_of_random_shapes_and_contents(
    idx_writer: Callable[..., Path], array: np.ndarray, gz: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = idx_writer(Path(folder) / "x.idx", array, gz=gz)
        back = read_idx(path)
    assert back.shape == array.shape
    assert back.dtype == array.dtype.newbyteorder("=")
    assert back.flags.c_contiguous and back.flags.writeable
    np.testing.assert_array_equal(back, array)  # NaNs compare equal here


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_shaped_header_is_parsed_big_endian(tmp_path: Path, gz: bool) -> None:
    images = np.arange(3 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(3, 28, 28)
    data = bytes.fromhex("00000803 00000003 0000001c 0000001c") + images.tobytes()
    back = read_idx(_write(tmp_path / "images", data, gz), expected_magic=0x00000803)
    np.testing.assert_array_equal(back, images)

    labels = bytes.fromhex("00000801 00000102") + bytes(range(256)) + bytes(2)
    back = read_idx(_write(tmp_path / "labels", labels, gz), expected_magic=0x00000801)
    assert back.shape == (258,)  # 0x0102, not 0x0201: the sizes are big-endian
    assert back[255] == 255


@pytest.mark.parametrize(
    "header",
    [
        "01000803",  # first byte not zero
        "00010803",  # second byte not zero
        "00000703",  # unknown type code
        "00000800",  # no dimensions
        "1f8b0803",  # looks like a gzip start but is a raw file
    ],
)
def test_bad_magic_is_corrupt_and_named(tmp_path: Path, header: str) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(bytes.fromhex(header) + bytes(64))
    with pytest.raises(
        CorruptFileError,
        match=rf"bad\.idx: (bad IDX magic number 0x{header}|truncated or corrupt gzip)",
    ):
        read_idx(path)


def test_unexpected_magic_is_reported_with_both_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path / "labels", bytes.fromhex("00000801 00000002") + b"\x01\x02", False)
    with pytest.raises(CorruptFileError, match="0x00000801, expected 0x00000803"):
        read_idx(path, expected_magic=0x00000803)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_payload_is_corrupt_naming_the_file_and_sizes(tmp_path: Path, gz: bool) -> None:
    data = bytes.fromhex("00000803 00000002 0000001c 0000001c") + bytes(2 * 784 - 1)
    path = _write(tmp_path / "short-images", data, gz)
    with pytest.raises(CorruptFileError, match=r"short-images: truncated IDX payload.*1568.*1567"):
        read_idx(path)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\x00\x00", "2 bytes, too short for an IDX header"),
        (bytes.fromhex("00000803 00000002 0000001c"), "truncated IDX header"),
        (bytes.fromhex("00000801 00000002") + b"\x01\x02\x03", "unexpected bytes after"),
    ],
)
def test_truncated_header_and_trailing_bytes_are_corrupt(
    tmp_path: Path, data: bytes, fragment: str
) -> None:
    with pytest.raises(CorruptFileError, match=fragment):
        read_idx(_write(tmp_path / "f.idx", data, False))


def test_truncated_gzip_is_corrupt_never_a_short_array(tmp_path: Path) -> None:
    data = bytes.fromhex("00000801 00002710") + bytes(10_000)
    packed = gzip.compress(data, mtime=0)
    path = tmp_path / "labels.gz"
    path.write_bytes(packed[: len(packed) - 6])  # the CRC/length trailer is cut
    with pytest.raises(CorruptFileError, match=r"labels\.gz: truncated or corrupt gzip"):
        read_idx(path)


def test_a_huge_claimed_size_is_corrupt_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "huge.idx"
    path.write_bytes(bytes.fromhex("0000080e") + struct.pack(">4I", *([0xFFFFFFFF] * 4)) + b"x")
    with pytest.raises(CorruptFileError, match=r"huge\.idx"):
        read_idx(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="nothing-here"):
        read_idx(tmp_path / "nothing-here")
