"""``inf``/``-inf`` in any numeric column, target included, is quarantined by the rules
validator, configured for that column or not, as the server refuses such a request."""

from __future__ import annotations

import numpy as np
import pandas as pd

from plugins.validators.rules import RulesValidator


def failed(results) -> dict:
    return {r.name: r for r in results if not r.passed}


def test_infinite_values_fail_their_rows_in_every_numeric_column() -> None:
    frame = pd.DataFrame(
        {
            "amount": [1.0, np.inf, 3.0, -np.inf],
            "plan": ["a", "b", "c", "d"],
            "label": [0.0, 1.0, np.inf, 0.0],
        }
    )
    results = failed(RulesValidator().validate_data(frame, "label"))
    assert set(results) == {"amount:finite", "label:finite"}
    assert results["amount:finite"].failed_rows == (1, 3)
    assert results["amount:finite"].dimension == "accuracy"
    assert results["amount:finite"].detail == "2 values infinite (inf or -inf), e.g. inf"
    assert results["label:finite"].failed_rows == (2,)


def test_finite_and_missing_values_raise_nothing() -> None:
    frame = pd.DataFrame({"amount": [1.0, np.nan, 3.0], "n": [1, 2, 3]})
    assert failed(RulesValidator().validate_data(frame, "n")) == {}
