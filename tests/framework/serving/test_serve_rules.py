"""``serve.rules``: a real server holds served records to the project's ``validate.rules``.

The example project's rules say ``tenure_months: {min: 0}`` and ``plan: {allowed: [basic,
standard, premium]}``; the validate stage quarantines rows that break them, so the model never
learned from such a record. ``warn`` answers it flagged, counted and logged; ``refuse`` answers
422 naming the record, the field and the rule.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf
from prometheus_client.parser import text_string_to_metric_families

from framework.errors import ConfigError
from framework.serving.inference_log import read_inference_log
from framework.serving.rules import ServingRules
from tests.conftest import BIN
from tests.framework.serving.conftest import Server, promote, token_env

RULES = {
    "columns": {
        "tenure_months": {"type": "int", "min": 0},
        "plan": {"allowed": ["basic", "standard", "premium"], "canonical": True},
        "customer_id": {"unique": True, "not_null": True},
        "churned": {"allowed": [0, 1]},
    },
    "consistency": {"active_after_signup": "last_active_at >= signup_date"},
    "keys": ["customer_id"],
    "freshness": {"column": "last_active_at", "max_age_days": 1},
}


def broken(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Three real records: a negative tenure, an unknown plan, and a clean one."""
    chosen = copy.deepcopy(records[:3])
    chosen[0]["tenure_months"] = -5
    chosen[1]["plan"] = "platinum"
    return chosen


def violations(server: Server) -> dict[tuple[str, str], float]:
    families = {f.name: f for f in text_string_to_metric_families(server.get("/metrics").text)}
    return {
        (sample.labels["rule"], sample.labels["action"]): sample.value
        for sample in families["bucle_rule_violations"].samples
        if sample.name == "bucle_rule_violations_total"
    }


def test_warn_answers_flags_counts_and_logs_a_record_the_rules_would_quarantine(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    server = start_server(project_copy, "serve.flush_seconds=0.5")  # serve.rules: warn, default

    reply = server.post("/predict", {"records": broken(records)})

    assert reply.status == 200, reply.text
    answers = reply.json["predictions"]
    assert answers[0]["warnings"] == ["tenure_months: min 0"]
    assert answers[1]["warnings"] == ["plan: allowed basic, standard, premium"]
    assert "warnings" not in answers[2]
    assert all("prediction" in answer for answer in answers)
    counted = violations(server)
    assert counted[("tenure_months:min", "warned")] == 1
    assert counted[("plan:allowed", "warned")] == 1

    server.stop()  # flushes the log
    log = read_inference_log(project_copy / ".bucle")
    by_id = dict(zip(log["request_id"], log["rule_warnings"], strict=True))
    assert by_id[answers[0]["request_id"]] == ["tenure_months: min 0"]
    assert by_id[answers[1]["request_id"]] == ["plan: allowed basic, standard, premium"]
    assert by_id[answers[2]["request_id"]] == []


def test_refuse_answers_422_naming_the_record_the_field_and_the_rule(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    server = start_server(project_copy, "serve.rules=refuse")

    refused = server.post("/predict", {"records": broken(records)})
    clean = server.post("/predict", {"records": records[2:4]})

    assert refused.status == 422, refused.text
    detail = refused.json["detail"]
    assert detail.startswith(
        "record 0, field 'tenure_months': breaks the rule 'tenure_months: min 0'"
    )
    assert "(got -5)" in detail and "(and 1 more problem(s))" in detail
    assert "\n" not in detail
    errors = refused.json["errors"]
    assert [(e["record"], e["field"]) for e in errors] == [(0, "tenure_months"), (1, "plan")]
    assert "plan: allowed basic, standard, premium" in errors[1]["error"]
    assert clean.status == 200 and "warnings" not in clean.json["predictions"][0]
    assert violations(server)[("tenure_months:min", "refused")] == 1

    server.stop()
    logged = set(read_inference_log(project_copy / ".bucle")["request_id"])
    assert {answer["request_id"] for answer in clean.json["predictions"]} <= logged
    assert len(logged) == 2  # the refused request predicted nothing and logged nothing


def test_an_unknown_mode_stops_the_server_in_one_line(project_copy: Path) -> None:
    result = subprocess.run(
        [str(BIN / "bucle"), "serve", "--port", "9", "serve.rules=loud"],
        cwd=project_copy,
        env=token_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "serve.rules='loud' is not a mode; use one of off, warn, refuse" in result.stderr
    assert "Traceback" not in result.stderr


# --- the checker on its own: which rules apply to one record ----------------------------------


def test_only_rules_about_one_record_apply_and_absent_columns_are_skipped() -> None:
    rules = ServingRules(RULES, "warn")
    records = [
        {"customer_id": "a", "tenure_months": 3, "plan": "basic"},
        {"customer_id": "a", "tenure_months": 2.5, "plan": "Basic"},  # repeated id, odd spelling
        {
            "customer_id": None,
            "tenure_months": 1,
            "plan": "pro",
            "signup_date": "2024-05-01",
            "last_active_at": "2024-01-01",
        },
    ]

    found = rules.check(records)

    # In the order of the config; unique, keys, canonical and freshness judge a table, and
    # churned (the target) is not in the request.
    assert found.warnings == [
        [],
        ["tenure_months: type int", "plan: allowed basic, standard, premium"],
        [
            "plan: allowed basic, standard, premium",
            "customer_id: not_null",
            "active_after_signup: last_active_at >= signup_date",
        ],
    ]
    assert found.counts["plan:allowed"] == 2
    assert found.counts["consistency:active_after_signup"] == 1


def test_off_or_no_rules_means_no_checker_and_a_bad_mode_is_a_config_error() -> None:
    def config(mode: str, rules: Any = RULES) -> Any:
        return OmegaConf.create({"serve": {"rules": mode}, "validate": {"rules": rules}})

    assert ServingRules.from_config(config("off")) is None
    assert ServingRules.from_config(config("warn", {"columns": {}})) is None
    assert ServingRules.from_config(config("refuse")).refuses
    with pytest.raises(ConfigError, match=r"serve.rules='refus' .* did you mean 'refuse'"):
        ServingRules.from_config(config("refus"))


# --- the inference log keeps each record's warnings ---------------------------------------------


def test_warnings_survive_the_flush_and_an_old_buffer_gains_the_column(tmp_path: Path) -> None:
    import sqlite3
    from datetime import UTC, datetime

    from framework.serving.inference_log import BUFFER, InferenceLog, Prediction

    def row(request_id: str, warnings: tuple[str, ...] = ()) -> Prediction:
        return Prediction(
            request_id=request_id,
            timestamp=datetime.now(UTC),
            model_name="churn",
            model_version=1,
            model_sha256="ab" * 32,
            alias="production",
            inputs={"tenure_months": -5},
            prediction=1,
            probabilities={"0": 0.25, "1": 0.75},
            rule_warnings=warnings,
        )

    log = InferenceLog(tmp_path, flush_seconds=3600)
    log.start()
    log.append([row("flagged", ("tenure_months: min 0",))])
    log.close()  # flushed into Parquet
    with sqlite3.connect(tmp_path / "inference" / BUFFER) as db:  # as an older server left it
        db.execute("ALTER TABLE buffer DROP COLUMN rule_warnings")
    db.close()
    log = InferenceLog(tmp_path, flush_seconds=3600)
    log.start()
    log.append([row("clean")])
    log.close()

    read = read_inference_log(tmp_path).set_index("request_id")["rule_warnings"]
    assert read.to_dict() == {"flagged": ["tenure_months: min 0"], "clean": []}


def test_a_rule_that_cannot_judge_the_values_is_never_a_500(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    """``allowed: [yes, no]`` unquoted is read as booleans; on a text column the rules validator
    refuses it when it meets the text. The server answers (warn) or says why (refuse)."""
    promote(project_copy, 1)
    booleans = "validate.rules.columns.plan.allowed=[true,false]"
    warned = start_server(project_copy, booleans)
    answered = warned.post("/predict", {"records": records[:2]})
    assert answered.status == 200, answered.text
    warned.stop()

    refusing = start_server(project_copy, booleans, "serve.rules=refuse")
    unavailable = refusing.post("/predict", {"records": records[:2]})
    assert unavailable.status == 503, unavailable.text
    detail = unavailable.json["detail"]
    assert detail.startswith("serve.rules=refuse cannot check this request: ")
    assert "validate.rules.columns.plan.allowed" in detail and "\n" not in detail
    refusing.stop()
