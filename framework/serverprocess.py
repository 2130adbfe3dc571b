"""A ``bucle serve`` process someone started: whether it got ready, and whether a pid still is it.

``bucle deploy`` (local deployer) and ``bucle release`` (staging server) both start a server in
a subprocess and must know, within a time limit, whether it loaded its model: the answer is
``/ready``, and when it does not come, the reason is ``/ready``'s own or the log's last line.

A recorded pid outlives the process it named: after the server dies the kernel may hand the pid
to anything else. :func:`process_identity` reads what, with the pid, names a process for good
(its command line and its start time since boot) so :func:`is_same_process` can tell the server
from a stranger before anyone signals it.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

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


def process_identity(pid: int) -> dict[str, Any] | None:
    """What names process ``pid`` beyond its number: ``cmdline`` (its arguments, from
    ``/proc/<pid>/cmdline``) and ``start_ticks`` (its start time in clock ticks since boot, from
    ``/proc/<pid>/stat``); None when no such process runs or ``/proc`` cannot tell."""
    try:
        raw_cmdline = Path(f"/proc/{int(pid)}/cmdline").read_bytes()
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
    except OSError:
        return None
    try:
        # Fields after the parenthesised name (which may hold spaces): state is field 3,
        # starttime field 22 (proc(5)), so index 22 - 3 of what follows the last ')'.
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None
    parts = raw_cmdline.split(b"\0")
    if parts[-1] == b"":  # each argument ends with a NUL, so the split leaves one empty tail
        parts.pop()
    cmdline = [part.decode(errors="replace") for part in parts]
    return {"cmdline": cmdline, "start_ticks": start_ticks}


def is_same_process(pid: int, recorded: dict[str, Any] | None, command: list[str] | None) -> bool:
    """Whether ``pid`` still runs the process that was recorded: same start time and command
    line as ``recorded`` (a :func:`process_identity`), or, for a record older than start times,
    the same command line as ``command`` (what was started)."""
    if not Path("/proc/self/stat").is_file():  # no /proc (not Linux): the pid is all we have
        return _runs(pid)
    now = process_identity(pid)
    if now is None:
        return False
    if recorded:
        same_start = now["start_ticks"] == recorded.get("start_ticks")
        return same_start and now["cmdline"] == recorded.get("cmdline")
    return command is not None and now["cmdline"] == [str(part) for part in command]


def _runs(pid: int) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        pass
    return True
