"""The ``mlflow`` tracker: each Bucle run becomes an MLflow run, readable with MLflow's own tools.

One MLflow experiment per project (or ``experiment``). The run is named after Bucle's run id and
tagged ``bucle.run_id``; params are the resolved config flattened to dotted keys, metrics are
logged as stages produce them, every output file is logged as an artifact under its logical
name (``model/model.skops``) with its sha256 as a tag, and the run's manifest is the artifact
``bucle/manifest.json``. It also answers ``bucle runs list/show/compare/reproduce`` from MLflow,
so ``tracker=mlflow`` alone is a complete tracker.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framework import hookimpl
from framework.records import RunInfo, RunRecord
from framework.secrets import redacted, redacted_params
from plugins.mlflow_client import call, make_client

PLUGIN = "tracker 'mlflow'"
RUN_TAG = "bucle.run_id"
PROJECT_TAG = "bucle.project"
MANIFEST = "bucle/manifest.json"
#: MLflow's limits: a batch holds at most 100 params, a param value at most 6000 characters.
PARAM_BATCH = 100
PARAM_VALUE_LIMIT = 6000
STATUS = {"finished": "FINISHED", "failed": "FAILED"}


class MlflowTracker:
    """Logs runs to the MLflow tracking store at ``tracking_uri`` (sqlite file by default)."""

    def __init__(
        self,
        tracking_uri: str = "sqlite:///.bucle/mlflow.db",
        experiment: str | None = None,
        artifact_location: str = ".bucle/mlflow-artifacts",
        log_artifacts: bool = True,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.artifact_location = artifact_location
        self.log_artifacts = log_artifacts
        self._client: Any = None
        self._runs: dict[str, str] = {}  # Bucle run id -> MLflow run id

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(PLUGIN, self.tracking_uri)
        return self._client

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        return call(PLUGIN, self.tracking_uri, what, function, *args, **kwargs)

    # -----------------------------------------------------------------------------------------
    # Logging
    # -----------------------------------------------------------------------------------------

    @hookimpl
    def start_run(self, run: RunInfo) -> None:
        experiment_id = self._experiment_id(self.experiment or run.project)
        tags = {**run.tags, RUN_TAG: run.run_id, PROJECT_TAG: run.project}
        started = datetime.fromisoformat(run.started_at)
        created = self._call(
            "start a run",
            self.client.create_run,
            experiment_id,
            start_time=int(started.timestamp() * 1000),
            tags={key: str(value) for key, value in tags.items()},
            run_name=run.run_id,
        )
        self._runs[run.run_id] = created.info.run_id

    @hookimpl
    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        # Whoever calls the hook, what MLflow keeps went through the secret classifier.
        shown = redacted_params(params)
        entries = [Param(key, _param_value(value)) for key, value in shown.items()]
        mlflow_id = self._mlflow_run(run_id)
        for first in range(0, len(entries), PARAM_BATCH):
            batch = entries[first : first + PARAM_BATCH]
            self._call("log params", self.client.log_batch, mlflow_id, params=batch)

    @hookimpl
    def log_metrics(self, run_id: str, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        entries = [Metric(key, float(value), now, 0) for key, value in metrics.items()]
        self._call("log metrics", self.client.log_batch, self._mlflow_run(run_id), metrics=entries)

    @hookimpl
    def log_artifact(self, run_id: str, name: str, path: Path, sha256: str) -> None:
        mlflow_id = self._mlflow_run(run_id)
        tag = f"bucle.sha256.{name}"
        self._call("tag an artifact", self.client.set_tag, mlflow_id, tag, sha256)
        if self.log_artifacts:
            log = self.client.log_artifact
            self._call("log an artifact", log, mlflow_id, str(path), artifact_path=name)

    @hookimpl
    def end_run(self, run_id: str, status: str, manifest: dict[str, Any]) -> None:
        mlflow_id = self._mlflow_run(run_id)
        text = json.loads(json.dumps(redacted(manifest), default=str))
        self._call("log the manifest", self.client.log_dict, mlflow_id, text, MANIFEST)
        ended = manifest.get("ended_at")
        end_time = int(datetime.fromisoformat(ended).timestamp() * 1000) if ended else None
        self._call(
            "end a run",
            self.client.set_terminated,
            mlflow_id,
            STATUS.get(status, "FAILED"),
            end_time=end_time,
        )

    # -----------------------------------------------------------------------------------------
    # Queries: bucle runs
    # -----------------------------------------------------------------------------------------

    @hookimpl
    def list_runs(self, project: str | None, limit: int) -> list[RunRecord]:
        runs = self._search(
            f"tags.`{PROJECT_TAG}` = '{_quoted(project)}'" if project else "", limit
        )
        return [self._record(run) for run in runs]

    @hookimpl
    def get_run(self, run_id: str) -> RunRecord | None:
        runs = self._search(f"tags.`{RUN_TAG}` LIKE '{_quoted(run_id)}%'", 2)
        exact = [run for run in runs if run.data.tags.get(RUN_TAG) == run_id]
        if exact or len(runs) == 1:
            return self._record((exact or runs)[0])
        if runs:
            from framework.errors import BucleError

            names = ", ".join(run.data.tags.get(RUN_TAG, "?") for run in runs)
            raise BucleError(f"run id prefix '{run_id}' is ambiguous: {names}")
        return None

    # -----------------------------------------------------------------------------------------

    def _experiment_id(self, name: str) -> str:
        found = self._call("read an experiment", self.client.get_experiment_by_name, name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                self._call("restore an experiment", self.client.restore_experiment, found.id)
            return found.experiment_id
        location = _artifact_uri(self.artifact_location, name)
        return self._call(
            "create an experiment",
            self.client.create_experiment,
            name,
            artifact_location=location,
            tags={PROJECT_TAG: name},
        )

    def _mlflow_run(self, run_id: str) -> str:
        """The MLflow run id of a Bucle run: remembered, or found by its tag."""
        if run_id not in self._runs:
            runs = self._search(f"tags.`{RUN_TAG}` = '{_quoted(run_id)}'", 1)
            if not runs:
                from framework.errors import PluginError

                raise PluginError(f"{PLUGIN} has no MLflow run for Bucle run '{run_id}'")
            self._runs[run_id] = runs[0].info.run_id
        return self._runs[run_id]

    def _search(self, filter_string: str, limit: int) -> list[Any]:
        from mlflow.entities import ViewType

        experiments = self._call(
            "list experiments", self.client.search_experiments, view_type=ViewType.ALL
        )
        ids = [experiment.experiment_id for experiment in experiments]
        if not ids:
            return []
        return list(
            self._call(
                "search runs",
                self.client.search_runs,
                ids,
                filter_string=filter_string,
                max_results=limit,
                order_by=["attributes.start_time DESC"],
            )
        )

    def _record(self, run: Any) -> RunRecord:
        tags = dict(run.data.tags)
        manifest = self._manifest(run.info.run_id)
        info = run.info
        return RunRecord(
            run_id=tags.get(RUN_TAG, info.run_id),
            project=tags.get(PROJECT_TAG, ""),
            status={"FINISHED": "finished", "FAILED": "failed"}.get(info.status, "running"),
            started_at=_iso(info.start_time),
            ended_at=_iso(info.end_time) if info.end_time else None,
            params={key: _param_back(value) for key, value in run.data.params.items()},
            metrics=dict(run.data.metrics),
            artifacts={
                key.removeprefix("bucle.sha256."): value
                for key, value in tags.items()
                if key.startswith("bucle.sha256.")
            },
            manifest=manifest,
            tags={k: v for k, v in tags.items() if not k.startswith(("bucle.", "mlflow."))},
        )

    def _manifest(self, mlflow_id: str) -> dict[str, Any]:
        import tempfile

        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory() as directory:
            try:
                path = self.client.download_artifacts(mlflow_id, MANIFEST, directory)
            except (MlflowException, OSError):
                return {}  # a run still going, or one that failed before its end
            return json.loads(Path(path).read_text())


def _param_value(value: Any) -> str:
    """A config value as MLflow stores it: JSON text, cut to MLflow's limit with a marker."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > PARAM_VALUE_LIMIT:
        text = text[: PARAM_VALUE_LIMIT - 15] + "...[truncated]"
    return text


def _param_back(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _quoted(text: str) -> str:
    return text.replace("'", "\\'")


def _iso(milliseconds: int) -> str:
    return datetime.fromtimestamp(milliseconds / 1000, UTC).isoformat(timespec="seconds")


def _artifact_uri(location: str, experiment: str) -> str:
    """A plain path becomes an absolute ``file://`` URI per experiment; URIs are kept as given."""
    if "://" in location:
        return f"{location.rstrip('/')}/{experiment}"
    return (Path(location).resolve() / experiment).as_uri()
