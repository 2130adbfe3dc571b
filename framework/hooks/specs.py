"""Every hook a Bucle plugin may implement: the whole plugin contract in one file.

A plugin is a class. Bucle builds it with its config options as keyword arguments and registers
the instance, so hook implementations are methods decorated with ``@framework.hookimpl``. Hooks
are called with keyword arguments only; an implementation may accept any subset of a spec's
arguments, in any order.

Roles and how many plugins of each are active:

- "one" roles (source, store, registry, deployer) use ``firstresult`` hooks. The host registers
  exactly the one plugin the config names, so its answer is the answer.
- "many" roles (validator, tracker, monitor, alerter, and hooks-only plugins) use broadcast
  hooks: every active plugin is called and the results are collected in a list.

Specs are grouped in the order they fire during a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.hooks.markers import hookspec

if TYPE_CHECKING:
    import pandas as pd

    from framework.monitoring.window import MonitorResult, MonitorWindow
    from framework.pipeline.context import RunContext
    from framework.records import CheckResult, ModelVersion, RunInfo, RunRecord


# ---------------------------------------------------------------------------------------------
# Pipeline lifecycle (any plugin)
# ---------------------------------------------------------------------------------------------


@hookspec
def before_stage(stage: str, context: RunContext) -> None:
    """Called just before a pipeline stage runs, in ``bucle run`` and in ``bucle stage``.

    :param stage: the stage name, e.g. ``"train"``.
    :param context: the run's context: resolved config, paths and run id.

    Return value is ignored. Raising aborts the stage (``on_stage_error`` is then called).
    """


@hookspec
def after_stage(stage: str, context: RunContext, outputs: dict[str, Path]) -> None:
    """Called after a stage finished without error.

    :param stage: the stage name.
    :param context: the run's context.
    :param outputs: the files the stage wrote, by logical name (``{"model": Path(...)}``).

    Return value is ignored.
    """


@hookspec
def on_stage_error(stage: str, context: RunContext, error: BaseException) -> None:
    """Called when a stage raised, before the error is reported to the user.

    :param stage: the stage name.
    :param context: the run's context.
    :param error: the exception the stage raised.

    Return value is ignored; the error is re-raised after every implementation ran.
    """


# ---------------------------------------------------------------------------------------------
# Source (role "source", entry-point group ``bucle.sources``, config group ``data``, one active)
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def load_data(seed: int) -> pd.DataFrame:
    """Called by the ``ingest`` stage to read the raw table.

    :param seed: the run's seed, for sources that generate or sample data.

    Return a ``pandas.DataFrame`` holding the target column named by ``data.target`` and every
    feature column, one row per example. The first non-None result is used.
    """


# ---------------------------------------------------------------------------------------------
# Validator (role "validator", group ``bucle.validators``, config group ``validate``, many)
# ---------------------------------------------------------------------------------------------


@hookspec
def validate_data(frame: pd.DataFrame, target: str) -> list[CheckResult]:
    """Called by the ``validate`` stage with the ingested table.

    :param frame: the raw table; do not modify it.
    :param target: the name of the target column.

    Return a list of :class:`framework.records.CheckResult`, one per check run (passed ones
    included, so reports show what was checked), each filed under a ``dimension``: accuracy,
    completeness, consistency or timeliness (any other value is a plugin error). Every
    validator is called; the stage quarantines the union of failed rows, scores each dimension,
    and fails past ``quarantine.max_bad_share``, below ``quarantine.min_score``, or on a failed
    dataset-level check.
    """


# ---------------------------------------------------------------------------------------------
# Feature store (role "feature_store", group ``bucle.feature_stores``, config ``features.store``,
# one active; none when ``features.store`` is null)
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def write_features(frame: pd.DataFrame, entity: str, timestamp: str) -> int:
    """Called by ``featurize`` and ``bucle features materialize`` with a computed feature table.

    :param frame: one row per entity and event, holding ``entity``, ``timestamp`` and features.
    :param entity: the entity key column (``features.entity``), e.g. ``customer_id``.
    :param timestamp: the event-time column (``features.timestamp``).

    Append the rows to the offline store, keyed by entity and event timestamp (a row already
    stored for the same key is replaced, so materialising twice is harmless), and update the
    online store with the latest row per entity. Return the number of rows written. The first
    non-None result is used.
    """


@hookspec(firstresult=True)
def get_historical_features(
    entities: pd.DataFrame, entity: str, timestamp: str, features: list[str] | None
) -> pd.DataFrame:
    """Point-in-time correct retrieval for training sets.

    :param entities: rows of (``entity``, ``timestamp``) — e.g. labels and when they were known.
    :param entity: the entity key column name.
    :param timestamp: the timestamp column name in ``entities``.
    :param features: the feature columns to fetch, or None for all.

    Return ``entities`` (same rows, same order) with each feature's latest value whose event
    time is at or before that row's timestamp — never a value from after it; missing when the
    entity had no value yet. The first non-None result is used.
    """


@hookspec(firstresult=True)
def get_online_features(entity_ids: list[Any], features: list[str] | None) -> pd.DataFrame:
    """Serving-time lookup of the latest feature values per entity.

    :param entity_ids: the entity keys to look up.
    :param features: the feature columns to fetch, or None for all.

    Return one row per requested id, in order, with the entity column first; unknown ids get
    missing values. The first non-None result is used.
    """


@hookspec(firstresult=True)
def describe_features() -> dict[str, Any]:
    """Called by ``bucle features list``: what the store holds.

    Return a JSON-friendly dict with at least ``entity``, ``timestamp``, ``columns``,
    ``offline_rows``, ``online_entities`` and ``latest_event`` (ISO text or None). The first
    non-None result is used.
    """


# ---------------------------------------------------------------------------------------------
# Tracker (role "tracker", group ``bucle.trackers``, config group ``tracker``, many)
# ---------------------------------------------------------------------------------------------


@hookspec
def start_run(run: RunInfo) -> None:
    """Called once when a run starts, before any other tracker hook for that run.

    :param run: the run's id, project name, start time and tags.

    Return value is ignored.
    """


@hookspec
def log_params(run_id: str, params: dict[str, Any]) -> None:
    """Called with the run's resolved config flattened to dotted keys (``model.C``).

    :param run_id: the run's id.
    :param params: scalar values by dotted key.

    Return value is ignored.
    """


@hookspec
def log_metrics(run_id: str, metrics: dict[str, float]) -> None:
    """Called with metrics as stages produce them (validation shares, evaluation scores).

    :param run_id: the run's id.
    :param metrics: float values by name; a later call with the same name overwrites.

    Return value is ignored.
    """


@hookspec
def log_artifact(run_id: str, name: str, path: Path, sha256: str) -> None:
    """Called for every file a run produced (model, metrics, reports, plots).

    :param run_id: the run's id.
    :param name: the artifact's logical name, e.g. ``"model"`` or ``"metrics"``.
    :param path: where the file is now; copy it if you need to keep it.
    :param sha256: the file's content hash.

    Return value is ignored.
    """


@hookspec
def end_run(run_id: str, status: str, manifest: dict[str, Any]) -> None:
    """Called once when a run ends, successfully or not.

    :param run_id: the run's id.
    :param status: ``"finished"`` or ``"failed"``.
    :param manifest: everything needed to reproduce the run: resolved config, git commit and
        dirty flag, content hashes of inputs and outputs, Python and package versions, start and
        end times, status and, for a failed run, the error.

    Return value is ignored.
    """


@hookspec(firstresult=True)
def list_runs(project: str | None, limit: int) -> list[RunRecord] | None:
    """Called by ``bucle runs list``: the newest runs first.

    :param project: only runs of this project, or every run when None.
    :param limit: at most this many runs.

    Return a list of :class:`framework.records.RunRecord`, or None when this tracker cannot be
    queried. The first non-None result is used.
    """


@hookspec(firstresult=True)
def get_run(run_id: str) -> RunRecord | None:
    """Called by ``bucle runs show``, ``compare`` and ``reproduce``.

    :param run_id: the run's id (a unique prefix is accepted by the built-in tracker).

    Return the :class:`framework.records.RunRecord`, or None when unknown. The first non-None
    result is used.
    """


# ---------------------------------------------------------------------------------------------
# Artifact store (role "store", group ``bucle.stores``, config group ``store``, one active)
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def put_artifact(path: Path, sha256: str) -> str:
    """Called to keep a file, addressed by its content.

    :param path: the file to store.
    :param sha256: its content hash, computed by the caller.

    Return a URI the store can resolve again. Storing the same content twice must be cheap and
    return the same URI. The first non-None result is used.
    """


@hookspec(firstresult=True)
def get_artifact(sha256: str) -> Path:
    """Called to read a stored artifact back.

    :param sha256: the content hash it was stored under.

    Return a local path to a file whose sha256 has been checked; raise
    :class:`framework.errors.ArtifactError` when it is missing or corrupt. The first non-None
    result is used.
    """


# ---------------------------------------------------------------------------------------------
# Model registry (role "registry", group ``bucle.registries``, config group ``registry``, one)
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def register_model(
    name: str, sha256: str, run_id: str, lineage: dict[str, Any], metrics: dict[str, float]
) -> ModelVersion:
    """Called by the ``register`` stage to record a model version.

    :param name: the registered model's name (the project name).
    :param sha256: the model artifact's content hash (already in the store).
    :param run_id: the run that produced it.
    :param lineage: git commit, config hash, data hash and anything else that traces it.
    :param metrics: its evaluation metrics.

    Return the :class:`framework.records.ModelVersion`. Registering an artifact that is
    already registered under ``name`` returns the existing version unchanged. The first non-None
    result is used.
    """


@hookspec(firstresult=True)
def get_model_version(name: str, version: int) -> ModelVersion | None:
    """Called by ``bucle models show``, ``promote``, ``rollback`` and ``release`` to read a version.

    :param name: the registered model's name.
    :param version: the version number (from 1).

    Return the :class:`framework.records.ModelVersion`, or None when it does not exist. The
    first non-None result is used.
    """


@hookspec(firstresult=True)
def list_model_versions(name: str | None) -> list[ModelVersion]:
    """Called by ``bucle models list`` and the ``register`` stage: the versions a registry holds.

    :param name: the registered model's name, or None for every model.

    Return a list of :class:`framework.records.ModelVersion`, newest first (an empty list when
    there is none). The first non-None result is used.
    """


@hookspec(firstresult=True)
def set_model_alias(name: str, alias: str, version: int) -> ModelVersion:
    """Point ``alias`` (``production``, ``candidate``, ``staging``) of ``name`` at ``version``.

    :param name: the registered model's name.
    :param alias: the alias to move; an alias points at one version at a time.
    :param version: the version it points at from now on.

    Return the :class:`framework.records.ModelVersion` the alias now points at. The first
    non-None result is used.
    """


@hookspec(firstresult=True)
def delete_model_alias(name: str, alias: str) -> int | None:
    """Called when a release ends, to clear the challenger alias (``staging``).

    :param name: the registered model's name.
    :param alias: the alias to remove; removing an unset alias is not an error.

    Return the version the alias pointed at, or None when it was unset. A registry that cannot
    remove aliases does not implement this hook, and ``bucle release`` then refuses to start a
    shadow or canary it could not end. The first non-None result is used.
    """


@hookspec(firstresult=True)
def get_model_alias(name: str, alias: str) -> ModelVersion | None:
    """Called to resolve an alias: the version the server answers with, the current candidate.

    :param name: the registered model's name.
    :param alias: the alias, e.g. ``"production"``.

    Return the :class:`framework.records.ModelVersion` the alias points at, or None when the
    alias is unset. The first non-None result is used.
    """


@hookspec(firstresult=True)
def get_alias_history(name: str, alias: str) -> list[dict[str, Any]]:
    """Called by ``bucle models rollback`` to find the version an alias held before.

    :param name: the registered model's name.
    :param alias: the alias, e.g. ``"production"``.

    Return every time ``alias`` of ``name`` was set, newest first, as dicts with ``version``
    (int) and ``set_at`` (ISO 8601 text); an empty list when it was never set. A registry that
    keeps no history returns None, and rollback then asks for an explicit promote. The first
    non-None result is used.
    """


# ---------------------------------------------------------------------------------------------
# Model events (any plugin)
# ---------------------------------------------------------------------------------------------


@hookspec
def on_model_registered(version: ModelVersion, context: RunContext, promoted: bool) -> None:
    """Called after the ``register`` stage recorded a model version.

    :param version: the registered version (aliases as they are now).
    :param context: the run's context.
    :param promoted: True when the gate passed and the ``candidate`` alias moved to it.

    Return value is ignored.
    """


@hookspec
def on_release_decision(release: dict[str, Any], decision: dict[str, Any]) -> None:
    """Called by ``bucle release`` after each decision is written to the release journal.

    :param release: the release so far: ``model``, ``version``, ``sha256``,
        ``production_before``, ``strategy``, ``outcome`` (``in progress`` while it runs: the
        final decision says how it ends) and every decision made so far.
    :param decision: the new one: ``at``, ``step`` (``staging``, ``smoke schema``, ``canary``…),
        ``decision`` (``passed``, ``failed``, ``promoted``, ``rolled back``…), ``reason`` and
        its ``evidence`` when there is any.

    For notifying people or systems (a chat message when a canary is rolled back). Return
    values are ignored; an exception is reported and the release goes on.
    """


# ---------------------------------------------------------------------------------------------
# Deployer (role "deployer", group ``bucle.deployers``, config group ``deploy``, one active)
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def deploy(settings: dict[str, Any]) -> dict[str, Any]:
    """Start a deployment of the inference service and return its record once it is ready.

    :param settings: ``host``, ``port`` and ``alias`` from the ``serve`` config and
        ``overrides``, the Hydra overrides the server's config is composed with.

    Returns the deployment's record (where it runs, which version answers, when it started),
    which ``deployment_status`` returns again later. Raises a one-line
    :class:`~framework.errors.BucleError` when a deployment is already running or the new one
    does not get ready; a failed deploy leaves nothing running.
    """


@hookspec(firstresult=True)
def deployment_status() -> dict[str, Any] | None:
    """Called by ``bucle deploy status``: how the current deployment is doing.

    Return the record ``deploy`` returned, plus ``alive`` (its process runs) and ``healthy``
    (it answers its health check), both bools; None if no deployment was ever made. The first
    non-None result is used.
    """


@hookspec(firstresult=True)
def stop_deployment() -> dict[str, Any] | None:
    """Called by ``bucle deploy stop``: stop the current deployment.

    Return its record marked stopped; None if no deployment was ever made. Stopping a
    deployment that already stopped is not an error: the record is returned as is. The first
    non-None result is used.
    """


# ---------------------------------------------------------------------------------------------
# Monitor (role "monitor", group ``bucle.monitors``, config group ``monitor``, many active)
# ---------------------------------------------------------------------------------------------


@hookspec
def check_window(window: MonitorWindow) -> MonitorResult | None:
    """Called by ``bucle monitor`` once per active monitor with the window it reads.

    :param window: the production version, its reference profile and evaluate metrics, the
        window's inference-log rows with their model inputs (computed by the training feature
        code), predictions, probabilities and feedback labels, and the running server's
        Prometheus metrics when one answers
        (:class:`~framework.monitoring.window.MonitorWindow`).

    Return a :class:`~framework.monitoring.window.MonitorResult`: a status (``ok``,
    ``warning``, ``drift`` or ``skipped``), a one-line summary, key figures, per-column details
    and plots. A monitor that has nothing to judge (no labels yet, no server) returns
    ``skipped`` with the reason, never raises. Every result goes into the report.
    """


# ---------------------------------------------------------------------------------------------
# Alerter (role "alerter", group ``bucle.alerters``, config group ``alert``, many active)
# ---------------------------------------------------------------------------------------------


@hookspec
def send_alert(summary: dict[str, Any]) -> dict[str, Any] | None:
    """Called by ``bucle monitor`` when a report has findings (or always, per the alerter).

    :param summary: the report's summary: model, version, window, overall status, each
        monitor's status and one-line summary, and the paths of the JSON and HTML reports.

    Deliver it (a log line, an HTTP POST, a message) and return ``{"delivered": bool, ...}``
    with what happened (attempts, the error). An alerter must not raise for a delivery
    failure (an endpoint down, a timeout): it retries as configured and reports the failure,
    which the report records; the monitor never crashes because an alert could not be sent.
    """


# ---------------------------------------------------------------------------------------------
# Monitor report (any plugin)
# ---------------------------------------------------------------------------------------------


@hookspec
def on_monitor_report(report: dict[str, Any]) -> None:
    """Called after ``bucle monitor`` wrote its report (any plugin), with the whole report.

    :param report: the report as written to JSON: model, version, window, overall status and
        each monitor's result, plus the alerts sent.

    For lifecycle plugins that keep history or trigger work elsewhere. Return values are
    ignored.
    """
