"""Writes over HTTP: the token, server-issued request ids, write-once labels and corrections."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framework.serving.feedback import read_feedback, read_labels
from framework.serving.inference_log import read_inference_log
from tests.framework.serving.conftest import TEST_TOKEN, Server, Trained, promote

PREDICT_TOKEN = "test-predict-token-9a2e"


@pytest.fixture(scope="module")
def guarded(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """v1 as production, the write token from the environment, /predict left open."""
    path = tmp_path_factory.mktemp("auth") / "project"
    shutil.copytree(trained.path, path, ignore=shutil.ignore_patterns("inference"))
    promote(path, 1)
    server = Server(path, "serve.flush_seconds=0.5")
    try:
        server.start()
        server.wait_ready()
        yield server
    finally:
        server.stop()


def labels_of(state: Path, *request_ids: str) -> dict[str, Any]:
    resolved = read_labels(state).set_index("request_id")["label"]
    return {key: value for key, value in resolved.items() if key in request_ids}


def predict_ids(server: Server, records: list[dict[str, Any]], **headers: str) -> list[str]:
    reply = server.post("/predict", {"records": records}, headers)
    assert reply.status == 200, reply.text
    return [answer["request_id"] for answer in reply.json["predictions"]]


def test_feedback_without_the_token_or_with_a_wrong_one_is_401(
    guarded: Server, records: list[dict[str, Any]]
) -> None:
    [request_id] = predict_ids(guarded, records[:1])
    body = {"items": [{"request_id": request_id, "label": 1}]}

    missing = guarded.post("/feedback", body, {"Authorization": ""})
    wrong = guarded.post("/feedback", body, {"Authorization": "Bearer not-the-token"})
    scheme = guarded.post("/feedback", body, {"Authorization": f"Basic {TEST_TOKEN}"})

    for reply in (missing, wrong, scheme):
        assert reply.status == 401, reply.text
        assert reply.headers.get("www-authenticate") == "Bearer"
        assert "\n" not in reply.json["detail"] and "serve.token" in reply.json["detail"]
    assert read_feedback(guarded.project / ".bucle").empty
    assert guarded.post("/feedback", body).status == 200  # the right token
    # The token is never shown: not by /model, /metrics, nor in the server's log.
    for shown in (guarded.get("/model").text, guarded.get("/metrics").text, guarded.log):
        assert TEST_TOKEN not in shown


def test_without_a_configured_token_writes_are_closed_with_403(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    server = start_server(project_copy, token=None)
    [request_id] = predict_ids(server, records[:1])  # /predict stays open

    reply = server.post(
        "/feedback",
        {"items": [{"request_id": request_id, "label": 1}]},
        {"Authorization": "Bearer anything"},
    )

    assert reply.status == 403, reply.text
    assert "serve.token" in reply.json["detail"] and "BUCLE_SERVE_TOKEN" in reply.json["detail"]


def test_a_predict_token_when_configured_guards_predict(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    server = start_server(project_copy, f"serve.predict_token={PREDICT_TOKEN}")

    refused = server.post("/predict", {"records": records[:1]})
    answered = server.post(
        "/predict", {"records": records[:1]}, {"Authorization": f"Bearer {PREDICT_TOKEN}"}
    )

    assert refused.status == 401 and refused.headers.get("www-authenticate") == "Bearer"
    assert answered.status == 200, answered.text
    assert PREDICT_TOKEN not in server.get("/model").text


def test_request_ids_are_the_servers_and_the_clients_id_is_kept_apart(
    guarded: Server, records: list[dict[str, Any]]
) -> None:
    first = guarded.post("/predict", {"records": records[:2]}, {"X-Request-ID": "order-77"})
    again = guarded.post("/predict", {"records": records[:2]}, {"X-Request-ID": "order-77"})

    ids = [a["request_id"] for reply in (first, again) for a in reply.json["predictions"]]
    assert len(set(ids)) == 4  # a reused client id never makes two rows share an id
    assert all(not request_id.startswith("order-77") for request_id in ids)
    assert first.headers.get("x-request-id") == "order-77"
    assert {a["client_request_id"] for a in first.json["predictions"]} == {"order-77"}
    log = read_inference_log(guarded.project / ".bucle").set_index("request_id")
    assert list(log.loc[ids, "client_request_id"]) == ["order-77"] * 4
    bad = guarded.post("/predict", {"records": records[:1]}, {"X-Request-ID": "a b"})
    assert bad.status == 422 and "X-Request-ID" in bad.json["detail"]


def test_a_label_is_written_once_and_a_correction_is_a_new_attributed_record(
    guarded: Server, records: list[dict[str, Any]]
) -> None:
    first, second = predict_ids(guarded, records[:2])
    state = guarded.project / ".bucle"
    original = {"items": [{"request_id": first, "label": 1, "source": "crm"}]}
    stored = guarded.post("/feedback", original).json
    assert stored == {"stored": 1, "unknown": [], "unchanged": []}

    overwrite = guarded.post(
        "/feedback",
        {"items": [{"request_id": second, "label": 0}, {"request_id": first, "label": 0}]},
    )
    assert overwrite.status == 409, overwrite.text
    assert overwrite.json["detail"].startswith(f"item 1, field 'request_id': request {first}")
    assert "correction" in overwrite.json["detail"] and "\n" not in overwrite.json["detail"]
    assert [e["item"] for e in overwrite.json["errors"]] == [1]
    assert labels_of(state, first, second) == {first: 1}

    correction = {"request_id": first, "label": 0, "correction": True, "reason": "refund"}
    corrected = guarded.post("/feedback", {"items": [{**correction, "source": "support"}]})

    assert corrected.status == 200, corrected.text
    history = read_feedback(state)
    history = history[history["request_id"].isin([first, second])]
    assert list(history["label"]) == [1, 0]
    assert list(history["correction"]) == [False, True]
    assert list(history["source"]) == ["crm", "support"]
    assert list(history["reason"]) == [None, "refund"]
    assert set(history["principal"]) == {"serve.token"}
    assert labels_of(state, first, second) == {first: 0}
    nothing = {"request_id": second, "label": 1, "correction": True, "reason": "x"}
    assert guarded.post("/feedback", {"items": [nothing]}).status == 409
    no_reason = {"request_id": first, "label": 1, "correction": True}
    assert guarded.post("/feedback", {"items": [no_reason]}).status == 422


def test_the_config_token_wins_over_the_environment_and_neither_shows_in_repr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from omegaconf import OmegaConf

    from framework.serving.auth import Tokens

    monkeypatch.setenv("BUCLE_SERVE_TOKEN", "from-the-environment-1")
    monkeypatch.setenv("CHURN_PREDICT", "predict-from-a-reference")
    serve = OmegaConf.create(
        {"token": "from-the-config-12345", "predict_token": "${oc.env:CHURN_PREDICT}"}
    )

    tokens = Tokens.from_config(serve)
    from_env = Tokens.from_config(OmegaConf.create({"token": None, "predict_token": None}))

    assert (tokens.write, tokens.predict) == ("from-the-config-12345", "predict-from-a-reference")
    assert (from_env.write, from_env.predict) == ("from-the-environment-1", None)
    assert "from-the" not in repr(tokens) and "predict-from" not in repr(tokens)


@pytest.mark.parametrize(
    ("token", "expected"),
    [("short-one", "characters long; use at least 16"), ("has a space in it!", "spaces")],
)
def test_a_weak_token_is_one_line_naming_the_setting_never_the_value(
    token: str, expected: str
) -> None:
    from omegaconf import OmegaConf

    from framework.errors import ConfigError
    from framework.serving.auth import Tokens

    with pytest.raises(ConfigError) as raised:
        Tokens.from_config(OmegaConf.create({"token": token, "predict_token": None}))

    message = str(raised.value)
    assert message.startswith("serve.token (or BUCLE_SERVE_TOKEN) ") and expected in message
    assert token not in message and "\n" not in message
