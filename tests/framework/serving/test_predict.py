"""/predict, /feedback, /health, /model and /metrics of a real server serving v1 as production."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framework.features.serving import model_inputs
from framework.modeling.artifact import ModelBundle, load_model
from framework.serving.feedback import read_labels
from framework.serving.inference_log import read_inference_log
from tests.framework.serving.conftest import Server, Trained, promote, records_of

MAX_RECORDS = 400
MAX_BODY = 300_000


@pytest.fixture(scope="module")
def served(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    path = tmp_path_factory.mktemp("predict") / "project"
    shutil.copytree(trained.path, path)
    promote(path, 1)
    server = Server(
        path,
        f"serve.max_records={MAX_RECORDS}",
        f"serve.max_body_bytes={MAX_BODY}",
        "serve.flush_seconds=0.5",
    )
    try:
        server.start()
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bundle(served: Server) -> ModelBundle:
    """v1 loaded straight from the store, as an offline user would load it."""
    sha256 = served.get("/model").json["sha256"]
    return load_model(served.project / ".bucle" / "artifacts" / sha256[:2] / sha256[2:], sha256)


@pytest.fixture(scope="module")
def records(trained: Trained, bundle: ModelBundle) -> list[dict[str, Any]]:
    return records_of(trained.test_rows, bundle.schema)


def test_predictions_equal_offline_predictions_of_the_same_model(
    served: Server, bundle: ModelBundle, records: list[dict[str, Any]]
) -> None:
    reply = served.post("/predict", {"records": records})

    assert reply.status == 200, reply.text
    answers = reply.json["predictions"]
    inputs = model_inputs(records, bundle.schema)
    expected = bundle.predict(inputs).tolist()
    proba = bundle.pipeline.predict_proba(inputs)
    assert [a["prediction"] for a in answers] == expected
    for answer, row in zip(answers, proba, strict=True):
        assert answer["model_version"] == 1
        assert list(answer["probabilities"]) == ["0", "1"]
        assert answer["probabilities"]["0"] == pytest.approx(row[0], abs=1e-12)
        assert answer["probabilities"]["1"] == pytest.approx(row[1], abs=1e-12)
    # The model's own decision threshold is applied, not the most probable class.
    threshold = bundle.decision_threshold
    assert threshold is not None and threshold < 0.5
    assert any(threshold <= a["probabilities"]["1"] < 0.5 for a in answers)
    assert reply.json["model"] == {"name": "churn", "version": 1, "alias": "production"}


def test_each_record_gets_a_request_id_the_server_issues(
    served: Server, records: list[dict[str, Any]]
) -> None:
    chosen = served.post("/predict", {"records": records[:3]}, {"X-Request-ID": "order-77"})
    fresh = served.post("/predict", {"records": records[:2]})

    # Each request gets a fresh uuid4, and its records are numbered after it; a client's own
    # id is repeated beside the server's, never used as it.
    for reply, count in ((chosen, 3), (fresh, 2)):
        ids = [a["request_id"] for a in reply.json["predictions"]]
        prefix = ids[0].rsplit("-", 1)[0]
        assert ids == [f"{prefix}-{index}" for index in range(count)]
        assert len(prefix) == 32 and int(prefix, 16) >= 0
    assert [a["client_request_id"] for a in chosen.json["predictions"]] == ["order-77"] * 3
    assert all("client_request_id" not in a for a in fresh.json["predictions"])
    bad = served.post("/predict", {"records": records[:1]}, {"X-Request-ID": "a b"})
    assert bad.status == 422 and "X-Request-ID" in bad.json["detail"]


def with_change(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = {**record, **changes}
    return {k: v for k, v in changed.items() if v is not DROP}


DROP = object()

INVALID = [
    ("unknown field", {"colour": "red"}, "colour", "unknown field"),
    ("missing field", {"tenure_months": DROP}, "tenure_months", "missing field"),
    ("target sent", {"churned": 1}, "churned", "/feedback"),
    ("text for a number", {"age": "forty"}, "age", "must be a number"),
    ("NaN text for a number", {"monthly_charges": "NaN"}, "monthly_charges", "must be a number"),
    ("infinite text", {"total_spend": "-Infinity"}, "total_spend", "must be a number"),
    ("huge number", {"n_orders": 1e300}, "n_orders", "out of range"),
    ("huge integer", {"n_orders": 10**400}, "n_orders", "out of range"),
    ("number for text", {"plan": 3}, "plan", "must be text"),
    ("object for a number", {"age": {"$gt": 1}}, "age", "single value"),
    ("list for text", {"region": ["north"]}, "region", "single value"),
    ("unparsable date", {"signup_date": "2024-13-45"}, "signup_date", "ISO 8601"),
    ("number for a date", {"last_active_at": 1700000000}, "last_active_at", "ISO 8601"),
    (
        "derived value overflows",
        {"support_tickets": 3e38, "tenure_months": 1},
        "tickets_per_year",
        "out of range",
    ),
]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_records_are_refused_naming_the_record_and_the_field(
    served: Server, records: list[dict[str, Any]], change: dict, field: str, message: str
) -> None:
    body = {"records": [records[0], records[1], with_change(records[2], **change), records[3]]}

    reply = served.post("/predict", body)

    assert reply.status == 422, reply.text
    detail = reply.json["detail"]
    assert detail.startswith(f"record 2, field '{field}'"), detail
    assert message in detail
    assert {"record": 2, "field": field} in [
        {"record": e["record"], "field": e["field"]} for e in reply.json["errors"]
    ]


MALFORMED: list[tuple[str, bytes]] = [
    ("empty body", b""),
    ("truncated JSON", b'{"records": [{"age": 1'),
    ("null", b"null"),
    ("a list", b"[]"),
    ("a number", b"123"),
    ("a string", b'"records"'),
    ("records null", b'{"records": null}'),
    ("records an object", b'{"records": {"age": 1}}'),
    ("records a string", b'{"records": "abc"}'),
    ("records empty", b'{"records": []}'),
    ("record null", b'{"records": [null]}'),
    ("record a list", b'{"records": [[1, 2]]}'),
    ("record empty", b'{"records": [{}]}'),
    ("extra top-level key", b'{"records": [{}], "debug": true}'),
    ("NaN literal", b'{"records": [{"age": NaN}]}'),
    ("Infinity literal", b'{"records": [{"age": -Infinity}]}'),
    ("overflowing literal", b'{"records": [{"age": 1e999}]}'),
    ("too many digits", b'{"records": [{"age": ' + b"9" * 5000 + b"}]}"),
    ("deep nesting", b"[" * 50_000 + b"]" * 50_000),
    ("invalid UTF-8", b'{"records": [{"region": "\xff\xfe"}]}'),
    ("UTF-16 BOM", b"\xff\xfe{\x00}\x00"),
    ("lone surrogate key", b'{"records": [{"\\ud800": 1}]}'),
    ("lone surrogate value", b'{"records": [{"signup_date": "\\udfff"}]}'),
    ("nested objects", b'{"records": [{"age": {"a": {"b": [1, {"c": null}]}}}]}'),
]


@pytest.mark.parametrize("body", [case[1] for case in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_input_never_makes_the_server_answer_500(served: Server, body: bytes) -> None:
    reply = served.post("/predict", body)

    assert reply.status in (400, 413, 422), reply.text
    assert reply.json["detail"]


def test_any_field_of_a_real_record_set_to_a_strange_value_is_refused_or_answered(
    served: Server, records: list[dict[str, Any]]
) -> None:
    strange = [None, "", " ", "NaN", "1e999", "-0", True, 0, -1e-320, 2**63, [], {}, "\u0000"]
    statuses = set()
    for field in records[0]:
        for value in strange:
            reply = served.post(
                "/predict", {"records": [with_change(records[0], **{field: value})]}
            )
            assert reply.status in (200, 422), (field, value, reply.text)
            statuses.add(reply.status)
    assert statuses == {200, 422}
    assert served.get("/health").status == 200


def test_payload_size_and_record_count_are_bounded_by_config(
    served: Server, records: list[dict[str, Any]]
) -> None:
    too_many = served.post("/predict", {"records": [{}] * (MAX_RECORDS + 1)})
    too_big = served.post("/predict", {"records": [records[0]] * 2, "pad": "x" * MAX_BODY})

    assert too_many.status == 413
    assert f"at most {MAX_RECORDS}" in too_many.json["detail"]
    assert "serve.max_records" in too_many.json["detail"]
    assert too_big.status == 413
    assert f"larger than {MAX_BODY} bytes" in too_big.json["detail"]


def test_feedback_stores_labels_and_reports_unknown_ids(
    served: Server, records: list[dict[str, Any]]
) -> None:
    answered = served.post("/predict", {"records": records[:2]}).json["predictions"]
    first, second = (answer["request_id"] for answer in answered)

    reply = served.post(
        "/feedback",
        {
            "items": [
                {"request_id": first, "label": 1},
                {"request_id": second, "label": "0"},
                {"request_id": "never-made", "label": 1},
            ]
        },
    )

    assert reply.status == 200, reply.text
    assert reply.json == {"stored": 2, "unknown": ["never-made"], "unchanged": []}
    labels = read_labels(served.project / ".bucle").set_index("request_id")["label"]
    assert labels.to_dict() == {first: 1, second: 0}
    wrong = served.post("/feedback", {"items": [{"request_id": first, "label": "maybe"}]})
    assert wrong.status == 422
    assert wrong.json["detail"].startswith("item 0, field 'label'")
    assert "classes: 0, 1" in wrong.json["detail"]
    assert served.post("/feedback", {"items": [{"label": 1}]}).status == 422


def test_feedback_that_cannot_be_stored_is_a_503_not_a_500(
    project_copy: Path, start_server: Any
) -> None:
    promote(project_copy, 1)  # labels are checked against the served model first
    server = start_server(project_copy)
    inference = project_copy / ".bucle" / "inference"
    inference.rename(inference.with_name("inference-moved"))
    inference.write_text("not a directory")  # the feedback store cannot be opened

    reply = server.post("/feedback", {"items": [{"request_id": "r-0", "label": 1}]})

    assert reply.status == 503, reply.text
    assert reply.json["detail"].startswith("cannot store the feedback: ")
    assert reply.json["detail"].endswith("; retry")


def test_metrics_expose_the_four_families_with_their_labels(
    served: Server, records: list[dict[str, Any]]
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    served.post("/predict", {"records": records[:5]})
    served.post("/predict", {"records": [{}]})

    reply = served.get("/metrics")

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(reply.text)}
    requests = {
        (s.labels["model_version"], s.labels["outcome"]): s.value
        for s in families["bucle_requests"].samples
        if s.name == "bucle_requests_total"
    }
    assert requests[("1", "ok")] >= 1 and requests[("1", "invalid")] >= 1
    assert families["bucle_requests"].type == "counter"
    latency = families["bucle_request_duration_seconds"]
    assert latency.type == "histogram"
    buckets = [s for s in latency.samples if s.name.endswith("_bucket")]
    assert {"le", "model_version", "outcome"} <= set(buckets[0].labels)
    assert families["bucle_requests_in_flight"].type == "gauge"
    classes = {
        (s.labels["model_version"], s.labels["class"])
        for s in families["bucle_predictions"].samples
        if s.name == "bucle_predictions_total"
    }
    assert classes <= {("1", "0"), ("1", "1")} and len(classes) >= 1
    counted = sum(
        s.value for s in families["bucle_predictions"].samples if s.name.endswith("_total")
    )
    assert counted >= 5


def test_health_model_and_ready_describe_the_served_version(served: Server) -> None:
    assert served.get("/health").json == {"status": "alive"}
    assert served.get("/ready").json == {"ready": True, "alias": "production", "version": 1}
    model = served.get("/model").json
    assert model["version"] == 1 and model["alias"] == "production"
    assert model["strategy"] == "basic"
    assert model["traffic"] == {"answers": {"production": 1.0}, "shadow": None}
    assert len(model["sha256"]) == 64
    assert model["fields"]["age"] == "number" and model["fields"]["signup_date"] == "datetime"
    assert "tickets_per_year" not in model["fields"]  # derived: computed, never sent


def test_every_answered_record_is_in_the_inference_log_partitioned_by_hour(
    served: Server, records: list[dict[str, Any]]
) -> None:
    reply = served.post("/predict", {"records": records[:4]}, {"X-Request-ID": "logged"})
    answers = {a["request_id"]: a for a in reply.json["predictions"]}

    state = served.project / ".bucle"
    served.wait_until(
        lambda: list((state / "inference" / "predictions").glob("date=*/hour=*/part-*.parquet")),
        what="a Parquet partition",
    )
    log = read_inference_log(state).set_index("request_id")

    for index, request_id in enumerate(answers):
        row = log.loc[request_id]
        assert row["inputs"] == records[index]
        assert row["prediction"] == answers[request_id]["prediction"]
        assert row["probabilities"] == answers[request_id]["probabilities"]
        assert row["model_version"] == 1 and row["alias"] == "production"
    assert not log.index.duplicated().any()
    partitions = list((state / "inference" / "predictions").glob("date=*/hour=*"))
    assert all(p.name.startswith("hour=") and len(p.name) == 7 for p in partitions)


def test_a_bundle_loaded_offline_matches_what_model_reports(
    served: Server, bundle: ModelBundle
) -> None:
    model = served.get("/model").json
    assert model["decision_threshold"] == bundle.decision_threshold
    assert model["classes"] == bundle.classes


def test_without_a_threshold_the_served_rule_is_the_estimators_predict(
    bundle: ModelBundle, records: list[dict[str, Any]]
) -> None:
    from dataclasses import replace

    plain = replace(bundle, decision_threshold=None, positive_label=None)
    inputs = model_inputs(records, plain.schema)

    served = plain.decide(plain.pipeline.predict_proba(inputs)).tolist()

    assert served == plain.pipeline.predict(inputs).tolist()
    assert served != bundle.decide(bundle.pipeline.predict_proba(inputs)).tolist()  # rule matters
