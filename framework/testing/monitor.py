"""The monitor contract: a result for every window (empty, clean, drifted), never an exception,
and the statuses a monitor promises for the clean and the drifted window.

The windows are built here from a seeded synthetic world, without a server or a trained project:
a binary model ``p = sigmoid(2x)`` on a numeric ``x``, a numeric ``amount`` and a categorical
``plan``. The drifted window moves ``x`` and ``amount``, brings an unseen plan and missing
values, and flips the relation between ``x`` and the label (concept drift), so drift, data
quality and performance monitors each have something to find.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from framework.testing.host import host_with

STATUSES = {"ok", "warning", "drift", "skipped", "error"}


def synthetic_window(
    kind: str, rows: int = 2000, seed: int = 0, task: str = "classification"
) -> Any:
    """A :class:`~framework.monitoring.window.MonitorWindow`: ``empty``, ``clean`` or
    ``drifted``, against a reference profile of the same synthetic world. With
    ``task="regression"`` the model predicts ``10 + 3x`` and the drifted world's truth is
    ``10 - 3x``."""
    if task == "regression":
        return _regression_window(kind, rows, seed)
    import numpy as np
    import pandas as pd

    from framework.evaluation.metrics import score
    from framework.monitoring.profile import build_profile
    from framework.monitoring.window import MonitorWindow

    def world(n: int, rng: Any, drifted: bool) -> tuple[Any, Any, Any]:
        x = rng.normal(1.5 if drifted else 0.0, 1.0, n)
        amount = rng.lognormal(3.5 if drifted else 3.0, 0.5, n)
        plans = ["basic", "premium", "gold"] if drifted else ["basic", "premium"]
        plan = rng.choice(plans, n).astype(object)
        frame = pd.DataFrame({"x": x, "amount": amount, "plan": plan})
        if drifted:
            frame.loc[rng.uniform(size=n) < 0.2, "amount"] = np.nan
        truth = 1 / (1 + np.exp((2 if drifted else -2) * x))  # the world after drift disagrees
        labels = (rng.uniform(size=n) < truth).astype(int)
        return frame, 1 / (1 + np.exp(-2 * x)), labels  # the model still believes sigmoid(2x)

    rng = np.random.default_rng(seed)
    reference, ref_proba, ref_labels = world(rows, rng, drifted=False)
    ref_pred = (ref_proba >= 0.5).astype(int)
    profile = build_profile(
        reference,
        ["x", "amount"],
        ["plan"],
        predictions=pd.Series(ref_pred),
        probabilities=pd.DataFrame({"1": ref_proba}),
    )
    baseline = {
        key: value
        for key, value in score(
            ref_labels, ref_pred, np.c_[1 - ref_proba, ref_proba], [0, 1], 1
        ).items()
        if value is not None
    }
    baseline["n_test"] = float(rows)

    n = 0 if kind == "empty" else rows
    if kind not in ("empty", "clean", "drifted"):
        raise ValueError(f"window kind {kind!r}: use empty, clean or drifted")
    inputs, proba, labels = world(n, rng, drifted=kind == "drifted")
    predictions = (proba >= 0.5).astype(int)
    log = _inference_log(list(predictions), [{"0": 1 - p, "1": p} for p in proba])
    version = _version(baseline)
    return MonitorWindow(
        model=version,
        profile=profile,
        baseline=baseline,
        log=log,
        inputs=inputs,
        predictions=pd.Series(list(predictions), dtype=object),
        probabilities=pd.DataFrame({"0": 1 - proba, "1": proba}),
        labels=pd.Series(labels, dtype=object),
        unreadable=0,
        start=log["timestamp"].min().isoformat() if n else None,
        end=log["timestamp"].max().isoformat() if n else None,
        service_metrics=None,
        positive_label=1,
        classes=[0, 1],
    )


def _regression_window(kind: str, rows: int, seed: int) -> Any:
    import numpy as np
    import pandas as pd

    from framework.evaluation.regression import regression_score
    from framework.monitoring.profile import build_profile, numeric_profile
    from framework.monitoring.window import MonitorWindow

    if kind not in ("empty", "clean", "drifted"):
        raise ValueError(f"window kind {kind!r}: use empty, clean or drifted")

    def world(n: int, rng: Any, drifted: bool) -> tuple[Any, Any, Any]:
        x = rng.normal(1.5 if drifted else 0.0, 1.0, n)
        amount = rng.lognormal(3.5 if drifted else 3.0, 0.5, n)
        plan = rng.choice(["basic", "premium"], n).astype(object)
        frame = pd.DataFrame({"x": x, "amount": amount, "plan": plan})
        truth = 10 + (-3 if drifted else 3) * x + rng.normal(0, 1, n)
        return frame, 10 + 3 * x, truth

    rng = np.random.default_rng(seed)
    reference, ref_pred, ref_truth = world(rows, rng, drifted=False)
    profile = build_profile(reference, ["x", "amount"], ["plan"])
    profile.predictions = numeric_profile("prediction", ref_pred)
    baseline = {k: v for k, v in regression_score(ref_truth, ref_pred).items() if v is not None}
    baseline["n_test"] = float(rows)
    n = 0 if kind == "empty" else rows
    inputs, predicted, truth = world(n, rng, drifted=kind == "drifted")
    log = _inference_log([float(v) for v in predicted], [{} for _ in range(n)])
    version = _version(baseline)
    return MonitorWindow(
        model=version,
        profile=profile,
        baseline=baseline,
        log=log,
        inputs=inputs,
        predictions=pd.Series([float(v) for v in predicted], dtype=object),
        probabilities=pd.DataFrame(index=range(n)),
        labels=pd.Series([float(v) for v in truth], dtype=object),
        unreadable=0,
        start=log["timestamp"].min().isoformat() if n else None,
        end=log["timestamp"].max().isoformat() if n else None,
        task="regression",
    )


def _inference_log(predictions: list[Any], probabilities: list[dict[str, float]]) -> Any:
    """A window's inference-log rows: one a second, ten records a request, version 1."""
    import pandas as pd

    start = pd.Timestamp("2026-11-30T08:00:00Z")
    n = len(predictions)
    return pd.DataFrame(
        {
            "timestamp": [start + pd.Timedelta(seconds=int(i)) for i in range(n)],
            "request_id": [f"req{i // 10:05d}-{i % 10}" for i in range(n)],
            "model_version": 1,
            "prediction": predictions,
            "probabilities": probabilities,
        }
    )


def _version(baseline: dict[str, float]) -> Any:
    from framework.records import ModelVersion

    return ModelVersion(
        name="contract",
        version=1,
        sha256="c" * 64,
        created_at="2026-11-01T00:00:00+00:00",
        run_id="contract-run",
        lineage={},
        metrics=baseline,
        aliases=["production"],
    )


class MonitorContract:
    """Subclass as ``Test...`` and provide a ``plugin`` fixture returning a configured monitor.

    Set ``on_clean`` and ``on_drifted`` to the statuses the monitor may give on the clean and
    the drifted window (the defaults accept any status: a monitor of something the synthetic
    world does not exercise still has to answer without raising).
    """

    on_clean: frozenset[str] = frozenset(STATUSES)
    on_drifted: frozenset[str] = frozenset(STATUSES)
    #: The windows' model: ``classification`` (binary) or ``regression``.
    task: str = "classification"

    @pytest.fixture
    def plugin(self) -> Any:
        raise NotImplementedError("define a `plugin` fixture returning a configured monitor")

    def check(self, plugin: Any, kind: str) -> Any:
        from framework.monitoring.window import MonitorResult

        window = synthetic_window(kind, task=self.task)
        (result,) = host_with("monitor", plugin).check_window(window=window)
        assert isinstance(result, MonitorResult), result
        assert result.status in STATUSES, result.status
        assert result.summary and "\n" not in result.summary, result.summary
        json.dumps(result.to_dict(), allow_nan=True)  # the report is JSON
        return result

    def test_an_empty_window_is_answered_not_raised(self, plugin: Any) -> None:
        self.check(plugin, "empty")

    def test_a_clean_window_gets_an_expected_status(self, plugin: Any) -> None:
        result = self.check(plugin, "clean")
        assert result.status in self.on_clean, (result.status, result.summary)

    def test_a_drifted_window_gets_an_expected_status(self, plugin: Any) -> None:
        result = self.check(plugin, "drifted")
        assert result.status in self.on_drifted, (result.status, result.summary)
