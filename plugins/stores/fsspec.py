"""The ``fsspec`` store: content-addressed artifacts at any fsspec URL (``s3://``, ``gs://``,
``az://``, ``sftp://``, ``file://``, ``memory://``...).

The layout is the local store's, ``<url>/ab/cdef…`` by sha256. A file is uploaded under a
temporary name and moved into place, so a reader never sees half an artifact where the
filesystem can move (object stores write a whole object per upload anyway). Reads go through a
local cache, checked against the sha256 on every read, so a corrupt copy, remote or cached, is
refused and never served.

Credentials belong in ``storage_options`` (best interpolated from the environment:
``key: ${oc.env:AWS_ACCESS_KEY_ID}``) and are handed to fsspec only: messages and the URIs this
store returns mask any ``user:password@`` in the URL and never include ``storage_options``.
The protocol's own package (``s3fs``, ``gcsfs``, ``adlfs``...) must be installed; fsspec
itself comes with ``pip install bucle[fsspec]``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from framework import hookimpl
from framework.errors import ArtifactError, ConfigError, PluginError
from framework.files import atomic_path, digest_key, sha256_file
from framework.urls import masked, masked_text

CHUNK = 1 << 20


class FsspecStore:
    """Keeps artifacts under ``store.url`` through fsspec, with a verified local read cache."""

    def __init__(
        self,
        url: str,
        storage_options: Mapping[str, Any] | None = None,
        cache: str = ".bucle/artifact-cache",
    ) -> None:
        try:
            import fsspec
        except ImportError as error:
            raise PluginError(
                f"store 'fsspec' needs fsspec, which is not installed ({error.name}); "
                "install it with `pip install bucle[fsspec]`"
            ) from None
        if not isinstance(url, str) or not url.strip():
            raise ConfigError(f"store.url={url!r} is not a URL; set store.url=s3://bucket/path")
        self.url = url.rstrip("/")
        self.shown = masked(self.url)
        self.cache = Path(cache)
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url, **dict(storage_options or {}))
        except (ImportError, ValueError) as error:
            raise PluginError(
                f"store.url={self.shown!r} cannot be opened: {masked_text(str(error))}; "
                "install the filesystem's package (s3fs, gcsfs, adlfs...) or fix the URL"
            ) from None

    def __repr__(self) -> str:
        return f"FsspecStore(url={self.shown!r})"  # never the storage options

    def _remote(self, sha256: str) -> str:
        return f"{self.root.rstrip('/')}/{digest_key(sha256)}"

    def _uri(self, sha256: str) -> str:
        return masked(self.fs.unstrip_protocol(self._remote(sha256)))

    @hookimpl
    def put_artifact(self, path: Path, sha256: str) -> str:
        remote = self._remote(sha256)
        # Read once: what is uploaded is exactly what was hashed, even if the file changes now.
        data = Path(path).read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise ArtifactError(
                f"{path} has sha256 {actual[:12]}…, not {sha256[:12]}…; it changed while "
                "being stored — store it again"
            )
        if self._remote_digest(remote) == sha256:
            return self._uri(sha256)
        parent = remote.rsplit("/", 1)[0]
        staging = f"{parent}/.incoming-{uuid.uuid4().hex}"
        self._io("store", lambda: self.fs.makedirs(parent, exist_ok=True))
        self._io("store", lambda: self.fs.pipe_file(staging, data))
        self._io("store", lambda: self.fs.mv(staging, remote))
        return self._uri(sha256)

    @hookimpl
    def get_artifact(self, sha256: str) -> Path:
        cached = self.cache / digest_key(sha256)
        if cached.is_file() and sha256_file(cached) == sha256:
            return cached
        remote = self._remote(sha256)
        if not self._io("read", lambda: self.fs.exists(remote)):
            raise ArtifactError(
                f"artifact {sha256[:12]}… is not in the store at {self.shown}; "
                "re-run the pipeline that produced it"
            )
        with atomic_path(cached) as temporary:
            self._io("read", lambda: self.fs.get_file(remote, str(temporary)))
            actual = sha256_file(temporary)
            if actual != sha256:
                raise ArtifactError(
                    f"artifact {self._uri(sha256)} is corrupt: its sha256 is {actual[:12]}…, "
                    f"expected {sha256[:12]}…; delete it and re-run the pipeline that produced it"
                )
        return cached

    def _remote_digest(self, remote: str) -> str | None:
        """The sha256 of what is stored at ``remote``, or None when nothing is."""
        if not self._io("read", lambda: self.fs.exists(remote)):
            return None
        digest = hashlib.sha256()
        with self._io("read", lambda: self.fs.open(remote, "rb")) as file:
            for block in iter(lambda: file.read(CHUNK), b""):
                digest.update(block)
        return digest.hexdigest()

    def _io(self, what: str, action: Any) -> Any:
        try:
            return action()
        except (OSError, ValueError) as error:
            raise ArtifactError(
                f"store 'fsspec' could not {what} at {self.shown}: "
                f"{type(error).__name__}: {masked_text(str(error))}; check the URL, the "
                "credentials in store.storage_options and that the store is reachable"
            ) from None
