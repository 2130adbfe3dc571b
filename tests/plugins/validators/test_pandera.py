"""The ``pandera`` validator: a schema from config, failures by row position and dimension, and
rows quarantined by the real validate stage next to the rules validator."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from framework.errors import ConfigError
from framework.testing import ValidatorContract
from plugins.validators.pandera import PanderaValidator

SCHEMA = {
    "age": {"dtype": "float64", "nullable": True, "checks": {"ge": 18, "le": 120}},
    "plan": {"dtype": "str", "checks": {"isin": ["basic", "premium"]}},
    "customer_id": {"dtype": "str", "unique": True},
    "churned": {"checks": {"isin": [0, 1]}},
}


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", "c", "d"],
            "age": [25.0, 17.0, None, 130.0, 33.0],
            "plan": ["basic", "gold", None, "basic", "premium"],
            "churned": [0, 1, 0, 1, 0],
        },
        index=[10, 11, 12, 13, 14],
    )


def results(frame: pd.DataFrame, **options) -> dict:
    validator = PanderaValidator(**options)
    return {r.name: r for r in validator.validate_data(frame=frame, target="churned")}


class TestPanderaValidatorContract(ValidatorContract):
    @pytest.fixture
    def plugin(self) -> PanderaValidator:
        return PanderaValidator(columns=SCHEMA)

    @pytest.fixture
    def frame(self) -> pd.DataFrame:
        return table()

    @pytest.fixture
    def target(self) -> str:
        return "churned"


def test_each_check_blames_its_rows_by_position_under_its_dimension() -> None:
    found = results(table(), columns=SCHEMA)
    assert found["age:ge"].failed_rows == (1,) and found["age:le"].failed_rows == (3,)
    assert found["plan:isin"].failed_rows == (1,)
    assert found["plan:not_null"].failed_rows == (2,)
    assert found["plan:not_null"].dimension == "completeness"
    assert found["customer_id:unique"].failed_rows == (2,)  # the first "b" is kept
    assert found["customer_id:unique"].dimension == "consistency"
    assert found["age:ge"].dimension == "accuracy" and "17.0" in found["age:ge"].detail
    assert found["churned:isin"].passed and found["age:dtype"].passed  # passed ones reported


def test_a_missing_column_and_a_check_that_cannot_run_fail_the_whole_table() -> None:
    frame = table().assign(age=["25", "x", None, "130", "33"])  # text: `ge: 18` cannot compare
    found = results(frame, columns={**SCHEMA, "tenure": {"dtype": "int64"}})
    assert found["tenure:present"].level == "dataset" and not found["tenure:present"].passed
    assert found["age:ge"].level == "dataset" and "TypeError" in found["age:ge"].detail
    assert not found["age:dtype"].passed


def test_coercion_fails_only_the_values_that_will_not_convert() -> None:
    frame = table().assign(age=["25", "x", None, "40", "33"])
    found = results(frame, columns={"age": {"dtype": "float64", "nullable": True}}, coerce=True)
    assert found["age:dtype"].failed_rows == (1,) and found["age:dtype"].level == "row"


def test_a_composite_key_quarantines_later_repeats() -> None:
    frame = pd.DataFrame({"id": ["a", "a", "a", "b"], "day": [1, 1, 2, 1], "churned": [0] * 4})
    assert results(frame, unique=["id", "day"])["keys:unique"].failed_rows == (1,)


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ({"age": {"checks": {"greater_equal": 1}}}, "validate.pandera.columns.age.checks"),
        ({"age": {"checks": {"is_in": [1]}}}, "did you mean 'isin'?"),
        ({"age": {"nulable": True}}, "did you mean 'nullable'?"),
        ({"age": {"checks": {"in_range": {"low": 1}}}}, "in_range"),
    ],
)
def test_schema_mistakes_are_one_line_config_errors(columns: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        PanderaValidator(columns=columns)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


PANDERA_OPTION = """\
# The churn table's schema in pandera terms, next to the rules: validate=[rules,pandera]
pandera:
  columns:
    customer_id: {dtype: str, unique: true}
    tenure_months: {checks: {le: 60}}
    plan: {nullable: true, checks: {isin: [basic, standard, premium]}}
"""


def test_the_validate_stage_quarantines_what_pandera_flags(project: Path, run) -> None:
    (project / "conf" / "validate").mkdir()
    (project / "conf" / "validate" / "pandera.yaml").write_text(PANDERA_OPTION)
    run(["bucle", "params", "validate=[rules,pandera]", "quarantine.max_bad_share=0.2"], project)
    run(["bucle", "stage", "ingest"], project)
    raw = pd.read_parquet(project / "data" / "raw.parquet")
    assert (raw["tenure_months"] > 60).sum() > 0  # something for pandera alone to catch
    run(["bucle", "stage", "validate"], project)

    kept = pd.read_parquet(project / "data" / "validated.parquet")
    quarantined = pd.read_parquet(project / "data" / "quarantine.parquet")
    assert len(kept) + len(quarantined) == len(raw)
    assert kept["tenure_months"].max() <= 60
    long_tenure = quarantined[quarantined["tenure_months"] > 60]
    assert len(long_tenure) == (raw["tenure_months"] > 60).sum()
    assert long_tenure["_quarantine_reason"].str.contains("tenure_months:le").all()
    report = json.loads((project / "reports" / "validation.json").read_text())
    names = {check["name"] for check in report["checks"]}
    assert {"tenure_months:le", "customer_id:unique", "plan:isin"} <= names


# A pattern that backtracks exponentially in Python's `re` on a near-miss: (a+)+$ against
# "aaaa...ab" takes 2**n steps. A config is data; it must not be able to stall a stage.
CATASTROPHIC = {"code": {"dtype": "str", "checks": {"str_matches": "(a+)+$"}}}
NEAR_MISS = "a" * 40 + "b"


def test_a_backtracking_pattern_cannot_stall_validation(tmp_path: Path) -> None:
    """Run in a subprocess: on a backtracking engine this never finishes, and the test fails on
    the generous time-out instead of hanging the suite."""
    import subprocess
    import sys

    script = (
        "import pandas as pd\n"
        "from plugins.validators.pandera import PanderaValidator\n"
        f"validator = PanderaValidator(columns={CATASTROPHIC!r})\n"
        f"frame = pd.DataFrame({{'code': [{NEAR_MISS!r}, 'aaa', 'b']}})\n"
        "found = {r.name: r for r in validator.validate_data(frame=frame, target='code')}\n"
        "print(found['code:str_matches'].failed_rows)\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("str_matches with (a+)+$ was still running after 60 s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(0, 2)"  # the near miss and 'b' fail; 'aaa' matches


def test_str_contains_searches_on_the_same_safe_engine() -> None:
    columns = {"code": {"dtype": "str", "checks": {"str_contains": "x+y"}}}
    frame = pd.DataFrame({"code": ["xxz", "zzxy", "y"]})
    found = results(frame, columns=columns)
    assert found["code:str_contains"].failed_rows == (0, 2)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"(a)\1", r"str_matches.*backreferences.*RE2"),
        (r"(?=a)a", r"str_matches.*lookaround.*RE2"),
        (r"[a-", r"str_matches.*not a valid pattern"),
    ],
)
def test_a_pattern_the_safe_engine_cannot_run_is_a_config_error(
    pattern: str, expected: str
) -> None:
    columns = {"code": {"dtype": "str", "checks": {"str_matches": pattern}}}
    with pytest.raises(ConfigError, match=expected) as error:
        PanderaValidator(columns=columns)
    assert "\n" not in str(error.value)
