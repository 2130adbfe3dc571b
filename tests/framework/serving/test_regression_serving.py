"""A regression model served over HTTP: numbers, not probabilities, the same as offline; actual
values fed back; a shadow compared by how far apart the two models are."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.modeling.artifact import load_model
from framework.modeling.schema import prepare_inputs
from tests.conftest import copy_project, run_command
from tests.framework.serving.conftest import Server, promote, records_of, token_env

SALES = ["data=synthetic_sales", "data.n_rows=1200"]


@pytest.fixture(scope="module")
def sales_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The project on the sales table: v1 (the default regressor) and v2 (ridge), v1 serving."""
    path = copy_project(tmp_path_factory.mktemp("sales") / "project")
    run_command(["bucle", "params", *SALES], path)
    first = run_command(["bucle", "run", *SALES], path)
    run_command(["bucle", "run", *SALES, "model=ridge"], path)
    promote(path, 1)
    line = next(line for line in first.stderr.splitlines() if "outputs in" in line)
    return path, Path(line.split("outputs in ", 1)[1].strip())


def test_a_regression_model_answers_numbers_equal_to_the_offline_ones(
    sales_project: tuple[Path, Path],
) -> None:
    project, work = sales_project
    bundle = load_model(work / "models" / "model.skops")
    records = records_of(work / "data" / "test.parquet", bundle.schema)[:50]
    import pandas as pd

    test = pd.read_parquet(work / "data" / "test.parquet").head(50)
    offline = bundle.predict(prepare_inputs(test, bundle.schema))
    server = Server(project).start()
    try:
        server.wait_ready()
        described = server.get("/model").json
        assert described["task"] == "regression" and described["classes"] == []
        reply = server.post("/predict", {"records": records})
        assert reply.status == 200, reply.text
        answers = reply.json["predictions"]
        assert all("probabilities" not in answer for answer in answers)
        served = [answer["prediction"] for answer in answers]
        assert served == pytest.approx(list(offline), abs=1e-9)

        ids = [answer["request_id"] for answer in answers]
        pairs = zip(ids, test["units_sold"], strict=True)
        actual = [{"request_id": i, "label": float(v)} for i, v in pairs]
        stored = server.post("/feedback", {"items": actual})
        assert stored.status == 200 and stored.json["stored"] == 50
        wrong = server.post("/feedback", {"items": [{"request_id": ids[0], "label": "many"}]})
        assert wrong.status == 422 and "must be the actual value, a number" in wrong.text
        # An absurd actual value (RMSE would overflow) or a non-finite one is refused, by item.
        low, high = min(served), max(served)
        for absurd in (1.7e308, -1.7e308, high + 50 * max(high - low, 1.0)):
            item = {"request_id": ids[1], "label": absurd, "correction": True, "reason": "r"}
            refused = server.post(
                "/feedback", {"items": [{"request_id": ids[0], "label": 1.0}, item]}
            )
            assert refused.status == 422, refused.text
            assert refused.json["detail"].startswith("item 1, field 'label': ")
            assert "serve.label_bounds" in refused.json["detail"] or "out of range" in refused.text
        overflow = b'{"items": [{"request_id": "%s", "label": 1e999}]}' % ids[2].encode()
        assert server.post("/feedback", overflow).status == 422
        # The default bound is the training target's range widened by serve.label_margin (10)
        # spans each side: a large but plausible actual value is kept, one beyond is refused.
        target = pd.read_parquet(work / "data" / "train.parquet")["units_sold"]
        span = max(float(target.max() - target.min()), 1.0)
        fix = {"request_id": ids[3], "correction": True, "reason": "recounted"}
        beyond = {**fix, "label": float(target.max()) + 10.5 * span}
        assert server.post("/feedback", {"items": [beyond]}).status == 422
        inside = {**fix, "label": float(target.max()) + 9.5 * span}
        assert server.post("/feedback", {"items": [inside]}).status == 200

        exposition = server.get("/metrics").text
        assert 'bucle_prediction_value_count{model_version="1"} 50.0' in exposition
    finally:
        server.stop()


def test_a_regression_shadow_is_compared_by_its_absolute_difference(
    sales_project: tuple[Path, Path],
) -> None:
    project, work = sales_project
    promote(project, 2, alias="staging")
    bundle = load_model(work / "models" / "model.skops")
    records = records_of(work / "data" / "test.parquet", bundle.schema)[:40]
    server = Server(project, *SALES, "deploy.strategy=shadow").start()
    try:
        server.wait_ready()
        assert server.post("/predict", {"records": records}).status == 200
        server.wait_until(
            lambda: (
                'bucle_shadow_abs_difference_count{model_version="2"} 40.0'
                in server.get("/metrics").text
            ),
            what="the shadow's 40 differences",
        )
        exposition = server.get("/metrics").text
        total = next(
            float(line.split()[-1])
            for line in exposition.splitlines()
            if line.startswith('bucle_shadow_abs_difference_sum{model_version="2"}')
        )
        assert total > 0  # ridge and the boosted trees do not predict the same numbers
    finally:
        server.stop()


@pytest.mark.slow
def test_a_regression_candidate_is_smoke_tested_and_rolled_back_on_its_difference(
    sales_project: tuple[Path, Path],
) -> None:
    from plugins.registries.local import LocalRegistry
    from tests.framework.serving.test_release import QUICK, SteadyLoad, journal, release

    project, work = sales_project
    promote(project, 2, alias="candidate")
    bundle = load_model(work / "models" / "model.skops")
    records = records_of(work / "data" / "test.parquet", bundle.schema)[:30]
    shadow = [*SALES, "deploy.strategy=shadow", "serve.poll_seconds=0.2"]
    server = Server(project, *shadow).start()
    try:
        server.wait_ready()
        with SteadyLoad(server, records) as load:
            result = release(
                project,
                *shadow,
                *QUICK,
                "deploy.release.max_shadow_difference=0.001",  # ridge is further off than that
                "--url",
                server.base,
            )
    finally:
        server.stop()
    assert set(load.statuses) == {200}
    assert (project / ".bucle" / "releases.json").is_file(), result.stdout + result.stderr
    entry = journal(project)
    steps = {d["step"]: d["decision"] for d in entry["decisions"]}
    assert steps["smoke predictions"] == "passed"  # numbers over HTTP equal the offline ones
    final = entry["decisions"][-1]
    assert final["decision"] == "rolled back", result.stdout + result.stderr
    assert "mean absolute difference from production" in final["reason"]
    assert final["evidence"]["mean_difference"] > 0.001
    production = LocalRegistry(str(project / ".bucle" / "registry.db")).get_model_alias(
        name="sales", alias="production"
    )
    assert production.version == 1


@pytest.mark.slow
def test_the_loop_retrains_a_regression_model_when_its_errors_grow(
    sales_project: tuple[Path, Path],
) -> None:
    """Concept drift in the sales (promotions stop working) and the actual units fed back: the
    performance monitor finds RMSE up, retraining fires, the retrained model has the lower
    RMSE on the new test rows, and the release promotes it."""
    import json

    from plugins.registries.local import LocalRegistry

    project, _ = sales_project
    promote(project, 1)
    server = Server(project).start()
    try:
        server.wait_ready()
        run_command(
            [
                *("bucle", "traffic", "--url", server.base, "--feedback", "1.0"),
                *(*SALES, "data.row_offset=1000000", "data.drift=concept"),
            ],
            project,
            env=token_env(server.token),
        )
        report = run_command(["bucle", "monitor", "--url", server.base, "--last", "1200"], project)
        assert "performance: drift" in report.stdout and "rmse" in report.stdout
        # Learn the new world only: a mix of old and new demand fits neither (the gate says so).
        new_only = [*SALES, "retrain.data.strategy=new_only"]
        retrain = run_command(
            ["bucle", "retrain", "--if-needed", "--url", server.base, *new_only], project
        ).stdout
    finally:
        server.stop()
    assert "trigger performance_drop: rmse up" in retrain
    assert "gate: passed" in retrain and "promote: promoted" in retrain
    journal = json.loads((project / ".bucle" / "retrain" / "retrains.json").read_text())
    gate = journal[-1]["gate"]
    assert gate["metric"] == "rmse" and gate["retrained"] < gate["production"]
    production = LocalRegistry(str(project / ".bucle" / "registry.db")).get_model_alias(
        name="sales", alias="production"
    )
    assert production.version == journal[-1]["version"] > 2
