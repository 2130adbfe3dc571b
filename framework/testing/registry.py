"""The registry contract: content-addressed versions numbered from 1, aliases that move, and the
history ``bucle models rollback`` reads."""

from __future__ import annotations

from typing import Any

import pytest

from framework.errors import BucleError
from framework.records import ModelVersion
from framework.testing.host import host_with, implements

LINEAGE = {"git_commit": "abc123", "artifact_uri": "file:///tmp/model", "data_sha256": "d" * 64}


class RegistryContract:
    """Subclass as ``Test...`` and provide a ``plugin`` fixture returning a fresh registry."""

    @pytest.fixture
    def plugin(self) -> Any:
        raise NotImplementedError("define a `plugin` fixture returning a fresh, empty registry")

    @pytest.fixture
    def hook(self, plugin: Any) -> Any:
        return host_with("registry", plugin)

    def register(self, hook: Any, digit: str, run_id: str = "run-1", name: str = "churn") -> Any:
        return hook.register_model(
            name=name, sha256=digit * 64, run_id=run_id, lineage=LINEAGE, metrics={"f1": 0.5}
        )

    def test_versions_are_numbered_from_one_and_keep_lineage(self, hook: Any) -> None:
        first = self.register(hook, "a")
        second = self.register(hook, "b", run_id="run-2")
        assert isinstance(first, ModelVersion)
        assert (first.version, second.version) == (1, 2)
        assert first.sha256 == "a" * 64 and first.run_id == "run-1"
        assert first.lineage == LINEAGE and first.metrics == pytest.approx({"f1": 0.5})
        assert first.created_at  # ISO 8601 text
        assert hook.get_model_version(name="churn", version=2).sha256 == "b" * 64
        assert hook.get_model_version(name="churn", version=9) is None

    def test_registering_the_same_artifact_again_returns_its_version(self, hook: Any) -> None:
        self.register(hook, "a")
        again = self.register(hook, "a", run_id="run-2")
        assert again.version == 1 and again.run_id == "run-1"
        assert [v.version for v in hook.list_model_versions(name="churn")] == [1]

    def test_versions_are_listed_newest_first_per_model(self, hook: Any) -> None:
        self.register(hook, "a")
        self.register(hook, "b")
        self.register(hook, "c", name="other")
        assert [v.version for v in hook.list_model_versions(name="churn")] == [2, 1]
        assert {v.name for v in hook.list_model_versions(name=None)} == {"churn", "other"}
        assert hook.list_model_versions(name="nobody") == []

    def test_an_alias_points_at_one_version_and_moves(self, hook: Any) -> None:
        self.register(hook, "a")
        self.register(hook, "b")
        assert hook.get_model_alias(name="churn", alias="production") is None
        hook.set_model_alias(name="churn", alias="production", version=1)
        moved = hook.set_model_alias(name="churn", alias="production", version=2)
        assert moved.version == 2 and moved.aliases == ["production"]
        assert hook.get_model_alias(name="churn", alias="production").version == 2
        assert hook.get_model_version(name="churn", version=1).aliases == []
        hook.set_model_alias(name="churn", alias="candidate", version=2)
        assert hook.get_model_version(name="churn", version=2).aliases == [
            "candidate",
            "production",
        ]

    def test_an_alias_to_a_missing_version_is_refused_in_one_line(self, hook: Any) -> None:
        self.register(hook, "a")
        with pytest.raises(BucleError) as raised:
            hook.set_model_alias(name="churn", alias="production", version=7)
        assert "7" in str(raised.value) and "\n" not in str(raised.value)

    def test_alias_history_is_newest_first(self, plugin: Any, hook: Any) -> None:
        if not implements(plugin, "get_alias_history"):
            return  # rollback then asks for an explicit promote
        for digit in "abc":
            self.register(hook, digit)
        for version in (1, 3, 2):
            hook.set_model_alias(name="churn", alias="production", version=version)
        history = hook.get_alias_history(name="churn", alias="production")
        assert [entry["version"] for entry in history] == [2, 3, 1]
        assert all(entry["set_at"] for entry in history)
        assert hook.get_alias_history(name="churn", alias="staging") == []

    def test_deleting_an_alias_returns_what_it_held(self, plugin: Any, hook: Any) -> None:
        if not implements(plugin, "delete_model_alias"):
            return  # bucle release then refuses shadow and canary releases
        self.register(hook, "a")
        hook.set_model_alias(name="churn", alias="staging", version=1)
        assert hook.delete_model_alias(name="churn", alias="staging") == 1
        assert hook.get_model_alias(name="churn", alias="staging") is None
        assert hook.delete_model_alias(name="churn", alias="staging") is None
