"""A trained project and real ``bucle serve`` processes on free loopback ports.

Training is the slow part (a few seconds per ``bucle run``), so one session-wide project holds
two registered versions; a test that changes aliases or files works on its own copy of it.
Servers are real subprocesses, talked to with plain ``urllib``, and always stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN, copy_project, run_command, shrink_table


@dataclass
class Trained:
    """A project with v1 and v2 registered (v1 the first run's), and v1's test rows."""

    path: Path
    test_rows: Path


def small_copy(target: Path) -> Path:
    """A copy of the example project with a 1500-row table, as ``small_project`` makes one."""
    path = copy_project(target)
    shrink_table(path, 1500)
    return path


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The example project, small table, trained twice: two versions, no production alias."""
    path = small_copy(tmp_path_factory.mktemp("serving") / "project")
    first = run_command(["bucle", "run"], path)
    run_command(["bucle", "run", "model.C=0.05"], path)
    line = next(line for line in first.stderr.splitlines() if "outputs in" in line)
    work = Path(line.split("outputs in ", 1)[1].strip())
    return Trained(path, work / "data" / "test.parquet")


@pytest.fixture
def project_copy(trained: Trained, tmp_path: Path) -> Path:
    """A private copy of the trained project: its registry and artifacts are this test's own."""
    target = tmp_path / "project"
    shutil.copytree(trained.path, target, ignore=shutil.ignore_patterns("inference"))
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


#: The write token test servers get through ``BUCLE_SERVE_TOKEN`` (and their clients send).
TEST_TOKEN = "test-write-token-4f1c"


def token_env(token: str | None = TEST_TOKEN) -> dict[str, str]:
    """The environment a server or a ``bucle traffic`` run of these tests gets: the write token
    when there is one, and never a token inherited from the developer's shell."""
    env = {key: value for key, value in os.environ.items() if key != "BUCLE_SERVE_TOKEN"}
    if token is not None:
        env["BUCLE_SERVE_TOKEN"] = token
    return env


class Server:
    """``bucle serve`` in a subprocess on a free port, logging to a file.

    The server gets ``token`` as its write token (None: no token, writes closed), and
    :meth:`post` sends it on ``/feedback`` unless the caller gives its own Authorization.
    """

    def __init__(self, project: Path, *overrides: str, token: str | None = TEST_TOKEN) -> None:
        self.project = project
        self.port = free_port()
        self.log_path = project.parent / f"serve-{self.port}.log"
        self.args = [str(BIN / "bucle"), "serve", "--port", str(self.port), *overrides]
        self.token = token
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=self.project,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=token_env(self.token),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"bucle serve exited {self.process.returncode}:\n{self.log}")
            try:
                if self.get("/health").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"bucle serve did not answer /health in {timeout}s:\n{self.log}")

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Reply:
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Reply(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read().decode())

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if path == "/feedback" and self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        return self.request("POST", path, body, sent)

    def wait_until(self, check: Any, timeout: float = 20, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; server log:\n{self.log}")

    def wait_ready(self, timeout: float = 20) -> None:
        self.wait_until(lambda: self.get("/ready").status == 200, timeout, "/ready")

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down and the log is flushed), SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def start_server() -> Iterator[Any]:
    """Start servers with ``start_server(project, *overrides)``; every one is stopped after."""
    servers: list[Server] = []

    def start(
        project: Path, *overrides: str, ready: bool = True, token: str | None = TEST_TOKEN
    ) -> Server:
        server = Server(project, *overrides, token=token)
        servers.append(server)
        server.start()
        if ready:
            server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


def promote(project: Path, version: int, alias: str = "production") -> None:
    run_command(["bucle", "models", "promote", str(version), "--alias", alias], project)


def records_of(test_rows: Path, schema: Any) -> list[dict[str, Any]]:
    """Test rows as a client sends them: no target, no derived columns, dates as ISO text."""
    import pandas as pd

    frame = pd.read_parquet(test_rows)
    raw = frame.drop(columns=[schema.target, *[c for c in schema.derived if c in frame.columns]])
    return json.loads(raw.to_json(orient="records", date_format="iso"))


@pytest.fixture
def records(trained: Trained) -> list[dict[str, Any]]:
    """v1's test rows as a client sends them."""
    from framework.modeling.artifact import load_model
    from plugins.registries.local import LocalRegistry

    state = trained.path / ".bucle"
    version = LocalRegistry(str(state / "registry.db")).get_model_version(name="churn", version=1)
    model = load_model(state / "artifacts" / version.sha256[:2] / version.sha256[2:])
    return records_of(trained.test_rows, model.schema)
