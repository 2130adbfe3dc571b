"""Evaluation for every audience through the real CLI: slices, business value, the decision
threshold, the slice gate, model cards, and the bundled under-represented-region scenario."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from framework.modeling.artifact import load_model


def output_dir(stderr: str) -> Path:
    line = next(line for line in stderr.splitlines() if "outputs in" in line)
    return Path(line.split("outputs in ", 1)[1].strip())


def bucle_run(project: Path, run, *overrides: str) -> Path:
    """Run the pipeline with ``overrides``; the run's output directory."""
    return output_dir(run(["bucle", "run", *overrides], project).stderr)


def read(work: Path, name: str) -> dict:
    return json.loads((work / "reports" / name).read_text())


def test_one_run_reports_slices_business_value_and_its_threshold(small_project: Path, run) -> None:
    work = bucle_run(small_project, run)
    metrics, slices = read(work, "metrics.json"), read(work, "slices.json")

    # Slices: every configured column, sizes adding up to the test rows, the worst one named.
    assert list(slices["columns"]) == ["region", "age_band"]
    for column in ("region", "age_band"):
        assert sum(s["size"] for s in slices["columns"][column].values()) == metrics["n_test"]
    assert set(slices["columns"]["region"]) >= {"north", "south", "east", "west"}
    assert set(slices["columns"]["age_band"]) >= {"0", "1", "2", "3"}
    worst = slices["worst"]
    named = slices["columns"][worst["column"]][worst["value"]]
    assert named["ranked"] and named["recall"] == worst["recall"]
    ranked = [s["recall"] for c in slices["columns"].values() for s in c.values() if s["ranked"]]
    assert worst["recall"] == min(r for r in ranked if r is not None)
    assert metrics["slice_worst_recall"] == worst["recall"]

    # The decision threshold was chosen (optimize_threshold in the example) and saved.
    bundle = load_model(work / "models" / "model.skops")
    assert bundle.decision_threshold is not None and bundle.positive_label == 1
    assert metrics["decision_threshold"] == bundle.decision_threshold != 0.5

    # Business value: population x sum of cell shares x cell values, from the predictions.
    confusion = pd.read_csv(work / "reports" / "plots" / "confusion.csv")
    actual, predicted = confusion["actual"] == 1, confusion["predicted"] == 1
    tp, fp = (actual & predicted).sum(), (~actual & predicted).sum()
    expected = 100_000 * (tp * 4.0 + fp * -1.0) / len(confusion)
    assert metrics["business_value"] == pytest.approx(expected)
    assert metrics["business_value_per_example"] == pytest.approx(expected / 100_000)
    assert metrics["business_value_baseline"] == 0.0
    assert metrics["business_value_uplift"] == pytest.approx(expected)
    # The chosen threshold is worth more than the estimator's 0.5 on these rows too.
    assert metrics["business_value"] > metrics["business_value_default_threshold"]


def test_without_optimize_threshold_the_model_predicts_at_one_half(
    small_project: Path, run
) -> None:
    work = bucle_run(small_project, run, "evaluate.business.optimize_threshold=false")
    metrics = read(work, "metrics.json")
    assert metrics["decision_threshold"] == 0.5
    assert "business_value_default_threshold" not in metrics
    assert load_model(work / "models" / "model.skops").decision_threshold is None


def test_the_threshold_is_chosen_without_looking_at_the_test_rows(small_project: Path, run) -> None:
    for stage in ("ingest", "validate", "featurize"):
        run(["bucle", "stage", stage], small_project)
    run(["bucle", "stage", "train"], small_project)
    chosen = load_model(small_project / "models" / "model.skops").decision_threshold
    (small_project / "data" / "test.parquet").unlink()
    run(["bucle", "stage", "train"], small_project)
    assert load_model(small_project / "models" / "model.skops").decision_threshold == chosen


def test_a_slice_gate_keeps_the_candidate_alias_back(small_project: Path, run) -> None:
    work = bucle_run(small_project, run, "+evaluate.slice_gate.recall=0.99")
    registration = read(work, "registration.json")
    assert registration["gate"]["roc_auc"]["passed"] is True
    result = registration["slice_gate"]["recall"]
    assert result["passed"] is False and result["minimum"] == 0.99
    worst = read(work, "slices.json")["worst"]
    assert result["slice"] == f"{worst['column']}={worst['value']}"
    assert result["value"] == worst["recall"]
    assert registration["promoted_to"] is None
    assert "candidate" not in run(["bucle", "models", "list"], small_project).stdout

    passing = bucle_run(small_project, run, "+evaluate.slice_gate.recall=0.01", "seed=7")
    assert read(passing, "registration.json")["promoted_to"] == "candidate"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["evaluate.slices=[regoin]"], "evaluate.slices: no column 'regoin'"),
        (["evaluate.slices=[total_spend]"], "bucket(total_spend"),
        (
            ["evaluate.slice_metric=auc"],
            "evaluate.slice_metric='auc' is not a classification metric",
        ),
        (
            ["data=sklearn", "data.dataset=wine", "evaluate.business.optimize_threshold=true"],
            "optimize_threshold=true needs a binary target",
        ),
    ],
)
def test_evaluation_config_mistakes_fail_in_one_line(
    small_project: Path, run, overrides: list[str], expected: str
) -> None:
    result = run(["bucle", "run", *overrides], small_project, check=False)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("bucle: error:")]
    assert len(errors) == 1 and expected in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def test_a_multiclass_target_values_its_matrix(small_project: Path, run) -> None:
    # Class labels are keys: from the command line as dotted paths (in YAML, quoted keys).
    cells = {("0", "0"): 3.0, ("1", "1"): 3.0, ("2", "2"): 3.0, ("2", "0"): -6.0}
    matrix = [f"+evaluate.business.matrix.{a}.{p}={value}" for (a, p), value in cells.items()]
    overrides = ["data=sklearn", "data.dataset=wine", "evaluate.business.population=10"]
    work = bucle_run(small_project, run, *overrides, *matrix)
    metrics = read(work, "metrics.json")
    confusion = pd.read_csv(work / "reports" / "plots" / "confusion.csv")
    right = (confusion["actual"] == confusion["predicted"]).sum()
    wrong = ((confusion["actual"] == 2) & (confusion["predicted"] == 0)).sum()
    expected = 10 * (3.0 * right - 6.0 * wrong) / len(confusion)
    assert metrics["business_value"] == pytest.approx(expected)
    assert "decision_threshold" not in metrics  # multiclass: the likeliest class


def test_every_registered_version_has_a_card_in_the_store(small_project: Path, run) -> None:
    work = bucle_run(small_project, run)
    card = (work / "reports" / "model_card.md").read_text()
    shown = json.loads(run(["bucle", "models", "show", "1"], small_project).stdout)
    assert shown["lineage"]["model_card_sha256"] == hashlib.sha256(card.encode()).hexdigest()
    assert run(["bucle", "models", "card", "1"], small_project).stdout == card

    assert card.startswith("# Model card: churn version 1\n")
    slices, metrics = read(work, "slices.json"), read(work, "metrics.json")
    worst = slices["worst"]
    for text in (
        "| aliases at registration | candidate |",
        "| owner | Retention analytics |",
        "Rank current subscribers by their risk of cancelling next month",
        "Source plugin `synthetic_churn`",
        f"{read(work, 'validation.json')['rows_in']:,} rows in",
        "Data-quality score:",
        "`age_band = bucket(age, 30, 45, 60)`",
        f"| roc_auc | {metrics['roc_auc']:.4f} |",
        f"**{worst['column']}={worst['value']} ({worst['size']} rows): recall",
        f"| value per month | {metrics['business_value']:,.2f} USD |",
        f"| run id | `{shown['run_id']}` |",
        f"| model artifact sha256 | `{shown['sha256']}` |",
    ):
        assert text in card, text

    # A second version has a card of its own; the first keeps its own.
    bucle_run(small_project, run, "seed=5")
    second = run(["bucle", "models", "card", "2"], small_project).stdout
    assert second.startswith("# Model card: churn version 2\n") and second != card
    assert run(["bucle", "models", "card", "1"], small_project).stdout == card


def test_a_version_without_a_card_or_number_says_so(small_project: Path, run) -> None:
    result = run(["bucle", "models", "card", "9"], small_project, check=False)
    assert result.returncode == 1 and "has no version 9" in result.stderr


@pytest.mark.slow
def test_an_under_represented_region_is_the_worst_slice(project: Path, run) -> None:
    # The same model on the same 5,000 rows, first with every west row in training, then with
    # 5% of them (conf/experiment/underrepresented_west.yaml); the test rows are the same.
    fair = bucle_run(project, run, "model=hist_gradient_boosting")
    biased = bucle_run(project, run, "experiment=underrepresented_west")
    fair_slices, biased_slices = read(fair, "slices.json"), read(biased, "slices.json")
    fair_west = fair_slices["columns"]["region"]["west"]
    biased_west = biased_slices["columns"]["region"]["west"]
    assert fair_west["size"] == biased_west["size"] >= 30

    assert biased_west["recall"] < fair_west["recall"] - 0.2
    assert biased_west["roc_auc"] < fair_west["roc_auc"] - 0.2
    assert fair_slices["worst"]["value"] != "west"
    assert biased_slices["worst"]["column"] == "region"
    assert biased_slices["worst"]["value"] == "west"
    assert read(biased, "metrics.json")["slice_worst_recall"] == biased_west["recall"]

    undersample = read(biased, "featurize.json")["undersample"]
    assert undersample["column"] == "region" and undersample["keep_share"] == 0.05
    card = run(["bucle", "models", "card", "2"], project).stdout
    assert "**Training rows were undersampled on purpose**" in card
    assert "**region=west" in card
