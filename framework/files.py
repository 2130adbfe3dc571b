"""Content hashes and atomic writes: a killed process never leaves a half-written file."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


def digest_key(sha256: str) -> str:
    """``ab/cdef…``: where a content-addressed store keeps ``sha256``; refuses anything else.

    A store names files by digest, so a malformed one (``../../etc``) must never reach a path.
    """
    from framework.errors import ArtifactError

    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ArtifactError(f"'{sha256}' is not a sha256 hex digest; pass the full 64 digits")
    return f"{sha256[:2]}/{sha256[2:]}"


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as error:
        if is_disk_full(error):
            raise disk_full(target, error) from None
        raise
    os.close(fd)
    temporary_path = Path(temporary)
    # mkstemp creates 0600; give the file the mode a plain open() would (0666 minus umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary_path, 0o666 & ~umask)
    try:
        yield temporary_path
        with open(temporary_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary_path, target)
    except OSError as error:
        if is_disk_full(error):
            raise disk_full(target, error) from None
        raise
    finally:
        temporary_path.unlink(missing_ok=True)


def is_disk_full(error: BaseException) -> bool:
    """No space (or quota) left: the errno when the OS raised it, the words when a library
    (pyarrow, skops) re-raised it as its own OSError without one."""
    import errno

    if getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error).lower()
    return "no space left on device" in text or "disk quota exceeded" in text


def disk_full(target: Path, error: BaseException) -> Exception:
    """The one line for a write the disk had no room for; the old file, if any, is intact."""
    from framework.errors import StateError

    return StateError(
        f"no space left on device writing {target} ({type(error).__name__}: "
        f"{str(error).strip().splitlines()[0] if str(error).strip() else 'ENOSPC'}); "
        f"free space on that disk or point the output elsewhere (paths.data, paths.models, "
        "paths.reports, paths.state); nothing was half-written"
    )


def write_text(target: Path, text: str) -> Path:
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(target)


def write_json(target: Path, data: Any) -> Path:
    return write_text(target, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_with(target: Path, writer: Callable[[Path], Any]) -> Path:
    """Atomically write ``target`` with a function that writes to a given path (pandas, skops)."""
    with atomic_path(target) as temporary:
        writer(temporary)
    return Path(target)


def read_json(path: Path, fix: str) -> Any:
    """The JSON in ``path``, None when there is no such file; a file that cannot be read or
    parsed is a one-line BucleError ending with ``fix``, never silently replaced."""
    from framework.errors import BucleError

    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BucleError(f"cannot read {path}: {error}; {fix}") from None


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if absent) for the block.

    For read-then-write sequences that concurrent processes on one machine must not interleave
    (parallel sweep jobs registering models); released when the block ends or the process dies.
    """
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def require_artifact(get_artifact: Callable[..., Any], model_version: Any) -> Path:
    """The stored file of a registered version, or an ArtifactError saying the registry names a
    version whose artifact is gone (or corrupt) and what to do; ``get_artifact`` is the store
    hook. ``bucle models show`` calls it after printing what the registry knows."""
    from framework.errors import ArtifactError

    try:
        found = get_artifact(sha256=model_version.sha256)
    except ArtifactError as error:
        raise ArtifactError(
            f"model '{model_version.name}' version {model_version.version} is registered, but "
            f"its artifact cannot be used: {error}"
        ) from None
    if found is None:
        raise ArtifactError(
            f"model '{model_version.name}' version {model_version.version}: no store plugin "
            "answered for its artifact; select one with store=NAME"
        )
    return Path(found)
