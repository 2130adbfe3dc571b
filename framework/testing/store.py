"""The artifact-store contract: files kept by content, returned intact, absent ones refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from framework.errors import ArtifactError
from framework.files import sha256_file
from framework.testing.host import host_with


class StoreContract:
    """Subclass as ``Test...`` and provide a ``plugin`` fixture returning a fresh, empty store."""

    @pytest.fixture
    def plugin(self) -> Any:
        raise NotImplementedError("define a `plugin` fixture returning a fresh, empty store")

    @pytest.fixture
    def hook(self, plugin: Any) -> Any:
        return host_with("store", plugin)

    def artifact(self, tmp_path: Path, content: bytes, name: str = "model.bin") -> Path:
        path = tmp_path / "outputs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def test_a_stored_file_comes_back_byte_for_byte(self, hook: Any, tmp_path: Path) -> None:
        content = bytes(range(256)) * 1000
        path = self.artifact(tmp_path, content)
        digest = sha256_file(path)
        uri = hook.put_artifact(path=path, sha256=digest)
        assert isinstance(uri, str) and uri
        path.unlink()  # the store must not depend on the original file
        fetched = Path(hook.get_artifact(sha256=digest))
        assert fetched.read_bytes() == content

    def test_storing_the_same_content_twice_returns_the_same_uri(
        self, hook: Any, tmp_path: Path
    ) -> None:
        first = self.artifact(tmp_path, b"same", "a.bin")
        second = self.artifact(tmp_path, b"same", "b.bin")
        digest = sha256_file(first)
        assert hook.put_artifact(path=first, sha256=digest) == hook.put_artifact(
            path=second, sha256=digest
        )

    def test_different_contents_are_kept_apart(self, hook: Any, tmp_path: Path) -> None:
        one = self.artifact(tmp_path, b"one", "one.bin")
        two = self.artifact(tmp_path, b"two", "two.bin")
        digests = [sha256_file(one), sha256_file(two)]
        for path, digest in zip((one, two), digests, strict=True):
            hook.put_artifact(path=path, sha256=digest)
        assert Path(hook.get_artifact(sha256=digests[0])).read_bytes() == b"one"
        assert Path(hook.get_artifact(sha256=digests[1])).read_bytes() == b"two"

    def test_an_unknown_artifact_is_an_artifact_error(self, hook: Any) -> None:
        with pytest.raises(ArtifactError) as raised:
            hook.get_artifact(sha256="0" * 64)
        assert "\n" not in str(raised.value)

    def test_a_file_that_does_not_match_its_digest_is_refused(
        self, hook: Any, tmp_path: Path
    ) -> None:
        path = self.artifact(tmp_path, b"changed while being stored")
        with pytest.raises(ArtifactError):
            hook.put_artifact(path=path, sha256="1" * 64)
