"""Data folder resolution and the offline switch."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerwise.data.paths import cache_root, is_offline, resolve_data_dir

MARKERS = ("a.gz", "a")


def test_default_is_the_per_dataset_subfolder_of_the_xdg_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "layerwise"
    assert resolve_data_dir("mnist", MARKERS) == tmp_path / "layerwise" / "mnist"


def test_cache_falls_back_to_home_when_xdg_is_unset_or_relative(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == tmp_path / ".cache" / "layerwise"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert cache_root() == tmp_path / ".cache" / "layerwise"


def test_explicit_folder_beats_the_environment_which_beats_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_dir, arg_dir = tmp_path / "env", tmp_path / "arg"
    monkeypatch.setenv("LAYERWISE_DATA_DIR", str(env_dir))
    assert resolve_data_dir("mnist", MARKERS) == env_dir / "mnist"
    assert resolve_data_dir("mnist", MARKERS, arg_dir) == arg_dir / "mnist"
    assert resolve_data_dir("mnist", MARKERS, str(arg_dir)) == arg_dir / "mnist"


@pytest.mark.parametrize("marker", MARKERS)
def test_a_user_folder_that_holds_the_files_is_used_as_is(tmp_path: Path, marker: str) -> None:
    (tmp_path / marker).write_bytes(b"")
    assert resolve_data_dir("mnist", MARKERS, tmp_path) == tmp_path


def test_the_cache_always_uses_the_subfolder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "layerwise").mkdir()
    (tmp_path / "layerwise" / "a.gz").write_bytes(b"")
    assert resolve_data_dir("mnist", MARKERS) == tmp_path / "layerwise" / "mnist"


def test_a_file_or_empty_string_as_folder_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    with pytest.raises(ValueError, match=r"data_dir=.*file\.txt.* is a file; expected a folder"):
        resolve_data_dir("mnist", MARKERS, not_a_dir)
    monkeypatch.setenv("LAYERWISE_DATA_DIR", str(not_a_dir))
    with pytest.raises(ValueError, match="LAYERWISE_DATA_DIR"):
        resolve_data_dir("mnist", MARKERS)
    with pytest.raises(ValueError, match="data_dir is empty"):
        resolve_data_dir("mnist", MARKERS, "  ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("YES", True), (" on ", True), ("0", False), ("", False)],
)
def test_offline_switch(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("LAYERWISE_OFFLINE", value)
    assert is_offline() is expected


def test_offline_unset_means_online_and_nonsense_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LAYERWISE_OFFLINE")
    assert is_offline() is False
    monkeypatch.setenv("LAYERWISE_OFFLINE", "maybe")
    with pytest.raises(ValueError, match="LAYERWISE_OFFLINE='maybe'"):
        is_offline()
