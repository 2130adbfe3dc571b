"""Which model a real server serves: none yet, a tampered one, and the alias moving under load."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.framework.serving.conftest import Trained, promote, records_of


def artifact_of(project: Path, sha256: str) -> Path:
    return project / ".bucle" / "artifacts" / sha256[:2] / sha256[2:]


def registered_sha256(project: Path, version: int) -> str:
    from plugins.registries.local import LocalRegistry

    found = LocalRegistry(str(project / ".bucle" / "registry.db")).get_model_version(
        name="churn", version=version
    )
    assert found is not None
    return found.sha256


def a_record(trained: Trained) -> dict[str, Any]:
    from framework.modeling.artifact import load_model

    sha256 = registered_sha256(trained.path, 1)
    schema = load_model(artifact_of(trained.path, sha256)).schema
    return records_of(trained.test_rows, schema)[0]


def test_not_ready_until_a_version_is_promoted_then_ready_without_restart(
    project_copy: Path, start_server: Any, trained: Trained
) -> None:
    server = start_server(project_copy, "serve.poll_seconds=0.2", ready=False)

    reply = server.get("/ready")
    assert reply.status == 503
    assert reply.json["ready"] is False
    assert "alias 'production'" in reply.json["reason"]
    assert "bucle models promote" in reply.json["reason"]
    refused = server.post("/predict", {"records": [a_record(trained)]})
    assert refused.status == 503 and "no model is loaded" in refused.json["detail"]
    assert server.get("/model").json["version"] is None

    promote(project_copy, 2)

    server.wait_ready()
    assert server.post("/predict", {"records": [a_record(trained)]}).json["model"]["version"] == 2


def test_a_tampered_artifact_is_refused_with_the_sha256_reason(
    project_copy: Path, start_server: Any, trained: Trained
) -> None:
    promote(project_copy, 1)
    artifact = artifact_of(project_copy, registered_sha256(project_copy, 1))
    original = artifact.read_bytes()
    artifact.write_bytes(original + b"\0")

    server = start_server(project_copy, "serve.poll_seconds=0.2", ready=False)

    reply = server.get("/ready")
    assert reply.status == 503
    reason = reply.json["reason"]
    assert "refused to load churn v1" in reason and "sha256" in reason
    assert "sha256" in server.log and "refused to load churn v1" in server.log
    assert server.post("/predict", {"records": [a_record(trained)]}).status == 503
    # Restoring the artifact is enough: the server retries the alias' version on every poll.
    artifact.write_bytes(original)
    server.wait_ready()


def test_a_version_that_fails_to_load_leaves_the_current_one_serving(
    project_copy: Path, start_server: Any, trained: Trained
) -> None:
    promote(project_copy, 1)
    server = start_server(project_copy, "serve.poll_seconds=0.2")
    artifact = artifact_of(project_copy, registered_sha256(project_copy, 2))
    artifact.write_bytes(artifact.read_bytes()[:-1])

    promote(project_copy, 2)

    problem = server.wait_until(lambda: server.get("/model").json["problem"], what="a problem")
    assert "refused to load churn v2" in problem and "still serving v1" in problem
    assert server.get("/ready").status == 200
    assert server.post("/predict", {"records": [a_record(trained)]}).json["model"]["version"] == 1


@pytest.mark.slow
def test_promoting_under_steady_load_drops_no_request_and_switches_versions(
    project_copy: Path, start_server: Any, trained: Trained
) -> None:
    promote(project_copy, 1)
    server = start_server(project_copy, "serve.poll_seconds=0.2")
    record = a_record(trained)
    answers: dict[int, list[tuple[int, Any]]] = {client: [] for client in range(3)}
    stop = threading.Event()

    def client(number: int) -> None:
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                reply = server.post("/predict", {"records": [record]})
                version = reply.json["model"]["version"] if reply.status == 200 else reply.text
                answers[number].append((reply.status, version))
            except OSError as error:  # a refused or reset connection is a failed request too
                answers[number].append((0, repr(error)))

    def on_v2() -> int:
        return sum(1 for seen in answers.values() for _, v in seen if v == 2)

    clients = [threading.Thread(target=client, args=(n,)) for n in answers]
    for thread in clients:
        thread.start()
    try:
        server.wait_until(lambda: sum(map(len, answers.values())) >= 30, what="requests on v1")
        promote(project_copy, 2)
        server.wait_until(lambda: on_v2() >= 30, what="requests on v2")
    finally:
        stop.set()
        for thread in clients:
            thread.join()

    every = [answer for seen in answers.values() for answer in seen]
    failed = [answer for answer in every if answer[0] != 200]
    assert failed == [], failed[:5]
    for seen in answers.values():
        versions = [version for _, version in seen]
        # Each client sees v1, then v2, and never v1 again once v2 answered it.
        switch = versions.index(2)
        assert switch > 0 and set(versions[:switch]) == {1}
        assert set(versions[switch:]) == {2}
