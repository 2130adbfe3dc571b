"""Waiting for a ``bucle serve`` process someone started: ready, or the reason it is not.

``bucle deploy`` (local deployer) and ``bucle release`` (staging server) both start a server in
a subprocess and must know, within a time limit, whether it loaded its model: the answer is
``/ready``, and when it does not come, the reason is ``/ready``'s own or the log's last line.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from framework.errors import BucleError
from framework.httpclient import get_json, status_of


def last_line(path: Path) -> str:
    """The log's last non-empty line: usually the reason a server stopped."""
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    except OSError:
        return "no log written"
    lines = [line for line in lines if line]
    return lines[-1] if lines else "the log is empty"


def wait_ready(
    process: subprocess.Popen, base: str, log_path: Path, timeout: float, what: str, setting: str
) -> None:
    """Return once ``base/ready`` answers 200; raise BucleError when ``process`` exits first or
    ``timeout`` seconds pass, naming ``what`` (the server) and ``setting`` (its time limit)."""
    deadline = time.monotonic() + timeout
    while True:
        code = process.poll()
        if code is not None:
            raise BucleError(
                f"{what} exited with code {code} before it was ready: {last_line(log_path)} "
                f"(log {log_path})"
            )
        if status_of(base + "/ready") == 200:
            return
        if time.monotonic() >= deadline:
            reason = (get_json(base + "/ready") or {}).get("reason") or last_line(log_path)
            raise BucleError(
                f"{what} was not ready within {timeout:g}s ({setting}): {reason} (log {log_path})"
            )
        time.sleep(0.1)
