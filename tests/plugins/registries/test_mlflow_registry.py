"""The ``mlflow`` registry against a real MLflow model registry (sqlite file in a temp dir), read
back with MLflow's own client; and a whole ``bucle run`` that tracks and registers in MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from framework.testing import RegistryContract
from plugins.registries.mlflow import MlflowRegistry
from tests.framework.serving.conftest import Server


class TestMlflowRegistryContract(RegistryContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> MlflowRegistry:
        return MlflowRegistry(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")


def test_versions_and_aliases_are_mlflow_model_versions_and_aliases(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    registry = MlflowRegistry(tracking_uri=uri)
    for digit in "ab":
        registry.register_model(
            name="churn",
            sha256=digit * 64,
            run_id=f"run-{digit}",
            lineage={"artifact_uri": f"file:///store/{digit}", "git_commit": "abc"},
            metrics={"f1": 0.5},
        )
    registry.set_model_alias(name="churn", alias="production", version=2)

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champion = client.get_model_version_by_alias("churn", "production")
    assert int(champion.version) == 2 and champion.source == "file:///store/b"
    assert champion.tags["bucle.sha256"] == "b" * 64
    assert json.loads(champion.tags["bucle.lineage"])["git_commit"] == "abc"
    assert [int(v.version) for v in client.search_model_versions("name='churn'")] == [2, 1]


@pytest.mark.slow
def test_a_run_tracked_and_registered_in_mlflow_is_served_from_it(small_project: Path, run) -> None:
    overrides = ["tracker=[local,mlflow]", "registry=mlflow"]
    run(["bucle", "run", *overrides], small_project)
    run(["bucle", "params", *overrides], small_project)  # later commands read params.yaml
    listed = run(["bucle", "models", "list"], small_project).stdout
    assert "candidate" in listed.splitlines()[1]
    run(["bucle", "models", "promote", "1"], small_project)

    uri = f"sqlite:///{small_project}/.bucle/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champion = client.get_model_version_by_alias("churn", "production")
    assert int(champion.version) == 1
    assert int(client.get_model_version_by_alias("churn", "candidate").version) == 1
    # The version is linked to the MLflow run the tracker logged, which holds the model file.
    mlflow_run = client.get_run(champion.run_id)
    assert mlflow_run.data.tags["bucle.run_id"] == champion.tags["bucle.run_id"]
    assert mlflow_run.data.params["model.C"] == "1.0"
    assert mlflow_run.data.tags["bucle.sha256.model"] == champion.tags["bucle.sha256"]
    assert "roc_auc" in mlflow_run.data.metrics
    assert not (small_project / "mlruns").exists()  # nothing written outside .bucle/

    # `bucle serve` answers with the version MLflow's `production` alias points at.
    server = Server(small_project).start()
    try:
        server.wait_ready()
        served = server.get("/model").json
        assert served["version"] == 1 and served["sha256"] == champion.tags["bucle.sha256"]
    finally:
        server.stop()
