"""Where each stage's files live under ``paths``: one place, so stages, dvc.yaml and tests agree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Layout:
    """Every file the pipeline reads or writes, from the resolved ``paths`` section."""

    data: Path
    models: Path
    reports: Path
    state: Path

    @classmethod
    def from_config(cls, paths: Any) -> Layout:
        return cls(
            data=Path(paths.data),
            models=Path(paths.models),
            reports=Path(paths.reports),
            state=Path(paths.state),
        )

    @property
    def raw(self) -> Path:
        return self.data / "raw.parquet"

    @property
    def validated(self) -> Path:
        return self.data / "validated.parquet"

    @property
    def quarantine(self) -> Path:
        return self.data / "quarantine.parquet"

    @property
    def train(self) -> Path:
        return self.data / "train.parquet"

    @property
    def test(self) -> Path:
        return self.data / "test.parquet"

    @property
    def featurize_report(self) -> Path:
        return self.reports / "featurize.json"

    @property
    def model(self) -> Path:
        return self.models / "model.skops"

    @property
    def validation_report(self) -> Path:
        return self.reports / "validation.json"

    @property
    def validation_html(self) -> Path:
        return self.reports / "validation.html"

    @property
    def metrics(self) -> Path:
        return self.reports / "metrics.json"

    @property
    def confusion_plot(self) -> Path:
        return self.reports / "plots" / "confusion.csv"

    @property
    def roc_plot(self) -> Path:
        return self.reports / "plots" / "roc.csv"

    @property
    def predicted_plot(self) -> Path:
        """Regression: predicted against actual value per test row."""
        return self.reports / "plots" / "predicted_vs_actual.csv"

    @property
    def residual_plot(self) -> Path:
        """Regression: residual (actual - predicted) against the prediction per test row."""
        return self.reports / "plots" / "residuals.csv"

    @property
    def slices(self) -> Path:
        return self.reports / "slices.json"

    @property
    def profile(self) -> Path:
        return self.reports / "profile.json"

    @property
    def model_card(self) -> Path:
        return self.reports / "model_card.md"

    @property
    def registration(self) -> Path:
        """The registry's record of the registration: version, aliases, run (not a DVC output)."""
        return self.reports / "registration.json"

    @property
    def gate(self) -> Path:
        """The gate's verdict on the model, by its sha256: the register stage's DVC output, a
        function of data, config and code alone (no version number, run id or time)."""
        return self.reports / "gate.json"
