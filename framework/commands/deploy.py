"""``bucle deploy``, ``bucle deploy status``, ``bucle deploy stop``: the deployer plugin's hooks.

Starting composes the config like ``bucle serve`` (``params.yaml``, or ``conf/`` with the
overrides given) and hands the deployer the address, the alias and those overrides, so the
server it starts sees the same config this command validated. Status and stop need no
overrides: they read what the deployer recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from framework.errors import BucleError

ACTIONS = ("status", "stop")


def deploy_command(
    arguments: Sequence[str] = (), host: str | None = None, port: int | None = None
) -> int:
    """Dispatch ``[status|stop] [overrides...]``; anything else is the overrides of a start."""
    arguments = list(arguments)
    if arguments[:1] and arguments[0] in ACTIONS:
        action, overrides = arguments[0], arguments[1:]
        if host is not None or port is not None:
            raise BucleError(f"--host/--port only apply to starting; use `bucle deploy {action}`")
    else:
        action, overrides = "start", arguments
    if action == "start":
        return start(overrides, host, port)
    from framework.commands.serve import command_config
    from framework.hooks.host import build_host

    cfg = command_config(overrides)
    hook = build_host(cfg, ["deployer"]).hook
    if action == "status":
        code = show(hook.deployment_status(), "status")
        show_release(cfg)
        return code
    return show(hook.stop_deployment(), "stop")


def start(overrides: Sequence[str], host: str | None, port: int | None) -> int:
    from framework.commands.serve import serve_config, warn_exposure
    from framework.hooks.host import build_host

    cfg = serve_config(overrides, host, port)
    warn_exposure(cfg.serve)  # refuses an open address without a token before anything starts
    deployer = build_host(cfg, ["deployer"]).hook
    settings = {
        "host": str(cfg.serve.host),
        "port": int(cfg.serve.port),
        "alias": str(cfg.serve.alias),
        "overrides": list(overrides),
    }
    record = deployer.deploy(settings=settings)
    if record.get("message"):
        print(record["message"])
    else:
        where = f" at {record['url']}" if record.get("url") else ""
        pid = f", pid {record['pid']}" if record.get("pid") else ""
        print(
            f"deployed {record.get('name')} version {record.get('version')} "
            f"(alias {record.get('alias')}){where}{pid}"
        )
    if record.get("log"):
        print(f"log: {record['log']}")
    chosen = [o for o in overrides if o.startswith("deploy=")]
    again = f" {' '.join(chosen)}" if chosen else ""
    print(f"status: bucle deploy status{again}; stop: bucle deploy stop{again}")
    return 0


def show_release(cfg: Any) -> None:
    """The last release of ``bucle release``: its outcome and every decision with its reason."""
    from framework.release.journal import last_release

    release = last_release(str(cfg.paths.state))
    if release is None:
        return
    before = release.get("production_before")
    print(
        f"last release: v{release.get('version')} ({release.get('strategy')}; production was "
        f"{'v' + str(before) if before is not None else 'unset'}) — {release.get('outcome')}, "
        f"started {release.get('started_at')}"
    )
    for decision in release.get("decisions", []):
        print(
            f"  {decision['at']} {decision['step']}: {decision['decision']} — {decision['reason']}"
        )


def show(record: dict[str, Any] | None, action: str) -> int:
    """Print a deployment record as ``key: value`` lines; status exits 1 when it is not alive."""
    if record is None:
        print("no deployment recorded; start one with `bucle deploy`")
        return 1 if action == "status" else 0
    state = "running" if record.get("alive") else "stopped"
    if record.get("status") not in ("running", "stopped", None):
        state = str(record["status"])  # a deployer's own state: a docker context not built
    elif record.get("status") == "running" and not record.get("alive"):
        state = "dead (the process is gone; `bucle deploy stop` clears it)"
    print(f"state: {state}")
    if record.get("status") == "stopped" and record.get("version") is not None:
        until = f" until {record['stopped_at']}" if record.get("stopped_at") else ""
        print(
            f"last served: {record.get('name')} v{record['version']} "
            f"(alias {record.get('alias')}){until}"
        )
    if record.get("alive"):
        print(f"healthy: {'yes' if record.get('healthy') else 'no (/health does not answer)'}")
    keys = ("url", "pid", "name", "alias", "version", "strategy", "challenger", "started_at")
    more = ("stopped_at", "log", "image", "context", "container", "reason")
    for key in (*keys, *more):
        if record.get(key) is not None:
            print(f"{key}: {record[key]}")
    return 0 if action == "stop" or record.get("alive") else 1
