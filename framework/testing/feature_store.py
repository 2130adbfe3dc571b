"""The feature-store contract: point-in-time correct training sets, latest values online, and
materialising twice being harmless."""

from __future__ import annotations

from typing import Any

import pytest

from framework.testing.host import host_with

ENTITY, TIMESTAMP = "customer_id", "seen_at"


def snapshot(day: str, spend: dict[str, float]) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {ENTITY: list(spend), TIMESTAMP: pd.Timestamp(day), "spend": list(spend.values())}
    )


class FeatureStoreContract:
    """Subclass as ``Test...`` and provide a ``plugin`` fixture returning a fresh, empty store."""

    @pytest.fixture
    def plugin(self) -> Any:
        raise NotImplementedError("define a `plugin` fixture returning a fresh feature store")

    @pytest.fixture
    def hook(self, plugin: Any) -> Any:
        hook = host_with("feature_store", plugin)
        hook.write_features(
            frame=snapshot("2026-01-01", {"a": 1.0, "b": 10.0}), entity=ENTITY, timestamp=TIMESTAMP
        )
        hook.write_features(
            frame=snapshot("2026-02-01", {"a": 2.0}), entity=ENTITY, timestamp=TIMESTAMP
        )
        return hook

    def test_a_training_row_never_sees_a_value_from_after_its_time(self, hook: Any) -> None:
        import pandas as pd

        entities = pd.DataFrame(
            {
                ENTITY: ["a", "a", "a", "b", "c"],
                "label_time": pd.to_datetime(
                    ["2025-12-31", "2026-01-15", "2026-03-01", "2026-03-01", "2026-03-01"]
                ),
            }
        )
        joined = hook.get_historical_features(
            entities=entities, entity=ENTITY, timestamp="label_time", features=["spend"]
        )
        assert list(joined[ENTITY]) == list(entities[ENTITY])  # same rows, same order
        spend = [None if pd.isna(v) else float(v) for v in joined["spend"]]
        assert spend == [None, 1.0, 2.0, 10.0, None]

    def test_online_lookup_returns_the_latest_value_per_entity(self, hook: Any) -> None:
        import pandas as pd

        online = hook.get_online_features(entity_ids=["b", "a", "zz"], features=["spend"])
        assert online.columns[0] == ENTITY
        assert list(online[ENTITY]) == ["b", "a", "zz"]
        spend = [None if pd.isna(v) else float(v) for v in online["spend"]]
        assert spend == [10.0, 2.0, None]

    def test_materialising_the_same_rows_again_changes_nothing(self, hook: Any) -> None:
        import pandas as pd

        hook.write_features(
            frame=snapshot("2026-02-01", {"a": 2.0}), entity=ENTITY, timestamp=TIMESTAMP
        )
        entities = pd.DataFrame({ENTITY: ["a"], "label_time": pd.to_datetime(["2026-03-01"])})
        joined = hook.get_historical_features(
            entities=entities, entity=ENTITY, timestamp="label_time", features=None
        )
        assert len(joined) == 1 and float(joined["spend"].iloc[0]) == 2.0
