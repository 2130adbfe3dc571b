"""``bucle features list | materialize | get`` through the real CLI, in a copy of the example."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from framework.features.expressions import compute_features
from plugins.feature_stores.local import LocalFeatureStore

DERIVED = ("avg_order_value", "active_days", "tickets_per_year", "age_band")


def local_store(project: Path) -> LocalFeatureStore:
    features = project / ".bucle" / "features"
    return LocalFeatureStore(offline=str(features / "offline"), online=str(features / "online.db"))


def test_materialize_then_list_and_get_show_what_the_store_holds(small_project: Path, run) -> None:
    run(["bucle", "params"], small_project)
    for stage in ("ingest", "validate"):
        run(["bucle", "stage", stage], small_project)
    validated = pd.read_parquet(small_project / "data" / "validated.parquet")

    before = run(["bucle", "features", "list"], small_project).stdout
    assert "derived features (features.derived): 4" in before
    assert "age_band          bucket(age, 30, 45, 60)" in before
    assert "days_between(signup_date, last_active_at)  last_active_at, signup_date" in before
    assert "feature store: local (entity customer_id, timestamp last_active_at)" in before
    assert "empty: run `bucle features materialize`" in before

    materialized = run(["bucle", "features", "materialize"], small_project).stdout
    assert f"materialized {len(validated)} rows" in materialized
    run(["bucle", "features", "materialize"], small_project)  # twice is harmless

    after = run(["bucle", "features", "list"], small_project).stdout
    assert f"offline rows: {len(validated)} in 1 file(s)" in after
    assert f"online entities: {len(validated)}" in after
    assert "age_band" in after.split("column")[-1] and "churned" not in after

    # The store holds what the featurize code computes from the validated table.
    ids = validated["customer_id"].head(2).tolist()
    online = local_store(small_project).get_online_features(entity_ids=ids, features=None)
    derived = yaml.safe_load((small_project / "params.yaml").read_text())["features"]["derived"]
    computed = compute_features(validated.head(2), derived)
    for column in DERIVED:
        pd.testing.assert_series_equal(
            online[column], computed[column].reset_index(drop=True), check_names=False
        )

    shown = run(["bucle", "features", "get", *ids], small_project)
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["customer_id", *ids]
    region_row = next(line for line in lines if line.startswith("region "))
    assert region_row.split()[1:] == [
        "-" if pd.isna(value) else value for value in validated["region"].head(2)
    ]

    unknown = run(["bucle", "features", "get", ids[0], "NOBODY"], small_project, check=False)
    assert unknown.returncode == 1
    assert unknown.stdout.splitlines()[0].split() == ["customer_id", ids[0], "NOBODY"]
    assert unknown.stderr == "bucle: unknown to the online feature store: NOBODY\n"


def test_materialize_without_the_validated_table_says_which_stage_to_run(
    small_project: Path, run
) -> None:
    run(["bucle", "params"], small_project)

    result = run(["bucle", "features", "materialize"], small_project, check=False)

    assert result.returncode == 1
    assert "validated.parquet does not exist; run `bucle stage validate`" in result.stderr
    assert "dvc repro validate" in result.stderr
    assert result.stderr.count("\n") == 1


def test_without_a_feature_store_list_says_so_and_materialize_and_get_fail_in_one_line(
    small_project: Path, run
) -> None:
    run(["bucle", "params", "features.store=null"], small_project)

    listed = run(["bucle", "features", "list"], small_project).stdout
    assert "feature store: none (features.store is null)" in listed
    assert "avg_order_value" in listed
    for command in (["materialize"], ["get", "C000001"]):
        result = run(["bucle", "features", *command], small_project, check=False)
        assert result.returncode == 2
        assert result.stderr.startswith("bucle: error: features.store is null")
        assert result.stderr.count("\n") == 1
