"""``bucle serve`` refuses a bad address or config in one line, before loading anything."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.framework.serving.conftest import free_port


def test_a_port_in_use_is_one_line_error(project_copy: Path, run) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()

        result = run(["bucle", "serve", "--port", str(port)], project_copy, check=False)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"bucle: error: cannot listen on 127.0.0.1:{port}: Address already in use; choose "
        "another address with --host/--port (serve.host, serve.port)"
    ]


def test_bad_serve_settings_are_config_errors(project_copy: Path, run) -> None:
    wrong_type = run(["bucle", "serve", "serve.max_records=lots"], project_copy, check=False)
    no_port = run(["bucle", "serve", "--port", "70000"], project_copy, check=False)
    no_time = run(["bucle", "serve", "serve.poll_seconds=0"], project_copy, check=False)

    assert wrong_type.returncode == 2 and "serve.max_records" in wrong_type.stderr
    assert no_port.returncode == 2 and "serve.port=70000 is not a TCP port" in no_port.stderr
    assert no_time.returncode == 2 and "serve.poll_seconds=0" in no_time.stderr
    for result in (wrong_type, no_port, no_time):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_inference_log_that_cannot_open_is_one_line_error(project_copy: Path, run) -> None:
    (project_copy / ".bucle").mkdir(exist_ok=True)
    (project_copy / ".bucle" / "inference").write_text("not a directory")

    result = run(["bucle", "serve", "--port", str(free_port())], project_copy, check=False)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "bucle: error: cannot open the inference log .bucle/inference/buffer.db: [Errno 17] "
        "File exists: '.bucle/inference'; check paths.state"
    ]
