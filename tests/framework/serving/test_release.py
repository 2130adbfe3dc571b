"""``bucle release`` through the real CLI: a real staging server, real smoke tests, a real
production server under steady load while the canary or shadow is judged, and the journal that
``bucle deploy status`` shows."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from framework.httpclient import status_of
from framework.serving.inference_log import read_inference_log
from plugins.registries.local import LocalRegistry
from tests.conftest import BIN
from tests.framework.serving.conftest import Server, promote

pytestmark = pytest.mark.slow

#: Small bounds so a release decides in seconds.
QUICK = [
    "deploy.release.min_requests=15",
    "deploy.release.poll_seconds=0.2",
    "deploy.release.timeout_seconds=60",
    "deploy.release.smoke_records=5",
]


def alias(project: Path, name: str) -> int | None:
    found = LocalRegistry(str(project / ".bucle" / "registry.db")).get_model_alias(
        name="churn", alias=name
    )
    return None if found is None else found.version


def journal(project: Path) -> dict[str, Any]:
    return json.loads((project / ".bucle" / "releases.json").read_text())[-1]


def release(
    project: Path, *arguments: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "bucle"), "release", *arguments],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


class SteadyLoad:
    """Requests one after another from a thread until stopped; keeps every status."""

    def __init__(self, server: Server, records: list[dict[str, Any]]) -> None:
        self.server, self.records = server, records
        self.statuses: list[int] = []
        self.versions: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        index = 0
        while not self._stop.is_set():
            record = self.records[index % len(self.records)]
            reply = self.server.post(
                "/predict", {"records": [record]}, {"X-Request-ID": f"load-{index}"}
            )
            self.statuses.append(reply.status)
            if reply.status == 200:
                self.versions.append(reply.json["model"]["version"])
            index += 1


def test_first_release_passes_smoke_tests_and_promotes(project_copy: Path, run: Any) -> None:
    promote(project_copy, 2, "candidate")

    result = release(project_copy, *QUICK)

    assert result.returncode == 0, result.stdout + result.stderr
    assert alias(project_copy, "production") == 2
    record = journal(project_copy)
    assert record["outcome"] == "promoted" and record["version"] == 2
    steps = [(d["step"], d["decision"]) for d in record["decisions"]]
    assert steps == [
        ("staging", "started"),
        ("smoke schema", "passed"),
        ("smoke predictions", "passed"),
        ("smoke latency", "passed"),
        ("promote", "promoted"),
    ]
    predictions = next(d for d in record["decisions"] if d["step"] == "smoke predictions")
    assert predictions["evidence"]["mismatched"] == 0 and predictions["evidence"]["rows"] == 5
    # The staging server is gone once the release ends.
    staging = next(d for d in record["decisions"] if d["step"] == "staging")["reason"]
    assert status_of(staging.rsplit(" ", 1)[1] + "/health", timeout=1) is None
    # Rehearsal traffic is logged apart from production's inference data set.
    assert read_inference_log(project_copy / ".bucle").empty
    rehearsal = read_inference_log(project_copy / ".bucle" / "candidate")
    assert set(rehearsal["model_version"]) == {2}
    assert rehearsal["client_request_id"].str.startswith("smoke").all() and len(rehearsal) >= 10
    shown = run(["bucle", "deploy", "status"], project_copy, check=False).stdout
    assert "last release: v2 (basic; production was unset) — promoted" in shown
    assert "smoke latency: passed" in shown


def test_smoke_test_failure_rejects_the_candidate_and_changes_nothing(
    project_copy: Path,
) -> None:
    promote(project_copy, 1)
    promote(project_copy, 2, "candidate")

    result = release(project_copy, *QUICK, "deploy.release.smoke_latency_ms=0.001")

    assert result.returncode == 1
    assert "smoke latency: failed" in result.stdout and "exceeds the budget" in result.stdout
    assert alias(project_copy, "production") == 1
    assert alias(project_copy, "staging") is None
    assert journal(project_copy)["outcome"] == "rejected"


def test_a_corrupt_candidate_is_refused_before_staging(project_copy: Path) -> None:
    promote(project_copy, 1)
    promote(project_copy, 2, "candidate")
    version = LocalRegistry(str(project_copy / ".bucle" / "registry.db")).get_model_version(
        name="churn", version=2
    )
    artifact = project_copy / ".bucle" / "artifacts" / version.sha256[:2] / version.sha256[2:]
    artifact.chmod(0o644)
    artifact.write_bytes(artifact.read_bytes()[:-10] + b"tampered!!")

    result = release(project_copy, *QUICK)

    assert result.returncode == 1
    assert "staging: refused" in result.stdout and "sha256" in result.stdout
    assert alias(project_copy, "production") == 1


def test_canary_under_steady_load_is_promoted_without_a_failed_request(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    promote(project_copy, 2, "candidate")
    canary = ["deploy.strategy=canary", "deploy.canary_fraction=0.5", "serve.poll_seconds=0.2"]
    server = start_server(project_copy, *canary)

    with SteadyLoad(server, records) as load:
        result = release(project_copy, *canary, *QUICK, "--url", server.base)
        server.wait_until(
            lambda: (
                server.get("/model").json["version"] == 2
                and server.get("/model").json["challenger"]["version"] is None
            ),
            what="v2 serving alone",
        )
        tail = len(load.versions)
        server.wait_until(lambda: len(load.versions) > tail + 10, what="requests after promote")

    assert result.returncode == 0, result.stdout + result.stderr
    assert set(load.statuses) == {200}, "no request may fail during the release"
    assert 2 in load.versions[:tail] and 1 in load.versions[:tail]  # the canary took a share
    assert set(load.versions[tail + 1 :]) == {2}  # then production answered alone: v2
    assert alias(project_copy, "production") == 2
    assert alias(project_copy, "staging") is None
    record = journal(project_copy)
    assert record["outcome"] == "promoted" and record["strategy"] == "canary"
    decision = record["decisions"][-1]
    assert decision["step"] == "canary" and decision["decision"] == "promoted"
    assert decision["evidence"]["requests"] >= 15 and decision["evidence"]["errors"] == 0


def test_canary_over_its_latency_bound_is_rolled_back(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    promote(project_copy, 2, "candidate")
    canary = ["deploy.strategy=canary", "deploy.canary_fraction=0.5", "serve.poll_seconds=0.2"]
    server = start_server(project_copy, *canary)

    with SteadyLoad(server, records) as load:
        result = release(
            project_copy, *canary, *QUICK, "deploy.release.max_p99_ms=0.01", "--url", server.base
        )
        server.wait_until(lambda: server.get("/model").json["challenger"]["version"] is None)

    assert result.returncode == 1, result.stdout + result.stderr
    assert set(load.statuses) == {200}
    assert alias(project_copy, "production") == 1
    assert alias(project_copy, "staging") is None
    record = journal(project_copy)
    assert record["outcome"] == "rolled back"
    assert "p99 latency" in record["decisions"][-1]["reason"]


def test_shadow_release_compares_and_promotes_on_agreement(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    promote(project_copy, 2, "candidate")
    shadow = ["deploy.strategy=shadow", "serve.poll_seconds=0.2"]
    server = start_server(project_copy, *shadow)

    with SteadyLoad(server, records) as load:
        result = release(
            project_copy, *shadow, *QUICK, "deploy.release.min_agreement=0.5", "--url", server.base
        )

    assert result.returncode == 0, result.stdout + result.stderr
    assert set(load.statuses) == {200}
    decision = journal(project_copy)["decisions"][-1]
    assert decision["step"] == "shadow" and decision["decision"] == "promoted"
    assert decision["evidence"]["agreement"] >= 0.5
    assert alias(project_copy, "production") == 2


def test_release_preconditions_are_one_line_errors(
    project_copy: Path, start_server: Any, run: Any
) -> None:
    promote(project_copy, 1)
    promote(project_copy, 1, "candidate")
    same = run(["bucle", "release"], project_copy, check=False)
    assert "already is production" in same.stderr

    promote(project_copy, 2, "candidate")
    no_server = run(["bucle", "release", "deploy.strategy=canary"], project_copy, check=False)
    assert "needs the production server running" in no_server.stderr

    basic = start_server(project_copy)
    mismatch = run(
        ["bucle", "release", "deploy.strategy=canary", "--url", basic.base],
        project_copy,
        check=False,
    )
    assert "runs strategy 'basic'" in mismatch.stderr

    missing = run(["bucle", "release", "--version", "9"], project_copy, check=False)
    assert "has no version 9" in missing.stderr
    for result in (same, no_server, mismatch, missing):
        assert result.returncode != 0
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert alias(project_copy, "production") == 1


NOTIFIER = """
import json

from framework import hookimpl


class ReleaseNotes:
    def __init__(self, path):
        self.path = path

    @hookimpl
    def on_release_decision(self, release, decision):
        with open(self.path, "a") as notes:
            notes.write(json.dumps({"version": release["version"], **decision}) + "\\n")
        if decision["step"] == "staging":
            raise RuntimeError("the chat service is down")
"""


def test_every_decision_reaches_lifecycle_plugins_even_when_one_fails(
    project_copy: Path, install_distribution: Any
) -> None:
    env = install_distribution(
        project_copy.parent / "site",
        "bucle-release-notes",
        "1.0",
        {"release_notes": NOTIFIER},
        {"bucle.hooks": {"release_notes": "release_notes:ReleaseNotes"}},
    )
    notes = project_copy.parent / "notes.jsonl"
    promote(project_copy, 2, "candidate")

    result = release(project_copy, *QUICK, f"+hooks.release_notes.path={notes}", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    sent = [json.loads(line) for line in notes.read_text().splitlines()]
    recorded = journal(project_copy)["decisions"]
    assert [(n["step"], n["decision"]) for n in sent] == [
        (d["step"], d["decision"]) for d in recorded
    ]
    assert sent[-1]["decision"] == "promoted" and {n["version"] for n in sent} == {2}
    assert "the chat service is down" in result.stderr
