"""The built-in sources: what the churn generator promises, how the file and sklearn ones fail."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from framework.errors import ConfigError, DataError
from framework.testing import SourceContract
from plugins.sources.file import FileSource
from plugins.sources.sklearn import SklearnSource
from plugins.sources.synthetic_churn import SyntheticChurnSource
from plugins.sources.synthetic_sales import SyntheticSalesSource

AS_OF = pd.Timestamp("2026-01-01")

EXPECTED_DTYPES = {
    "customer_id": "object",
    "signup_date": "datetime64[ns]",
    "last_active_at": "datetime64[ns]",
    "region": "object",
    "plan": "object",
    "payment_method": "object",
    "age": "Int64",
    "tenure_months": "int64",
    "monthly_charges": "float64",
    "n_orders": "int64",
    "total_spend": "float64",
    "support_tickets": "int64",
    "churned": "int64",
}
NUMERIC_FEATURES = [
    "age",
    "tenure_months",
    "monthly_charges",
    "n_orders",
    "total_spend",
    "support_tickets",
]


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return SyntheticChurnSource().load_data(seed=42)


@pytest.fixture(scope="module")
def churn_without_defects() -> pd.DataFrame:
    # Defects are injected last, so the same seed without them differs only in the invalid rows.
    return SyntheticChurnSource(invalid_share=0.0).load_data(seed=42)


def defect_kinds(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Each defect kind as a row mask, read from the data alone (as the validate stage would)."""
    ids = frame["customer_id"]
    return {
        "negative_tenure": frame["tenure_months"] < 0,
        "impossible_age": (frame["age"] >= 150).fillna(False),
        "unknown_plan": frame["plan"] == "platinum",
        "duplicate_customer_id": ids.notna() & ids.duplicated(keep=False),
        "missing_customer_id": ids.isna(),
    }


def changed_rows(frame: pd.DataFrame, reference: pd.DataFrame) -> pd.Series:
    """Rows where ``frame`` differs from ``reference`` in at least one cell."""
    return changed_cells(frame, reference).any(axis=1)


def changed_cells(frame: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    same = (frame == reference).fillna(False) | (frame.isna() & reference.isna())
    return ~same.astype(bool)


# --- synthetic_churn ------------------------------------------------------------------------


def test_same_seed_gives_the_identical_frame() -> None:
    first = SyntheticChurnSource(n_rows=2000).load_data(seed=7)
    second = SyntheticChurnSource(n_rows=2000).load_data(seed=7)
    pd.testing.assert_frame_equal(first, second)


def test_different_seeds_give_different_frames() -> None:
    first = SyntheticChurnSource(n_rows=2000).load_data(seed=7)
    second = SyntheticChurnSource(n_rows=2000).load_data(seed=8)
    assert not first.equals(second)


def test_configured_seed_wins_over_the_run_seed() -> None:
    fixed = SyntheticChurnSource(n_rows=500, seed=3)
    pd.testing.assert_frame_equal(fixed.load_data(seed=1), fixed.load_data(seed=2))
    pd.testing.assert_frame_equal(
        fixed.load_data(seed=1), SyntheticChurnSource(n_rows=500).load_data(seed=3)
    )


def test_columns_and_dtypes(churn: pd.DataFrame) -> None:
    assert {name: str(dtype) for name, dtype in churn.dtypes.items()} == EXPECTED_DTYPES
    assert len(churn) == 5000
    assert churn["customer_id"].dropna().str.fullmatch(r"C\d{6}").all()


def test_churn_rate_is_between_a_fifth_and_three_tenths(churn: pd.DataFrame) -> None:
    assert set(churn["churned"].unique()) == {0, 1}
    assert 0.20 <= churn["churned"].mean() <= 0.30


def test_region_is_imbalanced_with_west_the_rarest(churn: pd.DataFrame) -> None:
    shares = churn["region"].value_counts(normalize=True)
    assert shares.idxmin() == "west"
    assert 0.07 <= shares["west"] <= 0.13


def test_about_missing_share_of_cells_are_missing(churn: pd.DataFrame) -> None:
    for column in ("age", "monthly_charges", "payment_method", "region"):
        # age: impossible ages overwrite a few missing cells, so allow a little slack below.
        assert 0.02 <= churn[column].isna().mean() <= 0.04, column
    assert churn[["signup_date", "last_active_at", "plan", "churned"]].notna().all().all()


def test_each_invalid_row_has_exactly_one_defect_and_every_kind_appears(
    churn: pd.DataFrame, churn_without_defects: pd.DataFrame
) -> None:
    changed = changed_cells(churn, churn_without_defects)
    invalid = changed.any(axis=1)
    assert invalid.sum() == round(0.01 * 5000)
    assert (changed[invalid].sum(axis=1) == 1).all()

    kinds = defect_kinds(churn)
    # The first copy of a duplicated id is a clean row; only the copy is an invalid row.
    kinds["duplicate_customer_id"] &= invalid
    for kind, rows in kinds.items():
        assert rows.sum() == 10, kind
    assert (sum(rows.astype(int) for rows in kinds.values()) == invalid.astype(int)).all()


def test_invalid_share_sets_the_number_of_invalid_rows() -> None:
    dirty = SyntheticChurnSource(n_rows=3000, invalid_share=0.05).load_data(seed=5)
    clean = SyntheticChurnSource(n_rows=3000, invalid_share=0.0).load_data(seed=5)
    assert changed_rows(dirty, clean).sum() == 150
    assert not any(rows.any() for rows in defect_kinds(clean).values())


@pytest.mark.parametrize(("n_rows", "seed"), [(5000, 42), (5000, 0), (40, 1), (1, 2)])
def test_clean_rows_pass_the_example_rules(n_rows: int, seed: int) -> None:
    frame = SyntheticChurnSource(n_rows=n_rows).load_data(seed=seed)
    reference = SyntheticChurnSource(n_rows=n_rows, invalid_share=0.0).load_data(seed=seed)
    clean = frame[~changed_rows(frame, reference)]
    assert len(clean) >= n_rows - round(0.01 * n_rows)

    assert clean["customer_id"].notna().all() and clean["customer_id"].is_unique
    assert clean["age"].dropna().between(18, 90).all()
    assert (clean["tenure_months"] >= 0).all()
    assert clean["plan"].isin(["basic", "standard", "premium"]).all()
    assert clean["region"].dropna().isin(["north", "south", "east", "west"]).all()
    assert clean["payment_method"].dropna().isin(["card", "bank_transfer", "paypal"]).all()
    assert (clean["monthly_charges"].dropna() > 0).all()
    assert clean["churned"].isin([0, 1]).all()
    assert (clean[["n_orders", "support_tickets"]] >= 0).all().all()
    assert (clean["total_spend"] >= 0).all()
    # freshness, on the clean rows and on the whole table
    assert AS_OF - clean["last_active_at"].max() <= pd.Timedelta(days=30)
    assert AS_OF - frame["last_active_at"].max() <= pd.Timedelta(days=30)


def test_timestamps_and_tenure_agree_with_as_of() -> None:
    as_of = pd.Timestamp("2025-03-31")
    frame = SyntheticChurnSource(as_of="2025-03-31", invalid_share=0.0).load_data(seed=11)
    signup, last_active = frame["signup_date"], frame["last_active_at"]
    assert (signup >= as_of - pd.DateOffset(years=6)).all()
    assert (signup <= last_active).all() and (last_active <= as_of).all()
    assert (signup == signup.dt.normalize()).all()
    months = (as_of.year - signup.dt.year) * 12 + (as_of.month - signup.dt.month)
    months -= (as_of.day < signup.dt.day).astype(int)
    assert (frame["tenure_months"] == months).all()


def test_churn_is_learnable_from_the_numeric_columns(churn: pd.DataFrame) -> None:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, y_test = train_test_split(
        churn[NUMERIC_FEATURES], churn["churned"], test_size=0.3, random_state=0
    )
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression())
    model.fit(x_train, y_train)
    assert roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]) > 0.7


def test_churn_follows_the_documented_drivers(churn: pd.DataFrame) -> None:
    by_plan = churn.groupby("plan")["churned"].mean()
    assert by_plan["basic"] > by_plan["standard"] > by_plan["premium"]
    many_tickets = churn["support_tickets"] >= 3
    assert churn.loc[many_tickets, "churned"].mean() > churn.loc[~many_tickets, "churned"].mean()
    short_tenure = churn["tenure_months"].between(0, 6)
    assert churn.loc[short_tenure, "churned"].mean() > churn.loc[~short_tenure, "churned"].mean()


def test_west_churns_for_its_own_reason_paying_with_paypal() -> None:
    frame = SyntheticChurnSource(n_rows=40_000, missing_share=0.0).load_data(seed=3)
    west = frame["region"] == "west"
    paypal = frame["payment_method"] == "paypal"
    # Paypal is west's way to pay, and there it drives churn ...
    assert frame.loc[west, "payment_method"].value_counts(normalize=True).idxmax() == "paypal"
    assert 0.05 <= paypal[~west].mean() <= 0.15
    rate = frame.groupby([west, paypal])["churned"].mean()
    assert rate[(True, True)] - rate[(True, False)] > 0.3
    # ... while elsewhere the payment method does not matter.
    assert abs(rate[(False, True)] - rate[(False, False)]) < 0.04
    # In the west the usual warning signs point the other way: many tickets mean less churn.
    many_tickets = frame["support_tickets"] >= 3
    in_west = frame[west & paypal]
    assert (
        in_west.loc[many_tickets[west & paypal], "churned"].mean()
        < in_west.loc[~many_tickets[west & paypal], "churned"].mean()
    )


def test_a_model_that_saw_few_west_rows_is_worse_for_west() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    frame = SyntheticChurnSource(n_rows=6000, missing_share=0.0, invalid_share=0.0).load_data(
        seed=4
    )
    inputs = pd.get_dummies(frame[["region", "payment_method", *NUMERIC_FEATURES]]).astype(float)
    test = np.arange(len(frame)) % 5 == 0
    west = (frame["region"] == "west").to_numpy()
    every_20th_west_row = west & (np.cumsum(west) % 20 == 0)
    few_west = ~test & (~west | every_20th_west_row)  # 5% of west's training rows
    west_test = test & west

    def west_auc(train: np.ndarray) -> float:
        model = HistGradientBoostingClassifier(random_state=0)
        model.fit(inputs[train], frame["churned"][train])
        return roc_auc_score(
            frame["churned"][west_test], model.predict_proba(inputs[west_test])[:, 1]
        )

    assert west_auc(~test) > 0.7
    assert west_auc(few_west) < west_auc(~test) - 0.2


def test_five_thousand_rows_take_well_under_a_second() -> None:
    source = SyntheticChurnSource()
    source.load_data(seed=0)  # imports out of the way
    started = time.perf_counter()
    source.load_data(seed=1)
    assert time.perf_counter() - started < 0.5


def test_a_million_rows_work() -> None:
    frame = SyntheticChurnSource(n_rows=1_000_000).load_data(seed=3)
    assert len(frame) == 1_000_000
    assert frame["customer_id"].iloc[-1] == "C1000000"
    assert 0.20 <= frame["churned"].mean() <= 0.30


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"n_rows": 0}, "data.n_rows=0"),
        ({"as_of": "last tuesday"}, "data.as_of='last tuesday'"),
        ({"missing_share": 1.5}, "data.missing_share=1.5"),
        ({"invalid_share": -0.1}, "data.invalid_share=-0.1"),
        ({"seed": -1}, "data.seed=-1"),
    ],
)
def test_bad_generator_options_are_config_errors(options: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=r"^[^\n]+$") as raised:
        SyntheticChurnSource(**options)
    assert named in str(raised.value)


# --- file -----------------------------------------------------------------------------------


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {"x": [1.5, 2.0, np.nan], "kind": ["a", "b", "a"], "label": [0, 1, 0]},
    )


def test_file_source_round_trips_a_csv(tmp_path: Path, table: pd.DataFrame) -> None:
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    pd.testing.assert_frame_equal(FileSource(path=str(path)).load_data(seed=0), table)


def test_file_source_round_trips_a_parquet(tmp_path: Path, table: pd.DataFrame) -> None:
    path = tmp_path / "table.parquet"
    table.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(FileSource(path=str(path)).load_data(seed=0), table)


def test_file_source_format_option_overrides_the_suffix(
    tmp_path: Path, table: pd.DataFrame
) -> None:
    path = tmp_path / "export.dat"
    table.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(FileSource(str(path), format="parquet").load_data(seed=0), table)


def test_file_source_reads_a_relative_path_from_the_current_directory(
    tmp_path: Path, table: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    table.to_csv(tmp_path / "data" / "table.csv", index=False)
    monkeypatch.chdir(tmp_path)
    pd.testing.assert_frame_equal(FileSource("data/table.csv").load_data(seed=0), table)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("absent.csv", None, "does not exist"),
        ("table.xlsx", b"a,b\n1,2\n", "unsupported suffix '.xlsx'"),
        ("broken.parquet", b"this is not parquet at all", "cannot be read as parquet"),
        ("ragged.csv", b"a,b\n1,2\n1,2,3,4\n", "cannot be read as csv: Error tokenizing data"),
        ("zero_bytes.csv", b"", "is empty"),
        ("header_only.csv", b"a,b\n", "holds an empty table"),
    ],
)
def test_file_source_errors_are_one_line_data_errors_naming_the_file(
    tmp_path: Path, name: str, content: bytes | None, expected: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError) as raised:
        FileSource(path=str(path)).load_data(seed=0)
    message = str(raised.value)
    assert "\n" not in message
    assert name in message and expected in message


def test_file_source_rejects_an_unknown_format_option() -> None:
    with pytest.raises(ConfigError, match=r"data\.format='xlsx'"):
        FileSource("table.xlsx", format="xlsx")


# --- sklearn --------------------------------------------------------------------------------


def test_sklearn_source_loads_wine_as_three_integer_classes() -> None:
    frame = SklearnSource(dataset="wine", target="cultivar").load_data(seed=0)
    assert frame.shape == (178, 14)
    assert "target" not in frame.columns
    assert frame["cultivar"].dtype == "int64"
    assert sorted(frame["cultivar"].unique()) == [0, 1, 2]


def test_sklearn_source_loads_breast_cancer_by_default() -> None:
    frame = SklearnSource().load_data(seed=0)
    assert frame.shape == (569, 31)
    assert frame["target"].dtype == "int64"
    assert set(frame["target"].unique()) == {0, 1}


def test_sklearn_source_keeps_a_regression_target_numeric() -> None:
    frame = SklearnSource(dataset="diabetes").load_data(seed=0)
    assert frame["target"].dtype == "float64"


def test_unknown_sklearn_dataset_suggests_the_close_match() -> None:
    with pytest.raises(ConfigError) as raised:
        SklearnSource(dataset="breast-cancer")
    message = str(raised.value)
    assert "did you mean 'breast_cancer'?" in message
    assert "breast_cancer, diabetes, digits, iris, wine" in message


def test_sklearn_target_that_names_a_feature_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"data\.target='proline'"):
        SklearnSource(dataset="wine", target="proline").load_data(seed=0)


# --- all sources ----------------------------------------------------------------------------


def test_importing_the_source_modules_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "import plugins.sources.file, plugins.sources.sklearn, plugins.sources.synthetic_churn\n"
        "heavy = sorted({'pandas', 'numpy', 'sklearn', 'pyarrow'} & set(sys.modules))\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


class TestSyntheticChurnSourceContract(SourceContract):
    @pytest.fixture
    def plugin(self) -> SyntheticChurnSource:
        return SyntheticChurnSource(n_rows=300)

    @pytest.fixture
    def target(self) -> str:
        return "churned"


class TestFileSourceContract(SourceContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> FileSource:
        path = tmp_path / "table.csv"
        pd.DataFrame({"x": [1.0, 2.5, 3.0], "label": ["a", "b", "a"]}).to_csv(path, index=False)
        return FileSource(path=str(path))

    @pytest.fixture
    def target(self) -> str:
        return "label"


class TestSklearnSourceContract(SourceContract):
    @pytest.fixture
    def plugin(self) -> SklearnSource:
        return SklearnSource(dataset="wine")

    @pytest.fixture
    def target(self) -> str:
        return "target"


class TestSyntheticSalesSourceContract(SourceContract):
    @pytest.fixture
    def plugin(self) -> SyntheticSalesSource:
        return SyntheticSalesSource(n_rows=400, n_stores=5)

    @pytest.fixture
    def target(self) -> str:
        return "units_sold"


def test_sales_follow_promotions_and_weekends_until_the_concept_drifts() -> None:
    clean = SyntheticSalesSource(n_rows=6000, invalid_share=0.0).load_data(seed=3)
    drifted = SyntheticSalesSource(n_rows=6000, invalid_share=0.0, drift="concept").load_data(3)
    assert clean["row_id"].is_unique and clean["units_sold"].nunique() > 50  # a regression target

    def lift(frame: pd.DataFrame, column: str) -> float:
        means = frame.groupby(frame[column] > 0)["units_sold"].mean()
        return float(means[True] / means[False])

    assert lift(clean.assign(weekend=clean["day_of_week"] >= 5), "weekend") > 1.2
    assert lift(clean, "promo") > 1.8  # the promotion itself and its 15% lower price
    # Promotions stopped working: what is left is the lower price (0.85 ** -1.5 = 1.28).
    assert lift(drifted, "promo") == pytest.approx(0.85**-1.5, abs=0.12)
    assert lift(drifted.assign(weekend=drifted["day_of_week"] >= 5), "weekend") < 1.0
    # The concept changed, the inputs did not.
    assert drifted["price"].mean() == pytest.approx(clean["price"].mean(), rel=0.02)


def test_sales_options_are_checked_when_the_plugin_is_built() -> None:
    with pytest.raises(ConfigError, match=r"data\.drift='sideways'"):
        SyntheticSalesSource(drift="sideways")
    with pytest.raises(ConfigError, match=r"data\.as_of='yesterday' is not a date"):
        SyntheticSalesSource(as_of="yesterday")
