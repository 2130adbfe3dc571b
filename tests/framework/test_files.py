"""Atomic writes: a full disk is one line naming the file, and the old file survives it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from framework.errors import StateError
from framework.files import is_disk_full, write_text, write_with


def fill_from_dev_full(temporary: Path) -> None:
    """A writer that hits the kernel's real ENOSPC, as a library writing a full disk does."""
    with open("/dev/full", "wb") as handle:
        handle.write(b"x" * 65536)
        handle.flush()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_one_line_naming_the_file_and_the_old_file_survives(
    tmp_path: Path,
) -> None:
    target = tmp_path / "data" / "raw.parquet"
    write_text(target, "the previous table")
    with pytest.raises(StateError) as caught:
        write_with(target, fill_from_dev_full)
    message = str(caught.value)
    assert message.startswith(f"no space left on device writing {target}")
    assert "paths.data" in message and "\n" not in message
    assert target.read_text() == "the previous table"
    assert [p.name for p in target.parent.iterdir()] == ["raw.parquet"]  # no temp file left


def test_a_library_that_words_enospc_without_an_errno_is_still_a_full_disk() -> None:
    assert is_disk_full(OSError("IOError: [Errno 28] No space left on device"))
    assert not is_disk_full(OSError("Permission denied"))


def test_other_write_errors_keep_their_own_type(tmp_path: Path) -> None:
    def refuse(temporary: Path) -> None:
        raise PermissionError(13, "Permission denied", str(temporary))

    with pytest.raises(PermissionError):
        write_with(tmp_path / "out.txt", refuse)


def registered(tmp_path: Path, content: bytes | None):
    """A real local store and registry holding version 1 of 'churn'; ``None``: never stored."""
    from framework.files import sha256_file
    from plugins.registries.local import LocalRegistry
    from plugins.stores.local import LocalStore

    store = LocalStore(root=str(tmp_path / "artifacts"))
    model = tmp_path / "model.skops"
    model.write_bytes(content or b"a model that was never stored")
    sha256 = sha256_file(model)
    if content is not None:
        store.put_artifact(path=model, sha256=sha256)
    registry = LocalRegistry(path=str(tmp_path / "registry.db"))
    version = registry.register_model(
        name="churn", sha256=sha256, run_id="r1", lineage={}, metrics={}
    )
    return store, version


def test_a_registered_version_whose_artifact_is_gone_says_so(tmp_path: Path) -> None:
    from framework.errors import ArtifactError
    from framework.files import require_artifact

    store, version = registered(tmp_path, None)
    with pytest.raises(ArtifactError) as raised:
        require_artifact(store.get_artifact, version)
    message = str(raised.value)
    assert message.startswith(
        "model 'churn' version 1 is registered, but its artifact cannot be used: artifact "
    )
    assert "is not in the store at" in message and "re-run the pipeline" in message


def test_a_stored_artifact_is_returned(tmp_path: Path) -> None:
    from framework.files import require_artifact

    store, version = registered(tmp_path, b"model bytes")
    assert require_artifact(store.get_artifact, version).read_bytes() == b"model bytes"
