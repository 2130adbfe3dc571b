"""``bucle stage NAME`` (what each dvc.yaml stage runs) and ``bucle params``."""

from __future__ import annotations

import sys
from pathlib import Path

from framework.config.compose import compose_config, load_params, render_params
from framework.errors import ConfigError
from framework.files import write_text
from framework.pipeline.runner import run_single_stage
from framework.pipeline.stages import get_stage
from framework.pipeline.workspace import stage_config


def run_stage_command(name: str, params_file: str) -> int:
    get_stage(name)
    # Under DVC's run queue the stage runs in a temporary copy of the repository: its state
    # (tracker, registry, store, locks) stays in the project (see framework.pipeline.workspace).
    cfg = stage_config(load_params(Path(params_file)))
    run_single_stage(cfg, name)
    return 0


def write_params(overrides: list[str], output: str, check: bool = False) -> int:
    """Compose conf/ into ``output``; with ``check``, only report whether it is up to date."""
    text = render_params(compose_config(overrides))
    target = Path(output)
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current != text:
            raise ConfigError(
                f"{output} differs from composing conf/; run `bucle params` and commit it"
            )
        print(f"{output} is up to date with conf/")
        return 0
    write_text(target, text)
    print(f"wrote {output}", file=sys.stderr)
    return 0
