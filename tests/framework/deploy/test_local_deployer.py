"""The ``local`` deployer: ``bucle deploy`` starts a real background server on a free loopback
port, ``status`` reports it and ``stop`` ends it. Every server a test starts is killed after it,
whatever the test did."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from framework.files import write_json
from framework.testing import DeployerContract
from plugins.deployers.local import LocalDeployer
from tests.conftest import run_command
from tests.framework.serving.conftest import free_port, records_of, small_copy


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project, small table, trained once: version 1, no alias set."""
    path = small_copy(tmp_path_factory.mktemp("deploy") / "project")
    run_command(["bucle", "run"], path)
    return path


@pytest.fixture
def project(trained: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the trained project; whatever server it recorded is killed after."""
    path = tmp_path / "project"
    shutil.copytree(trained, path)
    yield path
    record = path / ".bucle" / "deploy" / "deployment.json"
    if record.is_file():
        pid = json.loads(record.read_text())["pid"]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def deploy(project: Path, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    return run_command(["bucle", "deploy", *arguments], project, check=check)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def serving_on(port: int) -> list[int]:
    """Pids of ``bucle serve`` processes started with ``--port port``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in args and str(port).encode() in args and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_deploy_status_predict_refuse_stop(project: Path) -> None:
    run_command(["bucle", "models", "promote", "1", "--alias", "production"], project)
    port = free_port()

    started = time.monotonic()
    result = deploy(project, "--port", str(port), "deploy.strategy=canary")
    assert time.monotonic() - started < 60
    assert f"at http://127.0.0.1:{port}" in result.stdout

    # deploy returned: the server is ready and outlives the command that started it.
    assert get(f"http://127.0.0.1:{port}/ready")[0] == 200
    record = json.loads((project / ".bucle" / "deploy" / "deployment.json").read_text())
    assert record["status"] == "running"
    assert record["port"] == port and record["version"] == 1 and record["alias"] == "production"
    assert Path(record["log"]).is_file()
    pid = record["pid"]
    assert alive(pid)

    status = deploy(project, "status")
    assert "state: running" in status.stdout
    assert f"pid: {pid}" in status.stdout
    assert f"url: http://127.0.0.1:{port}" in status.stdout
    assert "version: 1" in status.stdout
    assert "healthy: yes" in status.stdout
    assert "strategy: canary" in status.stdout  # asked of the server, not of the record

    params = yaml.safe_load((project / "params.yaml").read_text())
    schema = SimpleNamespace(target=params["data"]["target"], derived=params["features"]["derived"])
    test_rows = next(project.glob("outputs/runs/*/*/data/test.parquet"))
    body = records_of(test_rows, schema)[:3]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict",
        data=json.dumps({"records": body}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    assert response.status == 200
    assert len(answer["predictions"]) == 3

    again = deploy(project, "--port", str(free_port()), check=False)
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1
    assert "already running" in again.stderr and str(pid) in again.stderr

    stopped = deploy(project, "stop")
    assert "state: stopped" in stopped.stdout
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)
    after = deploy(project, "status", check=False)
    assert after.returncode == 1
    assert "state: stopped" in after.stdout
    assert json.loads((project / ".bucle/deploy/deployment.json").read_text())["status"] == (
        "stopped"
    )


def test_deploy_without_production_alias_fails_and_leaves_nothing(project: Path) -> None:
    port = free_port()
    started = time.monotonic()
    result = deploy(project, "--port", str(port), "deploy.ready_timeout=5", check=False)
    elapsed = time.monotonic() - started

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "not ready within 5s" in result.stderr
    assert elapsed < 30
    assert serving_on(port) == []
    assert not (project / ".bucle" / "deploy" / "deployment.json").exists()
    assert deploy(project, "status", check=False).returncode == 1


def test_deploy_refuses_a_port_in_use(project: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = deploy(project, "--port", str(port), check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


class TestLocalDeployerContract(DeployerContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> LocalDeployer:
        return LocalDeployer(state=str(tmp_path / "deploy"))


def test_deploy_refuses_an_open_address_without_a_token_unless_opened(tmp_path: Path) -> None:
    from tests.conftest import copy_project

    fresh = copy_project(tmp_path / "fresh", git=False)
    port = free_port()
    # 192.0.2.1 is no address of this machine: had the deploy not been refused, binding fails.
    result = run_command(
        ["bucle", "deploy", "--host", "192.0.2.1", "--port", str(port)],
        fresh,
        env={"BUCLE_SERVE_TOKEN": ""},
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "serve.host=192.0.2.1" in result.stderr and "serve.token" in result.stderr
    assert not (fresh / ".bucle" / "deploy" / "deployment.json").exists()

    opened = run_command(
        ["bucle", "deploy", "--host", "192.0.2.1", "--port", str(port), "serve.allow_open=true"],
        fresh,
        env={"BUCLE_SERVE_TOKEN": ""},
        check=False,
    )
    # Not refused, said out loud; then binding fails on an address this machine does not have.
    assert opened.stderr.startswith("WARNING: serving on 192.0.2.1"), opened.stderr
    assert opened.returncode == 1 and "cannot listen on 192.0.2.1" in opened.stderr


@contextlib.contextmanager
def other_process() -> Iterator[subprocess.Popen]:
    """A live process that is not a server: what a recorded pid may belong to once reused. It
    leads its own session, as the deployed server does, so signalling the group would reach it."""
    process = subprocess.Popen(["sleep", "120"], start_new_session=True)
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    deadline = time.monotonic() + 10
    while not cmdline.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)  # Popen returns before the kernel has filled in the new command line
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def running_record(pid: int, process: dict | None) -> dict:
    """A record as ``bucle deploy`` writes it for a server with ``pid``."""
    command = [sys.executable, "-m", "framework", "serve", "--host", "127.0.0.1", "--port", "9"]
    record = {
        "status": "running",
        "pid": pid,
        "host": "127.0.0.1",
        "port": 9,
        "url": "http://127.0.0.1:9",
        "alias": "production",
        "version": 1,
        "started_at": "2026-01-01T00:00:00+00:00",
        "command": command,
    }
    if process is not None:
        record["process"] = process
    return record


def test_stop_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    from tests.conftest import copy_project

    fresh = copy_project(tmp_path / "fresh", git=False)
    with other_process() as sleeper:
        # The server this record describes is gone and `sleep` got its pid.
        server = {"cmdline": running_record(0, None)["command"], "start_ticks": 1}
        state = fresh / ".bucle" / "deploy"
        write_json(state / "deployment.json", running_record(sleeper.pid, server))

        status = deploy(fresh, "status", check=False)
        stopped = deploy(fresh, "stop")

        assert sleeper.poll() is None, "stop killed a process it did not start"
        assert status.returncode == 1 and "state: dead" in status.stdout
        assert "state: stopped" in stopped.stdout
        reason = next(line for line in stopped.stdout.splitlines() if line.startswith("reason:"))
        assert str(sleeper.pid) in reason and "left it alone" in reason
        assert json.loads((state / "deployment.json").read_text())["status"] == "stopped"


def test_stop_leaves_alone_a_pid_of_an_old_record_that_runs_something_else(
    tmp_path: Path,
) -> None:
    """A record from before start times were recorded: the command line alone decides."""
    with other_process() as sleeper:
        deployer = LocalDeployer(state=str(tmp_path / "deploy"))
        write_json(deployer.record_path, running_record(sleeper.pid, None))

        result = deployer.stop_deployment()

        assert sleeper.poll() is None
        assert "left it alone" in result["reason"]


def test_stop_ends_the_process_it_recorded(tmp_path: Path) -> None:
    from framework.serverprocess import process_identity

    with other_process() as sleeper:
        deployer = LocalDeployer(state=str(tmp_path / "deploy"))
        identity = process_identity(sleeper.pid)
        assert identity is not None and identity["cmdline"] == ["sleep", "120"]
        write_json(deployer.record_path, running_record(sleeper.pid, identity))

        assert deployer.deployment_status()["alive"] is True
        result = deployer.stop_deployment()

        assert sleeper.wait(timeout=20) is not None
        assert result["status"] == "stopped" and "reason" not in result
