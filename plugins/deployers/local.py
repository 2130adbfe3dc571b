"""The ``local`` deployer: ``bucle serve`` as a detached background process on this machine.

The server runs in its own session, so it outlives the ``bucle deploy`` that started it and a
Ctrl-C in that terminal does not reach it. What was started is recorded in
``<state>/deployment.json``; status and stop read that record, because the deploying process is
gone by the time anyone asks. The record names the server by its pid *and* by its command line
and start time, because a pid outlives its process: stop signals only the server it started,
never whatever got the pid after the server died.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framework import hookimpl
from framework.errors import BucleError, ConfigError
from framework.files import read_json, write_json
from framework.httpclient import get_json, status_of, url_host
from framework.serverprocess import is_same_process, process_identity, wait_ready

#: Seconds between SIGTERM and SIGKILL on stop: uvicorn's own graceful shutdown takes up to 10.
STOP_GRACE_SECONDS = 15.0


class LocalDeployer:
    """Start, inspect and stop one local ``bucle serve`` process per project state directory."""

    def __init__(self, state: str = ".bucle/deploy", ready_timeout: float = 60) -> None:
        # Building the plugin must stay free of side effects: every command builds the host.
        self.state = Path(state)
        if float(ready_timeout) <= 0:
            raise ConfigError(
                f"deploy.ready_timeout={ready_timeout} must be a positive number of seconds"
            )
        self.ready_timeout = float(ready_timeout)

    @property
    def record_path(self) -> Path:
        return self.state / "deployment.json"

    def read_record(self) -> dict[str, Any] | None:
        return read_json(self.record_path, "delete it if no server is running")

    @hookimpl
    def deploy(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Start the server, wait until ``/ready`` answers 200, record it and return the record.

        ``settings`` holds ``host``, ``port`` and ``alias`` (from ``serve``) and the
        ``overrides`` to compose the server's config with. A server that exits or does not get
        ready in ``ready_timeout`` seconds is killed, so a failed deploy leaves nothing running.
        """
        previous = self.read_record()
        if previous and previous.get("status") == "running" and is_our_server(previous):
            raise BucleError(
                f"a deployment is already running (pid {previous['pid']} on "
                f"{previous['host']}:{previous['port']}, version {previous.get('version')}); "
                "stop it first with `bucle deploy stop`"
            )
        host, port = str(settings["host"]), int(settings["port"])
        from framework.commands.serve import check_address

        check_address(host, port)  # fail before starting anything when the port is taken
        self.state.mkdir(parents=True, exist_ok=True)
        log_path = (self.state / f"serve-{port}.log").resolve()
        command = [
            sys.executable,
            "-m",
            "framework",
            "serve",
            "--host",
            host,
            "--port",
            str(port),
            *settings.get("overrides", ()),
        ]
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        base = f"http://{url_host(host)}:{port}"
        try:
            wait_ready(
                process, base, log_path, self.ready_timeout, "bucle serve", "deploy.ready_timeout"
            )
            model = get_json(base + "/model") or {}
            identity = process_identity(process.pid)
        except BaseException:
            _kill_group(process.pid)
            process.wait()
            raise
        record = {
            "status": "running",
            "pid": process.pid,
            "host": host,
            "port": port,
            "url": base,
            "alias": model.get("alias", settings.get("alias")),
            "version": model.get("version"),
            "name": model.get("name"),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "log": str(log_path),
            "command": command,
            "process": identity,  # the pid alone may name another process by the time of stop
        }
        write_json(self.record_path, record)
        return record

    @hookimpl
    def deployment_status(self) -> dict[str, Any] | None:
        """The record plus ``alive`` (the server it started still runs) and ``healthy``
        (``/health`` answers 200)."""
        record = self.read_record()
        if record is None:
            return None
        alive = record.get("status") == "running" and is_our_server(record)
        healthy = alive and status_of(f"{record['url']}/health") == 200
        live = get_json(f"{record['url']}/model") if healthy else None
        if live:  # what answers now: the alias may have moved since the deploy
            challenger = live.get("challenger") or {}
            record = {
                **record,
                "version": live.get("version"),
                "strategy": live.get("strategy"),
                "challenger": (
                    f"{challenger.get('alias')} v{challenger['version']}"
                    if challenger.get("version") is not None
                    else None
                ),
            }
        return {**record, "alive": alive, "healthy": healthy}

    @hookimpl
    def stop_deployment(self) -> dict[str, Any] | None:
        """SIGTERM the server's process group, SIGKILL it after a grace period, record it.

        A recorded pid that now runs another process (the server died, the pid was reused) is
        left alone: the record is closed with a ``reason`` saying so. The version the server
        answered with last (its alias may have moved since the deploy) is asked before the
        signal and kept in the record, so ``bucle deploy status`` after a stop names it.
        """
        record = self.read_record()
        if record is None:
            return None
        if record.get("status") == "running":
            pid = int(record["pid"])
            if pid_alive(pid) and not is_our_server(record):
                record["reason"] = (
                    f"pid {pid} now runs another process ({describe_process(pid)}), not the "
                    "server this deployment started; left it alone"
                )
            elif pid_alive(pid):
                record.update(serving_now(record))
                _signal_group(pid, signal.SIGTERM)
                deadline = time.monotonic() + STOP_GRACE_SECONDS
                while pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if pid_alive(pid):
                    _kill_group(pid)
                    record["killed"] = True
            record["status"] = "stopped"
            record["stopped_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            write_json(self.record_path, record)
        return {**record, "alive": False, "healthy": False}


def serving_now(record: dict[str, Any]) -> dict[str, Any]:
    """The model the server answers with now (``name``, ``alias``, ``version``, ``strategy``),
    or nothing when it does not answer ``/model``."""
    live = get_json(f"{record['url']}/model") or {}
    if live.get("version") is None:
        return {}
    return {key: live[key] for key in ("name", "alias", "version", "strategy") if key in live}


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (exited, not yet reaped by its new parent) does not."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{int(pid)}/stat")
    try:
        # The state letter follows the parenthesised command name, which may contain spaces.
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def is_our_server(record: dict[str, Any]) -> bool:
    """Whether the recorded pid still runs the server this record describes (not a zombie, and
    the command line and start time recorded at deploy)."""
    pid = int(record["pid"])
    return pid_alive(pid) and is_same_process(pid, record.get("process"), record.get("command"))


def describe_process(pid: int) -> str:
    """The command line of ``pid``, shortened for a message."""
    identity = process_identity(pid)
    if identity is None or not identity["cmdline"]:
        return "unknown command"
    text = " ".join(identity["cmdline"])
    return f"`{text[:80]}…`" if len(text) > 80 else f"`{text}`"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the server's whole session (uvicorn and anything it started), else the pid alone."""
    with contextlib.suppress(ProcessLookupError):
        try:
            os.killpg(int(pid), sig)
        except PermissionError:
            os.kill(int(pid), sig)


def _kill_group(pid: int) -> None:
    _signal_group(pid, signal.SIGKILL)
