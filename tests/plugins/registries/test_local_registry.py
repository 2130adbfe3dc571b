"""The local registry: one version per artifact, lineage kept, aliases that move."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.errors import BucleError
from framework.testing import RegistryContract
from plugins.registries.local import LocalRegistry


def register(registry: LocalRegistry, sha: str, run_id: str = "r1"):
    return registry.register_model(
        name="churn", sha256=sha, run_id=run_id, lineage={"git_commit": "abc"}, metrics={"f1": 0.5}
    )


def test_registering_the_same_artifact_returns_the_same_version(tmp_path: Path) -> None:
    registry = LocalRegistry(path=str(tmp_path / "registry.db"))
    first = register(registry, "a" * 64)
    again = register(registry, "a" * 64, run_id="r2")
    other = register(registry, "b" * 64, run_id="r3")
    assert first.version == again.version == 1
    assert again.run_id == "r1"
    assert other.version == 2
    assert first.lineage == {"git_commit": "abc"} and first.metrics == {"f1": 0.5}


def test_aliases_point_at_one_version_each(tmp_path: Path) -> None:
    registry = LocalRegistry(path=str(tmp_path / "registry.db"))
    register(registry, "a" * 64)
    register(registry, "b" * 64)
    registry.set_model_alias(name="churn", alias="candidate", version=1)
    moved = registry.set_model_alias(name="churn", alias="candidate", version=2)
    assert moved.aliases == ["candidate"]
    assert registry.get_model_alias(name="churn", alias="candidate").version == 2
    assert registry.get_model_version(name="churn", version=1).aliases == []
    assert [v.version for v in registry.list_model_versions(name="churn")] == [2, 1]
    assert registry.get_model_alias(name="churn", alias="production") is None


def test_an_alias_to_a_missing_version_is_refused(tmp_path: Path) -> None:
    registry = LocalRegistry(path=str(tmp_path / "registry.db"))
    with pytest.raises(BucleError, match="no version 7"):
        registry.set_model_alias(name="churn", alias="candidate", version=7)


class TestLocalRegistryContract(RegistryContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> LocalRegistry:
        return LocalRegistry(path=str(tmp_path / "registry.db"))
