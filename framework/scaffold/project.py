"""``bucle init NAME``: a project on which ``dvc repro`` runs at once.

The project gets ``conf/`` (one defaults list; the built-in options come with Bucle),
``dvc.yaml`` with deps on its own files only, ``params.yaml`` composed from ``conf/``, a git
repository and DVC initialised with analytics off and Hydra composition on, and a first commit
when git knows who you are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from framework.errors import BucleError
from framework.scaffold import TEMPLATES, check_name, empty_target, fill

GITIGNORE = """\
# Bucle's local tracker, registry and artifact store, and the run directories of `bucle run`.
.bucle/
outputs/
multirun/
dvc_plots/
# The register stage's records of the registry (not DVC outputs: see dvc.yaml).
/reports/registration.json
/reports/model_card.md
"""
DVCIGNORE = "/.bucle\n/outputs\n/multirun\n__pycache__/\n*.pyc\n"
DVC_CONFIG = """\
[core]
    analytics = false
    check_update = false
[hydra]
    enabled = true
    config_dir = conf
    config_name = config
"""
QUIET = {"DO_NOT_TRACK": "1", "DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0"}


def init_project(name: str, parent: Path) -> tuple[Path, bool]:
    """Write project ``name`` under ``parent``; returns its path and whether it was committed."""
    check_name(name, "project")
    target = empty_target(parent / name)
    if shutil.which("git") is None:
        raise BucleError("git is not installed; install git, then run `bucle init` again")
    template = TEMPLATES / "project"
    for source in sorted(template.rglob("*")):
        if source.is_file():
            # dvc.yaml is stored as dvc.yaml.tmpl: DVC would take it for a pipeline of Bucle's.
            destination = target / source.relative_to(template).with_suffix(
                "" if source.suffix == ".tmpl" else source.suffix
            )
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(fill(source.read_text(), {"project": name}))
    (target / ".gitignore").write_text(GITIGNORE)
    (target / ".dvcignore").write_text(DVCIGNORE)
    _write_params(target)
    _command(["git", "init", "-q"], target)
    _command([sys.executable, "-m", "dvc", "init", "-q"], target)
    (target / ".dvc" / "config").write_text(DVC_CONFIG)
    _command(["git", "add", "-A"], target)
    committed = _command(["git", "commit", "-q", "-m", f"New Bucle project {name}"], target, False)
    return target, committed


def _write_params(target: Path) -> None:
    from framework.config.compose import compose_config, render_params, validate_config

    cfg = compose_config(conf_dir=target / "conf")
    validate_config(cfg, "conf/")
    (target / "params.yaml").write_text(render_params(cfg))


def _command(args: list[str], cwd: Path, required: bool = True) -> bool:
    result = subprocess.run(
        args, cwd=cwd, env={**os.environ, **QUIET}, capture_output=True, text=True
    )
    if result.returncode != 0 and required:
        reason = (result.stderr or result.stdout).strip().splitlines()
        raise BucleError(f"`{' '.join(args[-2:])}` failed in {cwd}: {reason[-1] if reason else ''}")
    return result.returncode == 0
