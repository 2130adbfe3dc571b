"""Is a run still running? A run killed with ``kill -9`` never says it ended, so ask its process.

A tracker records, when a run starts, the process id and host that run it and then a heartbeat
every :data:`HEARTBEAT_SECONDS` while it runs. A run recorded as ``running`` is shown as
``interrupted`` when its process is gone from this host, or when its heartbeat is older than
:data:`STALE_AFTER` (the only sign there is for a run on another host, and the guard against a
process id the system has since given to another program).
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

RUNNING = "running"
INTERRUPTED = "interrupted"

#: How often a running run says it is alive.
HEARTBEAT_SECONDS = 30.0
#: A heartbeat older than this means the run stopped without saying so (ten missed beats).
STALE_AFTER = timedelta(seconds=10 * HEARTBEAT_SECONDS)


def this_host() -> str:
    return socket.gethostname()


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def process_alive(pid: int) -> bool:
    """Whether a process with id ``pid`` exists on this host (signal 0 checks, sends nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def shown_status(
    status: str,
    pid: int | None,
    host: str | None,
    heartbeat: str | None,
    now: datetime | None = None,
) -> str:
    """``status`` as recorded, except a ``running`` run whose process is gone: ``interrupted``.

    A record without a process id or heartbeat (written before they were recorded) keeps its
    status: there is nothing to judge it by.
    """
    if status != RUNNING:
        return status
    if pid is not None and host == this_host() and not process_alive(pid):
        return INTERRUPTED
    if heartbeat:
        try:
            beat = datetime.fromisoformat(heartbeat)
        except ValueError:
            return status
        if beat.tzinfo is None:
            beat = beat.replace(tzinfo=UTC)
        if (now or datetime.now(UTC)) - beat > STALE_AFTER:
            return INTERRUPTED
    return status
