"""The restricted unpickler: CIFAR-10's own pickles load, anything else is refused unrun."""

from __future__ import annotations

import os
import pickle
import pickletools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerwise.data import UnsafePickleError, load_CIFAR_batch
from layerwise.data.safe_pickle import safe_loads


class _CallOnLoad:
    """Pickles as a call of ``func(*args)``: what a malicious file does."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.func, self.args


def _sentinel_command(sentinel: Path) -> str:
    return f"touch {sentinel}"


def _evil_pickles(sentinel: Path) -> dict[str, bytes]:
    command = _sentinel_command(sentinel).encode()
    code = f"open({str(sentinel)!r}, 'w').write('pwned')"
    return {
        # Protocol 0 text, as an attacker would hand-write it.
        "os.system": b"cos\nsystem\n(S'" + command + b"'\ntR.",
        "posix.system": b"cposix\nsystem\n(S'" + command + b"'\ntR.",
        # Python 2's name for builtins.
        "__builtin__.eval": b'c__builtin__\neval\n(S"' + code.encode() + b'"\ntR.',
        # Protocol 4 uses STACK_GLOBAL instead of GLOBAL: it must be stopped as well.
        "builtins.eval": pickle.dumps(_CallOnLoad(eval, code), protocol=4),
        # Protocol 2 writes builtins under its Python 2 name (fix_imports).
        "__builtin__.exec": pickle.dumps(_CallOnLoad(exec, code), protocol=2),
        # An allowed module but another name.
        "numpy.load": b"cnumpy\nload\n(S'" + str(sentinel).encode() + b"'\ntR.",
    }


@pytest.mark.parametrize(
    "which",
    [
        "os.system",
        "posix.system",
        "__builtin__.eval",
        "builtins.eval",
        "__builtin__.exec",
        "numpy.load",
    ],
)
def test_pickles_that_run_code_are_refused_before_running_it(tmp_path: Path, which: str) -> None:
    sentinel = tmp_path / "sentinel"
    data = _evil_pickles(sentinel)[which]
    with pytest.raises(UnsafePickleError, match=rf"refused to unpickle global {which}\b"):
        safe_loads(data)
    assert not sentinel.exists()


def test_the_payloads_are_real(tmp_path: Path) -> None:
    """Control: an unrestricted unpickler does run them (so the refusal above means something)."""
    sentinel = tmp_path / "sentinel"
    pickle.loads(_evil_pickles(sentinel)["builtins.eval"])  # deliberate: the control case
    assert sentinel.read_text() == "pwned"
    sentinel.unlink()
    if os.name == "posix":
        pickle.loads(_evil_pickles(sentinel)["os.system"])
        assert sentinel.exists()


def test_a_malicious_batch_file_is_refused_by_the_cifar_loader(tmp_path: Path) -> None:
    sentinel = tmp_path / "sentinel"
    batch = tmp_path / "data_batch_1"
    batch.write_bytes(_evil_pickles(sentinel)["os.system"])
    with pytest.raises(UnsafePickleError, match=r"os\.system"):
        load_CIFAR_batch(batch)
    assert not sentinel.exists()


def test_persistent_ids_are_refused() -> None:
    with pytest.raises(UnsafePickleError, match="persistent id"):
        safe_loads(b"\x80\x02U\x01xQ.")  # BINPERSID


def test_a_python2_numpy1_batch_loads_with_str_keys(
    py2_pickler: Callable[[Any], bytes],
) -> None:
    rows = np.random.default_rng(3).integers(0, 256, size=(4, 3072), dtype=np.uint8)
    obj = safe_loads(
        py2_pickler(
            {
                b"batch_label": b"training batch 1 of 5",
                b"labels": [3, 1, 4, 1],
                b"data": rows,
                b"filenames": [b"caf\xe9.png"],
            }
        )
    )
    assert list(obj) == ["batch_label", "labels", "data", "filenames"]
    assert obj["batch_label"] == "training batch 1 of 5"
    assert obj["labels"] == [3, 1, 4, 1]
    assert obj["filenames"] == ["caf\u00e9.png"]
    assert obj["data"].dtype == np.uint8
    np.testing.assert_array_equal(obj["data"], rows)


def test_the_python2_fixture_pickles_like_the_official_files(
    py2_pickler: Callable[[Any], bytes],
) -> None:
    """The test builder must reference NumPy 1 names and write py2 strings only."""
    data = py2_pickler({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]})
    globals_seen = set()
    opcodes = set()
    for opcode, arg, _ in pickletools.genops(data):
        opcodes.add(opcode.name)
        if opcode.name == "GLOBAL":
            globals_seen.add(arg)
    assert data[:2] == b"\x80\x02"
    assert globals_seen == {
        "numpy.core.multiarray _reconstruct",
        "numpy ndarray",
        "numpy dtype",
    }
    assert not opcodes & {"BINUNICODE", "SHORT_BINUNICODE", "BINBYTES", "SHORT_BINBYTES"}


def test_a_numpy2_pickle_of_an_array_loads_too() -> None:
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    data = pickle.dumps({"data": array}, protocol=4)
    assert b"numpy._core" in data or b"numpy.core" in data
    np.testing.assert_array_equal(safe_loads(data)["data"], array)


def test_globals_not_in_cifar_files_are_refused_even_if_harmless() -> None:
    # A NumPy 2 protocol-2 pickle wraps the bytes in _codecs.encode: not needed, not allowed.
    data = pickle.dumps(np.arange(3, dtype=np.uint8), protocol=2)
    with pytest.raises(UnsafePickleError, match=r"_codecs\.encode"):
        safe_loads(data)
    with pytest.raises(UnsafePickleError, match=r"collections\.OrderedDict"):
        safe_loads(pickle.dumps(__import__("collections").OrderedDict(), protocol=4))
