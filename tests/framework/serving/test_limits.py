"""Serving limits: where ``bucle serve`` may listen without a token, how long a request body may
take to arrive, and how many connections are served at once.

The address tests never bind anything: 192.0.2.1 (TEST-NET-1) is no address of this machine, so
a server that was not refused stops at ``cannot listen on``. The body and connection tests talk
to a real server on a free loopback port over raw sockets.
"""

from __future__ import annotations

import select
import socket
from pathlib import Path

import pytest

from framework.commands.serve import check_exposure
from framework.errors import ConfigError
from tests.framework.serving.conftest import free_port, promote

#: Not an address of this machine: binding it fails, so nothing ever listens in these tests.
ELSEWHERE = "192.0.2.1"
NO_TOKEN = {"BUCLE_SERVE_TOKEN": ""}
TOKEN = "limits-test-token-7d3e"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "localhost", "::1", "[::1]"])
def test_a_loopback_address_needs_no_token(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUCLE_SERVE_TOKEN", raising=False)
    assert check_exposure({"host": host, "port": 8000}) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "serving.example"])
def test_an_open_address_without_a_token_is_refused(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BUCLE_SERVE_TOKEN", raising=False)
    with pytest.raises(ConfigError) as refused:
        check_exposure({"host": host, "port": 8000})
    message = str(refused.value)
    assert "\n" not in message
    assert f"serve.host={host}" in message
    assert "serve.token" in message and "BUCLE_SERVE_TOKEN" in message
    assert "serve.allow_open=true" in message


def test_a_token_from_config_or_environment_opens_the_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BUCLE_SERVE_TOKEN", raising=False)
    assert check_exposure({"host": "0.0.0.0", "port": 8000, "token": TOKEN}) is None
    monkeypatch.setenv("BUCLE_SERVE_TOKEN", TOKEN)
    assert check_exposure({"host": "0.0.0.0", "port": 8000}) is None
    monkeypatch.setenv("BUCLE_SERVE_TOKEN", "")  # empty is no token
    with pytest.raises(ConfigError, match="no token protects"):
        check_exposure({"host": "0.0.0.0", "port": 8000})


def test_allow_open_serves_without_a_token_but_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUCLE_SERVE_TOKEN", raising=False)
    warning = check_exposure({"host": "0.0.0.0", "port": 8000, "allow_open": True})
    assert warning is not None and "\n" not in warning
    assert warning.startswith("WARNING")
    assert "0.0.0.0:8000" in warning and "serve.allow_open=true" in warning


def test_serve_refuses_an_open_address_in_one_line(project: Path, run) -> None:
    port = free_port()
    result = run(
        ["bucle", "serve", "--host", ELSEWHERE, "--port", str(port)], project, NO_TOKEN, False
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"serve.host={ELSEWHERE}" in lines[0] and "serve.token" in lines[0]


def test_serve_with_allow_open_warns_and_with_a_token_does_not(project: Path, run) -> None:
    port = str(free_port())
    command = ["bucle", "serve", "--host", ELSEWHERE, "--port", port]

    opened = run([*command, "serve.allow_open=true"], project, NO_TOKEN, False)
    with_token = run(command, project, {"BUCLE_SERVE_TOKEN": TOKEN}, False)

    # Not refused: both go on to bind, which fails on an address this machine does not have.
    for result in (opened, with_token):
        assert result.returncode == 1
        assert f"cannot listen on {ELSEWHERE}:{port}" in result.stderr
    assert "WARNING" in opened.stderr and "no token" in opened.stderr
    assert "WARNING" not in with_token.stderr


def test_bad_limits_are_config_errors(project: Path, run) -> None:
    for override in ("serve.body_timeout=0", "serve.max_connections=0"):
        result = run(["bucle", "serve", override], project, check=False)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert override in result.stderr


def trickle_until_answered(port: int, length: int = 1000) -> bytes:
    """POST headers promising ``length`` bytes, then send one byte at a time with pauses far
    shorter than any body timeout, until the server answers; return all it sent until close."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(
            b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {length}\r\n\r\n".encode()
        )
        for _ in range(length - 1):  # never the whole body
            readable, _, _ = select.select([client], [], [], 0.2)
            if readable:
                break
            try:
                client.sendall(b" ")
            except OSError:  # the server closed while we were sending
                break
        while chunk := client.recv(65536):
            received += chunk
    return received


def test_a_trickled_body_is_answered_408_and_cut_off(project_copy: Path, start_server) -> None:
    promote(project_copy, 1)
    server = start_server(project_copy, "serve.body_timeout=1")

    answer = trickle_until_answered(server.port)

    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"serve.body_timeout" in answer
    assert b"connection: close" in answer.lower()
    # The server is still there for everyone else, and the cut-off request left no traceback.
    assert server.get("/health").status == 200
    assert "Traceback" not in server.log
    assert "did not arrive within 1s" in server.log


def test_connections_beyond_max_connections_are_answered_503(
    project_copy: Path, start_server
) -> None:
    server = start_server(project_copy, "serve.max_connections=2", ready=False)
    first = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    second = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        # Two idle connections are open: a third is one too many.
        assert server.get("/health").status == 503
        first.close()
        server.wait_until(lambda: server.get("/health").status == 200, what="a free connection")
    finally:
        first.close()
        second.close()
