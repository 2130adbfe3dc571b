"""The ``fsspec`` store on a local directory URL and on fsspec's memory filesystem: the store
contract, corruption refused, and credentials never shown."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

import fsspec
import pytest

from framework.errors import ArtifactError
from framework.files import sha256_file
from framework.testing import StoreContract
from plugins.stores.fsspec import FsspecStore


def memory_url() -> str:
    return f"memory://bucle-tests-{uuid.uuid4().hex}/artifacts"  # one bucket per test


class TestFsspecStoreOnADirectoryContract(StoreContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> FsspecStore:
        return FsspecStore(url=(tmp_path / "remote").as_uri(), cache=str(tmp_path / "cache"))


class TestFsspecStoreInMemoryContract(StoreContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> FsspecStore:
        return FsspecStore(url=memory_url(), cache=str(tmp_path / "cache"))


def stored(tmp_path: Path, url: str, content: bytes = b"weights") -> tuple[FsspecStore, str, str]:
    source = tmp_path / "model.bin"
    source.write_bytes(content)
    store = FsspecStore(url=url, cache=str(tmp_path / "cache"))
    digest = sha256_file(source)
    return store, digest, store.put_artifact(path=source, sha256=digest)


def test_artifacts_are_laid_out_by_digest_under_the_url(tmp_path: Path) -> None:
    url = (tmp_path / "remote").as_uri()
    _, digest, uri = stored(tmp_path, url)
    assert (tmp_path / "remote" / digest[:2] / digest[2:]).read_bytes() == b"weights"
    assert uri == f"{url}/{digest[:2]}/{digest[2:]}"
    assert not [p for p in (tmp_path / "remote").rglob(".incoming-*")]  # nothing half-written


def test_a_corrupt_remote_copy_is_refused_and_storing_again_repairs_it(tmp_path: Path) -> None:
    url = memory_url()
    store, digest, _ = stored(tmp_path, url)
    memory = fsspec.filesystem("memory")
    remote = f"{url.removeprefix('memory://')}/{digest[:2]}/{digest[2:]}"
    memory.pipe(remote, b"tampered")
    with pytest.raises(ArtifactError, match="corrupt"):
        store.get_artifact(sha256=digest)
    assert not (tmp_path / "cache" / digest[:2] / digest[2:]).exists()  # never cached
    store.put_artifact(path=tmp_path / "model.bin", sha256=digest)
    assert store.get_artifact(sha256=digest).read_bytes() == b"weights"


def test_a_tampered_cache_entry_is_fetched_again(tmp_path: Path) -> None:
    store, digest, _ = stored(tmp_path, memory_url())
    cached = store.get_artifact(sha256=digest)
    cached.write_bytes(b"tampered")
    assert store.get_artifact(sha256=digest).read_bytes() == b"weights"


def test_credentials_never_reach_a_message_or_a_uri(tmp_path: Path) -> None:
    secret = "hunter2"
    url = (tmp_path / "remote").as_uri().replace("file://", f"file://user:{secret}@")
    store = FsspecStore(url=memory_url(), storage_options={"password": secret})
    assert secret not in repr(store)
    with pytest.raises(ArtifactError) as missing:
        store.get_artifact(sha256="0" * 64)
    assert secret not in str(missing.value)
    from framework.urls import masked, masked_text

    assert secret not in masked(url) and secret not in masked_text(f"cannot open {url}: denied")


@pytest.mark.slow
def test_a_run_keeps_its_artifacts_at_the_url_and_records_no_credential(
    small_project: Path, run, tmp_path: Path
) -> None:
    remote = tmp_path / "remote-artifacts"
    overrides = [
        "store=fsspec",
        f"store.url={remote.as_uri()}",
        "+store.storage_options.password=${oc.env:STORE_PASSWORD}",  # never a literal
    ]
    env = {"STORE_PASSWORD": "hunter2"}
    run(["bucle", "run", *overrides], small_project, env)
    run(["bucle", "params", *overrides], small_project, env)
    assert "hunter2" not in (small_project / "params.yaml").read_text()
    stored_files = [p for p in remote.rglob("*") if p.is_file()]
    assert len(stored_files) >= 3  # model, reference profile, model card
    # read back through fsspec
    card = run(["bucle", "models", "card", "1"], small_project, env).stdout
    assert "churn" in card
    recorded = b"".join(p.read_bytes() for p in (small_project / ".bucle").glob("*.db"))
    assert b"hunter2" not in recorded
    assert remote.as_uri().encode() in recorded  # the lineage names where the model is


def test_a_source_changed_after_its_hash_was_checked_is_never_uploaded_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What is uploaded under a digest is the bytes that were hashed, not the file read again."""
    import hashlib

    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    digest = sha256_file(source)
    store = FsspecStore(url=(tmp_path / "remote").as_uri(), cache=str(tmp_path / "cache"))
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
    remote = tmp_path / "remote" / digest[:2] / digest[2:]
    assert not remote.exists() or sha256_file(remote) == digest
