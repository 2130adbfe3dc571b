"""The local store keeps files by content and refuses corrupted ones."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from framework.errors import ArtifactError
from framework.files import sha256_file
from framework.testing import StoreContract
from plugins.stores.local import LocalStore


def _store_with_source(tmp_path: Path) -> tuple[LocalStore, Path, str]:
    """A fresh store and a file to put in it, with the file's digest."""
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    return LocalStore(root=str(tmp_path / "artifacts")), source, sha256_file(source)


def test_put_then_get_returns_the_same_bytes(tmp_path: Path) -> None:
    store, source, digest = _store_with_source(tmp_path)
    uri = store.put_artifact(path=source, sha256=digest)
    assert uri == store.put_artifact(path=source, sha256=digest)
    assert store.get_artifact(sha256=digest).read_bytes() == b"weights"


def test_a_corrupted_artifact_is_refused(tmp_path: Path) -> None:
    store, source, digest = _store_with_source(tmp_path)
    stored = store.put_artifact(path=source, sha256=digest)
    Path(stored.removeprefix("file://")).write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match="corrupt"):
        store.get_artifact(sha256=digest)
    # Storing the good file again repairs it.
    store.put_artifact(path=source, sha256=digest)
    assert store.get_artifact(sha256=digest).read_bytes() == b"weights"


def test_a_missing_artifact_and_a_bad_digest_are_clear(tmp_path: Path) -> None:
    store = LocalStore(root=str(tmp_path / "artifacts"))
    with pytest.raises(ArtifactError, match="not in the store"):
        store.get_artifact(sha256="0" * 64)
    with pytest.raises(ArtifactError, match="not a sha256"):
        store.get_artifact(sha256="../../etc/passwd")


class TestLocalStoreContract(StoreContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> LocalStore:
        return LocalStore(root=str(tmp_path / "artifacts"))


def test_a_source_changed_after_its_hash_was_checked_is_never_stored_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What lands under a digest is the bytes that were hashed, not the file read again later."""
    import hashlib

    store, source, digest = _store_with_source(tmp_path)
    real_sha256 = hashlib.sha256

    class SwapAfterHashing:
        def __init__(self, data: bytes = b"") -> None:
            self.inner = real_sha256(data)

        def update(self, data: bytes) -> None:
            self.inner.update(data)

        def hexdigest(self) -> str:
            source.write_bytes(b"swapped")  # an attacker racing the store, right after the check
            return self.inner.hexdigest()

    monkeypatch.setattr(hashlib, "sha256", SwapAfterHashing)
    with contextlib.suppress(ArtifactError):
        store.put_artifact(path=source, sha256=digest)
    monkeypatch.undo()
    location = tmp_path / "artifacts" / digest[:2] / digest[2:]
    assert not location.exists() or sha256_file(location) == digest
