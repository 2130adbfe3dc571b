"""``bucle models list | show | card``: read registered versions back from the registry."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from framework.commands.project import project_host, table
from framework.errors import BucleError
from framework.hooks.host import PluginHost
from framework.records import ModelVersion


def list_models(overrides: Sequence[str] = ()) -> int:
    cfg, host = project_host("registry", overrides=overrides)
    versions = host.hook.list_model_versions(name=str(cfg.project)) or []
    if not versions:
        print(f"no registered versions of '{cfg.project}' yet; the register stage adds them")
        return 0
    # The headline metric: ROC AUC for classifiers, RMSE when the versions are regressors.
    metric = "roc_auc" if any("roc_auc" in v.metrics for v in versions) else "rmse"
    if not any(metric in v.metrics for v in versions):
        metric = "roc_auc"
    rows = [
        [
            v.name,
            str(v.version),
            ",".join(v.aliases) or "-",
            v.created_at,
            v.run_id,
            f"{v.metrics[metric]:.4f}" if metric in v.metrics else "-",
            v.sha256[:12],
        ]
        for v in versions
    ]
    print(table(rows, ["model", "version", "aliases", "created", "run", metric, "sha256"]))
    return 0


def find_version(
    version: int, *roles: str, overrides: Sequence[str] = ()
) -> tuple[PluginHost, ModelVersion]:
    """The plugin host for ``roles`` and the project's registered ``version``, or a clear error."""
    cfg, host = project_host(*roles, overrides=overrides)
    found = host.hook.get_model_version(name=str(cfg.project), version=version)
    if found is None:
        raise BucleError(f"model '{cfg.project}' has no version {version}; see `bucle models list`")
    return host, found


def show_model(version: int, overrides: Sequence[str] = ()) -> int:
    """Print what the registry knows of a version, then say so if its artifact is unusable."""
    from framework.files import require_artifact

    host, found = find_version(version, "registry", "store", overrides=overrides)
    print(json.dumps(found.to_dict(), indent=2, default=str))
    require_artifact(host.hook.get_artifact, found)
    return 0


def show_card(version: int, overrides: Sequence[str] = ()) -> int:
    """Print a version's model card, read from the artifact store by the hash in its lineage."""
    host, found = find_version(version, "registry", "store", overrides=overrides)
    sha256 = found.lineage.get("model_card_sha256")
    if not sha256:
        raise BucleError(
            f"model '{found.name}' version {version} has no model card (it was registered "
            "before cards existed); re-run the pipeline to register a version with one"
        )
    path = host.hook.get_artifact(sha256=sha256)
    print(Path(path).read_text(encoding="utf-8"), end="")
    return 0
