"""The ``local`` store: a content-addressed directory, ``<root>/ab/cdef…`` by sha256.

Writes go to a temporary file and are renamed into place, so a file under its hash is always
whole; the bytes written are the very bytes whose hash was checked (read once, so a source that
changes while it is stored cannot slip in under the old hash). Reads check the hash again, so a
corrupted file is refused rather than used; whoever loads the file checks the bytes it loads once
more (:func:`~framework.modeling.artifact.load_model`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from framework import hookimpl
from framework.errors import ArtifactError
from framework.files import atomic_path, digest_key, sha256_file


class LocalStore:
    """Keeps artifacts under ``store.root``."""

    def __init__(self, root: str = ".bucle/artifacts") -> None:
        self.root = Path(root)

    def _location(self, sha256: str) -> Path:
        return self.root / digest_key(sha256)

    @hookimpl
    def put_artifact(self, path: Path, sha256: str) -> str:
        location = self._location(sha256)
        if not location.exists() or sha256_file(location) != sha256:
            data = Path(path).read_bytes()
            actual = hashlib.sha256(data).hexdigest()
            if actual != sha256:
                raise ArtifactError(
                    f"{path} has sha256 {actual[:12]}…, not {sha256[:12]}…; it changed while "
                    "being stored — store it again"
                )
            with atomic_path(location) as temporary:
                temporary.write_bytes(data)
        return location.resolve().as_uri()

    @hookimpl
    def get_artifact(self, sha256: str) -> Path:
        location = self._location(sha256)
        if not location.is_file():
            raise ArtifactError(
                f"artifact {sha256[:12]}… is not in the store at {self.root}; "
                "re-run the pipeline that produced it"
            )
        actual = sha256_file(location)
        if actual != sha256:
            raise ArtifactError(
                f"artifact {location} is corrupt: its sha256 is {actual[:12]}…, expected "
                f"{sha256[:12]}…; delete it and re-run the pipeline that produced it"
            )
        return location
