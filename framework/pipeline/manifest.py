"""The run manifest: everything needed to reproduce a run and to trust what it produced."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from framework.files import sha256_file, sha256_text
from framework.pipeline.context import RunContext, utc_now

#: Distributions whose versions decide whether a run reproduces.
TRACKED_PACKAGES = (
    "bucle",
    "hydra-core",
    "omegaconf",
    "pluggy",
    "dvc",
    "scikit-learn",
    "pandas",
    "numpy",
    "pyarrow",
    "skops",
)

#: Files by logical name, grouped into what a run reads and what it writes.
INPUT_FILES = ("raw",)
OUTPUT_FILES = (
    "validated",
    "quarantine",
    "train",
    "test",
    "featurize_report",
    "model",
    "validation_report",
    "validation_html",
    "metrics",
    "slices",
    "profile",
    "confusion_plot",
    "roc_plot",
    "predicted_plot",
    "residual_plot",
    "model_card",
    "gate",
)


def run_outputs(context: RunContext, status: str) -> tuple[str, ...]:
    """The output files a run may be recorded with: every one for a finished run, only those
    this process wrote for any other.

    Under ``dvc repro`` a run's paths are the project's ``data/``, ``models/`` and ``reports/``,
    which still hold the last good run's files: a run that failed (or stopped) before writing
    its own model or metrics must not be recorded with the earlier model's. A file written by
    this process is newer than the run's start; an earlier run's file is older. A finished run
    is complete, so everything in its paths is its own (the register stage, which records a
    ``dvc repro`` run, is the last to run and reads every upstream output).
    """
    if status == "finished":
        return OUTPUT_FILES
    fresh = []
    for name in OUTPUT_FILES:
        path = context.path(name)
        if path.is_file() and path.stat().st_mtime_ns >= context.started_ns:
            fresh.append(name)
    return tuple(fresh)


def config_hash(config: dict[str, Any]) -> str:
    """A hash of what the run computes, independent of where it writes (``paths``)."""
    meaningful = {key: value for key, value in config.items() if key != "paths"}
    return sha256_text(json.dumps(meaningful, sort_keys=True, default=str))


def git_state(cwd: Path | None = None) -> dict[str, Any]:
    """The current git commit and whether the work tree has uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def file_hashes(context: RunContext, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    hashes = {}
    for name in names:
        path = context.path(name)
        if path.is_file():
            hashes[name] = {"path": str(path), "sha256": sha256_file(path)}
    return hashes


def source_inputs(context: RunContext) -> dict[str, dict[str, str]]:
    """Files the source reads (a ``data.path`` option), hashed: the run's true inputs."""
    found = file_hashes(context, INPUT_FILES)
    source_path = context.cfg.data.get("path")
    if source_path and Path(source_path).is_file():
        found["source"] = {"path": str(source_path), "sha256": sha256_file(Path(source_path))}
    return found


def build_manifest(
    context: RunContext, status: str, error: BaseException | None = None
) -> dict[str, Any]:
    """The manifest trackers store with the run, through the secret classifier: the config,
    and the tags, input paths and error message, which may quote a URL with a credential."""
    from framework.secrets import redacted

    config = context.recorded_config()
    return redacted(
        {
            "run_id": context.run_id,
            "project": context.project,
            "status": status,
            "started_at": context.started_at,
            "ended_at": utc_now(),
            "stages": list(context.stages_run),
            "config": config,
            "config_sha256": config_hash(config),
            "git": git_state(),
            "inputs": source_inputs(context),
            "outputs": file_hashes(context, run_outputs(context, status)),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "packages": package_versions(),
            "tags": dict(context.tags),
            "error": None if error is None else f"{type(error).__name__}: {error}",
        }
    )
