"""Strategies against real servers: basic, canary (a reproducible share by request id), shadow
(the challenger predicts, is logged and compared, never answers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from framework.serving.inference_log import read_inference_log
from framework.serving.router import TrafficStrategy, canary_share, routing_key
from plugins.registries.local import LocalRegistry
from tests.framework.serving.conftest import Server, promote


def metric(server: Server, name: str, **labels: str) -> float:
    """The sum of one metric's samples whose labels include ``labels``."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(server.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_canary_answers_the_share_of_requests_its_ids_choose(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    promote(project_copy, 2, "staging")
    server = start_server(project_copy, "--strategy", "canary", "deploy.canary_fraction=0.3")
    server.wait_until(lambda: server.get("/model").json["challenger"]["version"] == 2)

    answered = {}
    for _ in range(120):
        # The client's id steers nothing: every request sends the same one.
        reply = server.post("/predict", {"records": records[:2]}, {"X-Request-ID": "same"})
        assert reply.status == 200, reply.text
        ids = [a["request_id"] for a in reply.json["predictions"]]
        assert {routing_key(request_id) for request_id in ids} == {routing_key(ids[0])}
        key = routing_key(ids[0])
        answered[key] = reply.json["model"]["version"]
        assert {a["model_version"] for a in reply.json["predictions"]} == {answered[key]}

    expected = {key: 2 if canary_share(key) < 0.3 else 1 for key in answered}
    assert answered == expected  # reproducible: the server's id alone says which model answered
    share = sum(version == 2 for version in answered.values()) / len(answered)
    assert 0.15 < share < 0.45
    described = server.get("/model").json
    assert described["strategy"] == "canary"
    assert described["traffic"]["answers"] == {"production": 0.7, "staging": 0.3}
    assert metric(server, "bucle_requests_total", model_version="2", outcome="ok") == sum(
        version == 2 for version in answered.values()
    )
    server.stop()
    logged = read_inference_log(project_copy / ".bucle")
    by_version = logged.groupby("model_version")["alias"].unique().to_dict()
    assert {v: list(a) for v, a in by_version.items()} == {1: ["production"], 2: ["staging"]}
    # Replayed from the log alone: each row's recorded id gives the model that answered it.
    replayed = [
        2 if canary_share(routing_key(request_id)) < 0.3 else 1
        for request_id in logged["request_id"]
    ]
    assert replayed == list(logged["model_version"])


def test_removing_the_challenger_alias_returns_the_canary_to_production_alone(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    promote(project_copy, 2, "staging")
    server = start_server(
        project_copy, "--strategy", "canary", "deploy.canary_fraction=1.0", "serve.poll_seconds=0.2"
    )
    server.wait_until(lambda: server.post("/predict", {"records": records[:1]}).json["model"])
    assert server.post("/predict", {"records": records[:1]}).json["model"]["version"] == 2

    LocalRegistry(str(project_copy / ".bucle" / "registry.db")).delete_model_alias(
        name="churn", alias="staging"
    )

    server.wait_until(lambda: server.get("/model").json["challenger"]["version"] is None)
    versions = {
        server.post("/predict", {"records": records[:1]}).json["model"]["version"]
        for _ in range(20)
    }
    assert versions == {1}
    assert server.get("/model").json["traffic"]["answers"] == {"production": 1.0}


def test_shadow_predicts_every_request_but_never_answers(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    promote(project_copy, 2, "staging")
    server = start_server(project_copy, "--strategy", "shadow", "serve.flush_seconds=0.5")
    server.wait_until(lambda: server.get("/model").json["challenger"]["version"] == 2)

    for index in range(10):
        reply = server.post("/predict", {"records": records[:5]}, {"X-Request-ID": f"s-{index}"})
        assert reply.status == 200
        assert reply.json["model"]["version"] == 1
        assert {a["model_version"] for a in reply.json["predictions"]} == {1}

    server.wait_until(
        lambda: metric(server, "bucle_shadow_requests_total", model_version="2") == 10,
        what="ten shadow predictions",
    )
    compared = metric(server, "bucle_shadow_records_total", model_version="2")
    agreed = metric(server, "bucle_shadow_records_total", model_version="2", agreement="agree")
    assert compared == 50 and 0 < agreed <= 50
    assert metric(server, "bucle_requests_total", model_version="2") == 0
    described = server.get("/model").json
    assert described["strategy"] == "shadow"
    assert described["traffic"] == {"answers": {"production": 1.0}, "shadow": "staging"}
    server.stop()

    answered = read_inference_log(project_copy / ".bucle")
    shadowed = read_inference_log(project_copy / ".bucle" / "shadow")
    assert set(answered["model_version"]) == {1} and len(answered) == 50
    assert set(shadowed["model_version"]) == {2} and len(shadowed) == 50
    assert set(shadowed["request_id"]) == set(answered["request_id"])
    # Agreement counted by the server is what the two logs say, record by record.
    pairs = answered.merge(shadowed, on="request_id", suffixes=("_p", "_s"))
    same = sum(
        json.dumps(p) == json.dumps(s)
        for p, s in zip(pairs["prediction_p"], pairs["prediction_s"], strict=True)
    )
    assert same == agreed


def test_basic_strategy_ignores_the_challenger_alias(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    promote(project_copy, 2, "staging")
    server = start_server(project_copy)
    versions = {
        server.post("/predict", {"records": records[:1]}, {"X-Request-ID": f"b-{i}"}).json["model"][
            "version"
        ]
        for i in range(30)
    }
    assert versions == {1}
    described = server.get("/model").json
    assert described["strategy"] == "basic" and described["challenger"] is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("deploy.strategy=blue_green", "deploy.strategy='blue_green' is not a strategy"),
        ("deploy.canary_fraction=1.5", "deploy.canary_fraction=1.5 must be a share"),
        ("deploy.challenger_alias=production", "deploy.challenger_alias='production'"),
        ("deploy.release.min_requests=0", "deploy.release.min_requests=0 must be positive"),
        ("+deploy.release.max_latency=3", "deploy.release has no key 'max_latency'"),
    ],
)
def test_strategy_mistakes_fail_in_one_line_before_serving(
    project_copy: Path, run: Any, override: str, message: str
) -> None:
    result = run(["bucle", "serve", "--port", "1", override], project_copy, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_canary_share_is_uniform_and_stable() -> None:
    shares = [canary_share(f"id-{i}") for i in range(20_000)]
    assert all(0 <= share < 1 for share in shares)
    assert abs(sum(share < 0.1 for share in shares) / len(shares) - 0.1) < 0.01
    assert canary_share("order-77") == canary_share("order-77")
    assert TrafficStrategy.from_config({}) == TrafficStrategy("basic", "staging", 0.1)
