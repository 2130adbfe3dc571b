"""Per-slice metrics: sizes and metrics per value, the worst slice, undefined metrics, config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from sklearn.metrics import average_precision_score, recall_score, roc_auc_score

from framework.config.schema import EvaluateConfig
from framework.errors import ConfigError
from framework.evaluation.slices import (
    MISSING,
    check_slice_config,
    slice_keys,
    slice_report,
    worst_metrics,
)


def scored_rows(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Rows with a region, a band, labels and a model whose recall is bad in the west."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "west"], size=n, p=[0.45, 0.45, 0.10])
    band = rng.choice([0.0, 1.0, 2.0], size=n)
    truth = (rng.random(n) < 0.4).astype(int)
    score = np.clip(truth * 0.6 + rng.random(n) * 0.5, 0, 1)
    score[(region == "west") & (truth == 1)] -= 0.5  # the model misses west's positives
    score = np.clip(score, 0, 1)
    return pd.DataFrame(
        {"region": region, "band": band, "truth": truth, "score": score, "pred": score >= 0.5}
    )


def report_for(frame: pd.DataFrame, columns=("region", "band"), metric="recall", min_size=10, **kw):
    proba = np.column_stack([1 - frame["score"], frame["score"]])
    return slice_report(
        frame,
        list(columns),
        frame["truth"].to_numpy(),
        frame["pred"].astype(int).to_numpy(),
        proba,
        [0, 1],
        1,
        metric,
        min_size,
        **kw,
    )


def test_each_slice_has_its_size_and_its_own_metrics() -> None:
    frame = scored_rows()
    report = report_for(frame)
    west = frame[frame["region"] == "west"]
    entry = report["columns"]["region"]["west"]
    assert entry["size"] == len(west)
    assert entry["recall"] == pytest.approx(recall_score(west["truth"], west["pred"]))
    assert entry["roc_auc"] == pytest.approx(roc_auc_score(west["truth"], west["score"]))
    assert entry["average_precision"] == pytest.approx(
        average_precision_score(west["truth"], west["score"])
    )
    assert set(entry) == {
        "size",
        "ranked",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "average_precision",
    }
    assert sum(e["size"] for e in report["columns"]["region"].values()) == len(frame)
    # Float bands read as the whole numbers they are.
    assert list(report["columns"]["band"]) == ["0", "1", "2"]


def test_the_worst_slice_is_named_with_column_value_and_metric() -> None:
    report = report_for(scored_rows())
    assert report["worst"]["column"] == "region" and report["worst"]["value"] == "west"
    west = report["columns"]["region"]["west"]
    assert report["worst"]["recall"] == west["recall"] and report["worst"]["size"] == west["size"]
    lowest_recall = min(
        e["recall"] for slices in report["columns"].values() for e in slices.values()
    )
    assert report["worst"]["recall"] == lowest_recall
    assert worst_metrics(report) == {"slice_worst_recall": west["recall"]}


def test_slices_smaller_than_min_slice_size_are_reported_but_never_named_worst() -> None:
    frame = scored_rows()
    n_west = int((frame["region"] == "west").sum())
    report = report_for(frame, min_size=n_west + 1)
    assert report["columns"]["region"]["west"]["ranked"] is False
    assert report["worst"]["value"] != "west"


def test_a_slice_with_one_class_reports_null_roc_auc_and_recall_instead_of_crashing() -> None:
    frame = scored_rows()
    frame.loc[frame["region"] == "west", "truth"] = 0  # no positive in the west
    frame.loc[frame["region"] == "west", "pred"] = False
    report = report_for(frame)
    west = report["columns"]["region"]["west"]
    assert west["roc_auc"] is None and west["recall"] is None
    assert west["precision"] is None and west["f1"] is None  # nothing predicted positive
    assert west["accuracy"] == 1.0
    assert report["worst"]["value"] != "west"  # an undefined recall is not a low recall


def test_missing_values_are_a_slice_of_their_own() -> None:
    frame = scored_rows()
    frame.loc[:9, "region"] = None
    frame["band"] = frame["band"].astype("Int64")
    frame.loc[:4, "band"] = pd.NA
    report = report_for(frame, min_size=1)
    assert report["columns"]["region"][MISSING]["size"] == 10
    assert list(report["columns"]["band"])[-1] == MISSING
    assert report["columns"]["band"][MISSING]["size"] == 5


def test_lowest_is_reported_for_every_gated_metric() -> None:
    report = report_for(scored_rows(), ranked_metrics=["roc_auc", "precision"])
    assert set(report["lowest"]) == {"recall", "roc_auc", "precision"}
    assert set(worst_metrics(report)) == {
        "slice_worst_recall",
        "slice_worst_roc_auc",
        "slice_worst_precision",
    }


def test_no_slices_configured_gives_an_empty_report() -> None:
    report = report_for(scored_rows(), columns=())
    assert report["columns"] == {} and report["worst"] is None
    assert worst_metrics(report) == {}


def test_a_multiclass_slice_gets_macro_metrics() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"group": rng.choice(["a", "b"], 90), "y": np.tile([0, 1, 2], 30)})
    proba = rng.dirichlet([1, 1, 1], size=90)
    report = slice_report(
        frame, ["group"], frame["y"], proba.argmax(1), proba, [0, 1, 2], 2, "f1", 1
    )
    assert all(entry["roc_auc"] is not None for entry in report["columns"]["group"].values())
    assert report["worst"]["column"] == "group"


def test_a_missing_slice_column_is_one_line_naming_the_setting_and_the_columns() -> None:
    with pytest.raises(ConfigError) as raised:
        slice_keys(scored_rows(), "regoin")
    message = str(raised.value)
    assert message.startswith("evaluate.slices: no column 'regoin'")
    assert "did you mean 'region'?" in message and "columns: region, band" in message
    assert "\n" not in message


def test_a_numeric_column_with_many_values_suggests_a_bucket_feature() -> None:
    frame = scored_rows()
    with pytest.raises(ConfigError) as raised:
        slice_keys(frame, "score")
    message = str(raised.value)
    assert "column 'score' has" in message and "more than 20 slices" in message
    assert "bucket(score" in message and "features.derived" in message


def test_twenty_values_are_still_slices() -> None:
    frame = pd.DataFrame({"n": np.arange(40) % 20})
    assert slice_keys(frame, "n").nunique() == 20


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"slice_metric": "recal"}, "evaluate.slice_metric='recal' is not a classification metric"),
        ({"slices": ["region"], "slice_gate": {"auc": 0.5}}, "evaluate.slice_gate.auc"),
        ({"slice_gate": {"recall": 0.5}}, "evaluate.slices is empty"),
        ({"min_slice_size": 0}, "evaluate.min_slice_size=0"),
    ],
)
def test_bad_slice_settings_are_config_errors(settings: dict, named: str) -> None:
    evaluate = OmegaConf.merge(OmegaConf.structured(EvaluateConfig), settings)
    with pytest.raises(ConfigError, match=r"^[^\n]+$") as raised:
        check_slice_config(evaluate)
    assert named in str(raised.value)
