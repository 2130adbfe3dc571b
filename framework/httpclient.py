"""Tiny HTTP helpers on the standard library, for talking to Bucle's own servers.

The deployer, ``bucle release`` and the benchmarks only ever call a server on this machine, so
``urllib`` is enough and keeps these commands free of an HTTP client dependency.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any


def url_host(host: str) -> str:
    """The address to reach a server listening on ``host``: a wildcard is reached on loopback."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def status_of(url: str, timeout: float = 2) -> int | None:
    """The HTTP status ``url`` answers with, None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, ValueError):
        return None


def get_json(url: str, timeout: float = 2) -> dict[str, Any] | None:
    """The JSON body ``url`` answers with (any status), None when nothing answers."""
    status, body = request_json("GET", url, timeout=timeout)
    return body if status is not None else None


def get_text(url: str, timeout: float = 5) -> str | None:
    """The body of a GET as text, None when nothing answers or the status is not 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None


def request_json(
    method: str,
    url: str,
    payload: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int | None, Any]:
    """``(status, decoded JSON body or None)``; status None when nothing answers."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (OSError, ValueError):
        return None, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None
