"""Compose ``conf/`` with Hydra, load and validate ``params.yaml``, and word config errors.

Two ways in, one result: ``bucle run`` and ``bucle params`` compose ``conf/`` with Hydra; DVC
composes it in its own process for ``dvc exp run``; ``dvc repro`` and ``bucle stage`` read
``params.yaml`` as written. :func:`load_params` validates that file against the schema again,
because ``-S +new_key=1`` slips through composition and a DVC outside Bucle's environment cannot
see the schema at all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from framework.config.schema import MODEL_SCHEMAS, BucleConfig, register_configs
from framework.errors import ConfigError

CONFIG_NAME = "config"


def find_conf_dir(project_root: Path | None = None) -> Path:
    """The project's ``conf/`` directory, absolute, or a ConfigError saying where we looked."""
    root = (project_root or Path.cwd()).resolve()
    conf_dir = root / "conf"
    if not (conf_dir / f"{CONFIG_NAME}.yaml").is_file():
        raise ConfigError(
            f"no conf/{CONFIG_NAME}.yaml in {root}; run bucle from a project's root directory"
        )
    return conf_dir


def compose_config(overrides: Sequence[str] = (), conf_dir: Path | None = None) -> DictConfig:
    """Compose ``conf/`` with ``overrides`` exactly as DVC does, unresolved."""
    from hydra import compose, initialize_config_dir

    register_configs()
    conf_dir = conf_dir or find_conf_dir()
    refuse_empty(conf_dir / f"{CONFIG_NAME}.yaml", "restore it (git checkout conf/config.yaml)")
    try:
        with initialize_config_dir(str(conf_dir), version_base="1.3", job_name="bucle"):
            return compose(config_name=CONFIG_NAME, overrides=list(overrides))
    except Exception as error:  # Hydra raises several unrelated types; all are config errors
        raise ConfigError(f"cannot compose conf/: {describe_config_error(error)}") from error


def group_options(group: str, conf_dir: Path | None = None) -> list[str]:
    """Every option of a config group on the search path: the project's, Bucle's, plugins'."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_configs()
    with initialize_config_dir(str(conf_dir or find_conf_dir()), version_base="1.3"):
        return sorted(GlobalHydra.instance().config_loader().get_group_options(group))


def render_params(cfg: DictConfig) -> str:
    """The text of ``params.yaml`` for a composed config: resolved YAML, as DVC writes it.

    Everything is resolved but environment references: ``${oc.env:NAME}`` stays as written, so
    a secret read from the environment never reaches this committed file (nor ``dvc.lock``);
    the stage that loads the file resolves it. A secret written as a value is refused.
    """
    from framework.config.env_refs import env_references_kept

    refuse_literal_secrets(OmegaConf.to_container(cfg, resolve=False), "conf/")
    # Untyped, so a reference in a typed field (``serve.port: ${oc.env:PORT}``) stays text here;
    # the stage validates the resolved value against the schema.
    plain = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    try:
        with env_references_kept():
            OmegaConf.resolve(plain)
    except Exception as error:
        raise ConfigError(f"cannot resolve the config: {describe_config_error(error)}") from error
    # Again once resolved: ``secret: ${store.other_key}`` passes as a reference above, but
    # resolves to whatever that key holds, which may be the secret in clear.
    refuse_literal_secrets(OmegaConf.to_container(plain, resolve=False), "conf/")
    return OmegaConf.to_yaml(plain)


def refuse_literal_secrets(raw: Any, source: str) -> None:
    """A ConfigError naming the first secret in ``raw`` written as a value, not a reference."""
    from framework.secrets import literal_secrets

    key = next(iter(literal_secrets(raw)), None)
    if key is not None:
        name = key.replace(".", "_").upper()
        raise ConfigError(
            f"{source}: {key} holds a secret written as a value, which would be committed; "
            f"write it as an environment reference, e.g. {key}='${{oc.env:{name}}}' "
            "(or the secret part of a URL: https://user:${oc.env:PASSWORD}@host)"
        )


def validate_config(raw: Any, source: str) -> DictConfig:
    """Merge a plain config into the typed schema; a ConfigError names the key and the fix."""
    try:
        cfg = OmegaConf.merge(OmegaConf.structured(BucleConfig), raw)
        model = cfg.get("model")
        schema = _model_schema(model)
        if schema is not None:
            cfg.model = OmegaConf.merge(OmegaConf.structured(schema), model)
        _require_environment(cfg, source)
        OmegaConf.resolve(cfg)
        _require_values(cfg)
        check_ranges(cfg, source)
    except ConfigError:
        raise
    except Exception as error:
        raise ConfigError(
            f"{source}: {describe_config_error(error)}; fix conf/ and run `bucle params`"
        ) from error
    return cfg


#: Numbers the schema types as ``float`` but only some of which make sense:
#: ``key: (low, high, low_included, high_included, example)``.
RANGES: dict[str, tuple[float, float, bool, bool, str]] = {
    "features.test_size": (0.0, 1.0, False, False, "0.2"),
    "features.undersample.keep_share": (0.0, 1.0, True, True, "1.0"),
    "quarantine.max_bad_share": (0.0, 1.0, True, True, "0.05"),
}


def check_ranges(cfg: DictConfig, source: str) -> None:
    """A value outside its range fails here, before any stage runs, naming key, value and range."""
    for key, (low, high, low_in, high_in, example) in RANGES.items():
        value = OmegaConf.select(cfg, key, default=None)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        above = value > low if not low_in else value >= low
        below = value < high if not high_in else value <= high
        if not (above and below):
            left, right = "[" if low_in else "(", "]" if high_in else ")"
            raise ConfigError(
                f"{source}: {key}={value} is out of range {left}{low:g}, {high:g}{right}; "
                f"set a value between {low:g} and {high:g}, e.g. {key}={example}"
            )


def load_params(path: Path) -> DictConfig:
    """Read and validate ``params.yaml`` (the config every ``bucle stage`` runs with)."""
    if not path.is_file():
        raise ConfigError(f"{path} does not exist; write it with `bucle params`")
    refuse_empty(path, "write it with `bucle params`")
    try:
        raw = OmegaConf.load(path)
    except Exception as error:
        raise ConfigError(f"{path} is not valid YAML: {describe_config_error(error)}") from error
    refuse_literal_secrets(OmegaConf.to_container(raw, resolve=False), str(path))
    refuse_literal_secrets(_resolved_keeping_references(raw), str(path))
    return validate_config(raw, str(path))


def _resolved_keeping_references(raw: DictConfig) -> Any:
    """``raw`` with every interpolation resolved but ``${oc.env:...}``; ``raw`` itself when it
    does not resolve (validating it then names the problem)."""
    from framework.config.env_refs import env_references_kept

    plain = OmegaConf.create(OmegaConf.to_container(raw, resolve=False))
    try:
        with env_references_kept():
            OmegaConf.resolve(plain)
    except Exception:
        return OmegaConf.to_container(raw, resolve=False)
    return OmegaConf.to_container(plain, resolve=False)


def refuse_empty(path: Path, fix: str) -> None:
    """A config file that is empty (or only comments) says so, instead of composing to nothing
    and failing later on the first key it lacks."""
    import yaml

    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return  # unreadable or broken YAML: the loader's own error says where
    if content is None or content == {}:
        raise ConfigError(f"{_relative(str(path))} is empty (no keys); {fix}")


def yaml_location(error: BaseException) -> str | None:
    """``file:line:column: problem`` for a YAML syntax error anywhere in ``error``'s chain."""
    import yaml

    seen: set[int] = set()
    node: BaseException | None = error
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, yaml.MarkedYAMLError) and node.problem_mark is not None:
            mark = node.problem_mark
            name = _relative(mark.name)
            problem = " ".join((node.problem or "syntax error").split())
            where = f"{name}:{mark.line + 1}:{mark.column + 1}: {problem}"
            if node.context and node.context_mark is not None:
                start = node.context_mark
                where += f" ({node.context} at {start.line + 1}:{start.column + 1})"
            return where
        node = node.__cause__ or node.__context__
    return None


def _relative(name: str) -> str:
    """A file name as the user would type it from the project root, when it is inside it."""
    try:
        return str(Path(name).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return name


def describe_config_error(error: BaseException) -> str:
    """Hydra and OmegaConf errors as one line: the innermost message plus the key's path; a
    YAML syntax error as ``file:line:column: problem``, the way an editor jumps to it."""
    located = yaml_location(error)
    if located is not None:
        return located
    chain = [error]
    while chain[-1].__cause__ is not None:
        chain.append(chain[-1].__cause__)
    texts = [(getattr(item, "msg", None) or str(item)).strip() for item in chain]
    innermost = chain[-1]
    first = " ".join(texts[-1].splitlines()[0].split()) if texts[-1] else repr(innermost)
    full_key = getattr(innermost, "full_key", None)
    if full_key and full_key not in first:
        first = f"{full_key}: {first}"
    for text in texts:
        if "Available options in" in text:
            first += "; available: " + ", ".join(_available_options(text))
        if "To append to your config use" in text:
            hint = text.split("To append to your config use", 1)[1].split()[0]
            first += f"; to add a new key use {hint}"
    return first


def _available_options(text: str) -> list[str]:
    """The options Hydra lists after 'Available options in ...', without schema nodes."""
    lines = text.split("Available options in", 1)[1].splitlines()[1:]
    options = []
    for line in lines:
        if not line.startswith(("\t", " ")):
            break
        option = line.strip()
        if option and not option.endswith("_schema"):
            options.append(option)
    return options


def _model_schema(model: Any) -> type | None:
    if not isinstance(model, DictConfig) or "_target_" not in model:
        return None
    target = model.get("_target_")
    for schema in MODEL_SCHEMAS.values():
        if schema._target_ == target:
            return schema
    return None


def _require_environment(cfg: DictConfig, source: str) -> None:
    """An environment reference to an unset variable, named with its key, before resolving."""
    from framework.config.env_refs import ENV_REFERENCE, environment_references

    raw = OmegaConf.to_container(cfg, resolve=False)
    for key, text in environment_references(raw).items():
        for name in ENV_REFERENCE.findall(text):
            if name not in os.environ:
                raise ConfigError(
                    f"{source}: {key} reads the environment variable {name}, which is not set; "
                    f"set it (export {name}=...) where the stage or server runs"
                )


def _require_values(cfg: DictConfig) -> None:
    """A ``???`` left anywhere is a missing value the user must supply: name it."""
    missing = sorted(_missing_keys(cfg, ""))
    if missing:
        key = missing[0]
        raise ConfigError(f"{key} is required but not set; set it, e.g. `{key}=...`")


def _missing_keys(node: Any, prefix: str) -> list[str]:
    found: list[str] = []
    if isinstance(node, DictConfig):
        for key in node:
            path = f"{prefix}{key}"
            if OmegaConf.is_missing(node, key):
                found.append(path)
            else:
                found.extend(_missing_keys(node[key], path + "."))
    return found
