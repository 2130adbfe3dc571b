"""The ``mlflow`` registry: Bucle's model versions and aliases in MLflow's model registry.

A Bucle version is an MLflow model version of the registered model named after the project:
MLflow numbers it, its source is the artifact store's URI, and its tags hold what Bucle needs
back (``bucle.sha256``, ``bucle.run_id``, ``bucle.lineage``, ``bucle.metrics`` as JSON). Aliases
are MLflow model aliases (``production``, ``candidate``, ``staging``), so MLflow's UI and
``models:/churn@production`` see the same champion as ``bucle serve``. When the ``mlflow``
tracker logs the run to the same store, the version is linked to that MLflow run.

MLflow keeps no history of an alias, which ``bucle models rollback`` needs: each move is also
appended to the registered model's tag ``bucle.alias_history.<alias>`` (newest first, the last
50 moves).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from framework import hookimpl
from framework.errors import BucleError
from framework.records import ModelVersion
from plugins.mlflow_client import call, make_client, not_found

PLUGIN = "registry 'mlflow'"
HISTORY_TAG = "bucle.alias_history.{alias}"
HISTORY_KEPT = 50


class MlflowRegistry:
    """Registers versions in the MLflow model registry at ``registry_uri``."""

    def __init__(
        self, tracking_uri: str = "sqlite:///.bucle/mlflow.db", registry_uri: str | None = None
    ) -> None:
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri or tracking_uri
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(PLUGIN, self.tracking_uri, self.registry_uri)
        return self._client

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        return call(PLUGIN, self.registry_uri, what, function, *args, **kwargs)

    @hookimpl
    def register_model(
        self,
        name: str,
        sha256: str,
        run_id: str,
        lineage: dict[str, Any],
        metrics: dict[str, float],
    ) -> ModelVersion:
        existing = self._search(f"name = '{_quoted(name)}' AND tags.`bucle.sha256` = '{sha256}'")
        if existing:
            return self._version(name, int(existing[0].version))
        if self._registered(name) is None:
            self._call("create a registered model", self.client.create_registered_model, name)
        tags = {
            "bucle.sha256": sha256,
            "bucle.run_id": run_id,
            "bucle.lineage": json.dumps(lineage, default=str, sort_keys=True),
            "bucle.metrics": json.dumps(metrics, sort_keys=True),
        }
        created = self._call(
            "create a model version",
            self.client.create_model_version,
            name,
            source=str(lineage.get("artifact_uri") or f"sha256:{sha256}"),
            run_id=self._mlflow_run(run_id),
            tags=tags,
        )
        return self._version(name, int(created.version))

    @hookimpl
    def get_model_version(self, name: str, version: int) -> ModelVersion | None:
        return self._version(name, version)

    @hookimpl
    def list_model_versions(self, name: str | None) -> list[ModelVersion]:
        found = self._search(f"name = '{_quoted(name)}'" if name else "")
        aliases: dict[str, dict[str, int]] = {}
        versions = []
        for entry in sorted(found, key=lambda v: (v.name, -int(v.version))):
            if entry.name not in aliases:
                aliases[entry.name] = self._aliases(entry.name)
            versions.append(_model_version(entry, aliases[entry.name]))
        return versions

    @hookimpl
    def set_model_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        if self._version(name, version) is None:
            raise BucleError(f"model '{name}' has no version {version}; see `bucle models list`")
        self._call(
            "set an alias", self.client.set_registered_model_alias, name, alias, str(version)
        )
        history = self.get_alias_history(name, alias)
        entry = {"version": version, "set_at": datetime.now(UTC).isoformat(timespec="seconds")}
        text = json.dumps([entry, *history][:HISTORY_KEPT])
        tag = HISTORY_TAG.format(alias=alias)
        self._call("record an alias", self.client.set_registered_model_tag, name, tag, text)
        found = self._version(name, version)
        assert found is not None
        return found

    @hookimpl
    def delete_model_alias(self, name: str, alias: str) -> int | None:
        held = self._aliases(name).get(alias)
        if held is not None:
            self._call("delete an alias", self.client.delete_registered_model_alias, name, alias)
        return held

    @hookimpl
    def get_model_alias(self, name: str, alias: str) -> ModelVersion | None:
        held = self._aliases(name).get(alias)
        return None if held is None else self._version(name, held)

    @hookimpl
    def get_alias_history(self, name: str, alias: str) -> list[dict[str, Any]]:
        model = self._registered(name)
        if model is None:
            return []
        text = model.tags.get(HISTORY_TAG.format(alias=alias))
        return json.loads(text) if text else []

    # -----------------------------------------------------------------------------------------

    def _registered(self, name: str) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(name)
        except MlflowException as error:
            if not_found(error):
                return None
            return self._call("read a registered model", self.client.get_registered_model, name)

    def _aliases(self, name: str) -> dict[str, int]:
        model = self._registered(name)
        return {} if model is None else {k: int(v) for k, v in model.aliases.items()}

    def _version(self, name: str, version: int) -> ModelVersion | None:
        from mlflow.exceptions import MlflowException

        try:
            entry = self.client.get_model_version(name, str(version))
        except MlflowException as error:
            if not_found(error):
                return None
            entry = self._call(
                "read a model version", self.client.get_model_version, name, str(version)
            )
        return _model_version(entry, self._aliases(name))

    def _search(self, filter_string: str) -> list[Any]:
        return list(
            self._call("search model versions", self.client.search_model_versions, filter_string)
        )

    def _mlflow_run(self, run_id: str) -> str | None:
        """The MLflow run the ``mlflow`` tracker logged for this Bucle run, when there is one."""
        from mlflow.entities import ViewType

        experiments = self._call(
            "list experiments", self.client.search_experiments, view_type=ViewType.ALL
        )
        ids = [experiment.experiment_id for experiment in experiments]
        if not ids:
            return None
        runs = self._call(
            "search runs",
            self.client.search_runs,
            ids,
            filter_string=f"tags.`bucle.run_id` = '{_quoted(run_id)}'",
            max_results=1,
        )
        return runs[0].info.run_id if runs else None


def _model_version(entry: Any, aliases: dict[str, int]) -> ModelVersion:
    tags = dict(entry.tags)
    number = int(entry.version)
    created = datetime.fromtimestamp(entry.creation_timestamp / 1000, UTC)
    return ModelVersion(
        name=entry.name,
        version=number,
        sha256=tags.get("bucle.sha256", ""),
        created_at=created.isoformat(timespec="seconds"),
        run_id=tags.get("bucle.run_id", entry.run_id or ""),
        lineage=json.loads(tags.get("bucle.lineage", "{}")),
        metrics=json.loads(tags.get("bucle.metrics", "{}")),
        aliases=sorted(alias for alias, held in aliases.items() if held == number),
    )


def _quoted(text: str) -> str:
    return text.replace("'", "\\'")
