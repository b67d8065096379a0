"""The file registry: entries as published, and RemoteFile's own validation."""

from __future__ import annotations

import dataclasses

import pytest

from layerwise.data import DATASETS, REGISTRY, RemoteFile
from layerwise.data.registry import CIFAR10_ARCHIVE, MNIST_FILES, is_allowed_url

SHA = "0" * 64


def test_cifar10_archive_entry_matches_the_published_values() -> None:
    remote = REGISTRY["cifar10"].files[0]
    assert remote is CIFAR10_ARCHIVE
    assert remote.name == "cifar-10-python.tar.gz"
    assert remote.urls == ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)
    assert remote.size == 170_498_071
    assert remote.md5 == "c58f30108f718f92721af3b95e74349a"
    assert remote.sha256 == "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
    assert remote.checksum_of == "file"
    assert remote.local_names == ("cifar-10-python.tar.gz",)


def test_mnist_entries_check_the_uncompressed_payload_and_try_the_mirrors_in_order() -> None:
    assert REGISTRY["mnist"].files == MNIST_FILES
    by_name = {remote.name: remote for remote in MNIST_FILES}
    assert list(by_name) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    assert {name: remote.sha256 for name, remote in by_name.items()} == {
        "train-images-idx3-ubyte.gz": (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
        ),
        "train-labels-idx1-ubyte.gz": (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
    }
    for remote in MNIST_FILES:
        assert remote.checksum_of == "uncompressed"
        assert remote.urls == (
            f"https://ossci-datasets.s3.amazonaws.com/mnist/{remote.name}",
            f"https://storage.googleapis.com/cvdf-datasets/mnist/{remote.name}",
        )
        assert remote.local_names == (remote.name, remote.name.removesuffix(".gz"))
    # The sizes are those the IDX headers imply: magic + dims + one byte per element.
    sizes = [remote.size for remote in MNIST_FILES]
    assert sizes == [16 + 60000 * 784, 8 + 60000, 16 + 10000 * 784, 8 + 10000]


def test_registry_is_read_only_and_datasets_lists_every_loader_name() -> None:
    with pytest.raises(TypeError):
        REGISTRY["other"] = REGISTRY["mnist"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CIFAR10_ARCHIVE.sha256 = SHA  # type: ignore[misc]
    assert set(DATASETS) == {"digits", *REGISTRY}


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://example.org/a.gz", True),
        ("http://example.org/a.gz", False),
        ("http://127.0.0.1:8000/a.gz", True),
        ("http://localhost/a.gz", True),
        ("http://[::1]:80/a.gz", True),
        ("http://127.0.0.1.example.org/a.gz", False),
        ("ftp://example.org/a.gz", False),
        ("file:///etc/passwd", False),
        ("https:///no-host", False),
    ],
)
def test_only_https_or_loopback_urls_are_allowed(url: str, allowed: bool) -> None:
    assert is_allowed_url(url) is allowed


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"name": "../escape.gz"}, "plain file name"),
        ({"name": ""}, "plain file name"),
        ({"urls": ()}, "non-empty tuple"),
        ({"urls": ["https://example.org/a"]}, "non-empty tuple"),
        ({"urls": ("http://example.org/a",)}, "'http://example.org/a'"),
        ({"size": -1}, "-1"),
        ({"md5": "xyz"}, "'xyz'"),
        ({"sha256": "ABC"}, "'ABC'"),
        ({"sha256": "A" * 64}, "lower-case"),
        ({"checksum_of": "gzip"}, "'gzip'"),
    ],
)
def test_remote_file_rejects_bad_fields_naming_the_value(
    changes: dict[str, object], fragment: str
) -> None:
    fields: dict[str, object] = {
        "name": "a.gz",
        "urls": ("https://example.org/a.gz",),
        "size": 1,
        "md5": None,
        "sha256": SHA,
        "checksum_of": "file",
    }
    fields.update(changes)
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        RemoteFile(**fields)  # type: ignore[arg-type]


def test_raw_name_only_for_uncompressed_checksums_of_gz_files() -> None:
    remote = RemoteFile("x.gz", ("https://example.org/x.gz",), None, None, SHA, "uncompressed")
    assert remote.raw_name == "x"
    plain = dataclasses.replace(remote, checksum_of="file")
    assert plain.raw_name is None
    assert plain.local_names == ("x.gz",)
