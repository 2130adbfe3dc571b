"""Write a self-contained Docker build context for one model version of the project.

The ``docker`` deployer (``plugins.deployers.docker``) builds and runs images; this module only
writes the directory ``docker build`` reads. It needs neither the project's store nor its
registry: ``bucle serve`` run in it, in the image or in place, serves exactly the deployed
version. Each piece is there for that:

- ``source/``: Bucle's own source as ``pip install .`` needs it, copied from the checkout it is
  installed from, so the image runs the same framework and plugins as this machine.
- ``requirements.txt``: Bucle's run-time dependencies pinned to the versions installed here
  (no dev extras), so the image does not resolve different ones from what runs here.
- ``state/``: a fresh local artifact store and registry holding only the deployed version, its
  sha256, run id, lineage and metrics exactly as registered and the alias set; the artifact is
  verified (hash and loadable) first, so an image never ships a model its server would refuse.
- ``params.yaml``: only the sections the server reads (:data:`SERVED_SECTIONS`), re-pointed at
  that ``state/`` and at the image's network, validated here because the server in the image
  reads it. No secret is written: each is an environment reference, ``${oc.env:NAME}``, that the
  container resolves when it starts (the project's own reference where it had one), and the
  write and predict tokens are left to ``BUCLE_SERVE_TOKEN`` / ``BUCLE_PREDICT_TOKEN``. The
  manifest lists the variables under ``environment``; the deploy prints them.
- ``Dockerfile`` and ``.dockerignore``: pinned dependencies in their own cached layer, an
  unprivileged user, a health check; what a local ``bucle serve`` writes stays out of the image.
- ``manifest.json``: what the context holds (version, image, Python, platform, every file's
  sha256), written last.

The context is filled in a directory beside its target and swapped in whole, so a failed or
killed deploy never leaves a half-written context where the last good one was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framework.config.env_refs import ENV_REFERENCE
from framework.errors import ArtifactError, BucleError
from framework.files import sha256_file, write_json, write_text

#: Where the context keeps the server's state, relative to its root (the image's working
#: directory): a relative path, so the same ``params.yaml`` works in the image and in place.
CONTEXT_STATE = "state"

#: The sections ``bucle serve`` reads (framework/serving: the served alias and limits, the
#: state, the traffic strategy, the registry and store; the schema requires data and model).
#: Everything else (trackers, alerters, monitors, retraining, hooks) stays out of the image.
SERVED_SECTIONS = (
    "project",
    "seed",
    "task",
    "paths",
    "data",
    "features",
    "model",
    "serve",
    "deploy",
)

#: ``serve`` keys holding a token, and the variable the server reads when the key is null.
SERVE_TOKENS = {"token": "BUCLE_SERVE_TOKEN", "predict_token": "BUCLE_PREDICT_TOKEN"}

#: ``${oc.env:NAME}`` without a default: NAME must be set in the container.

#: Bucle's source as ``pip install .`` needs it, copied from the installed checkout.
SOURCE_ITEMS = ("pyproject.toml", "README.md", "framework", "plugins", "hydra_plugins")


# ---------------------------------------------------------------------------------------------
# Writing the context
# ---------------------------------------------------------------------------------------------


def write_context(
    target: Path,
    cfg: Any,
    version: Any,
    alias: str,
    artifact: Path,
    tag: str,
    *,
    base_image: str,
    port: int,
    references: dict[str, str] | None = None,
) -> tuple[Path, str | None]:
    """Build the context in a directory beside ``target``, then swap it in.

    ``references`` maps a dotted key to its unresolved text where the project's config reads
    the environment (:func:`environment_references`), so a secret keeps its variable's name.
    Returns where it is and a warning worth showing (None when there is none)."""
    state = target.parent
    state.mkdir(parents=True, exist_ok=True)
    for leftover in state.glob(f".{target.name}-*"):  # from a deploy that was killed
        shutil.rmtree(leftover, ignore_errors=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=state))
    try:
        manifest = fill_context(
            building,
            cfg,
            version,
            alias,
            artifact,
            tag,
            base_image=base_image,
            port=port,
            references=references,
        )
        replace_directory(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return target.resolve(), manifest.get("warning")


def fill_context(
    root: Path,
    cfg: Any,
    version: Any,
    alias: str,
    artifact: Path,
    tag: str,
    *,
    base_image: str,
    port: int,
    references: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Write every file of the context into ``root``; returns its manifest."""
    copy_source(source_root(), root / "source")
    requirements = pinned_requirements()
    write_text(root / "requirements.txt", requirements_text(requirements))
    stored = seed_state(root / CONTEXT_STATE, version, alias, artifact)
    params = context_params(cfg, alias, port, references)
    environment = container_environment(params)
    write_text(root / "params.yaml", params)
    check_context_params(root / "params.yaml", environment)
    write_text(root / "Dockerfile", dockerfile(base_image, port, version, tag, environment))
    write_text(root / ".dockerignore", DOCKERIGNORE)
    files = {
        path.relative_to(root).as_posix(): sha256_file(path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
    manifest = {
        "name": version.name,
        "alias": alias,
        "version": int(version.version),
        "sha256": version.sha256,
        "run_id": version.run_id,
        "artifact": stored.relative_to(root).as_posix(),
        "image": tag,
        "base_image": base_image,
        "port": port,
        "bucle": bucle_version(),
        "python": ".".join(map(str, sys.version_info[:3])),
        "platform": sys.platform,
        "requirements": len(requirements),
        "environment": environment,
        "created_at": now(),
        "files": files,
    }
    base_python = python_of(base_image)
    if base_python and base_python != "{}.{}".format(*sys.version_info[:2]):
        manifest["warning"] = (
            f"requirements were pinned on Python {manifest['python']} but the base image "
            f"has Python {base_python}; some pinned versions may not install there"
        )
    write_json(root / "manifest.json", manifest)
    return manifest


# ---------------------------------------------------------------------------------------------
# The model and its state
# ---------------------------------------------------------------------------------------------


def verified_artifact(host: Any, version: Any) -> Path:
    """The version's artifact from the store, its sha256 checked and its content loadable."""
    from framework.modeling.artifact import load_model

    path = host.get_artifact(sha256=version.sha256)
    if path is None:
        raise ArtifactError(
            f"the artifact store returned nothing for {version.name} v{version.version} "
            f"(sha256 {version.sha256[:12]}…); check the store plugin"
        )
    path = Path(path)
    # load_model re-hashes the file and refuses untrusted types: an image never ships a model
    # its server would refuse.
    bundle = load_model(path, sha256=version.sha256)
    bundle.check_decision_rule()
    return path


def seed_state(state: Path, version: Any, alias: str, artifact: Path) -> Path:
    """A fresh local store and registry holding ``version`` exactly as registered, ``alias`` set.

    The registry hooks cannot register a version under a given number (``register_model``
    numbers versions itself), so the row is written with the local registry's own schema; the
    alias then goes through its API, and reading the alias back must give the same version.
    """
    from framework.sqlite import connect
    from plugins.registries.local import SCHEMA, LocalRegistry
    from plugins.stores.local import LocalStore

    LocalStore(root=str(state / "artifacts")).put_artifact(path=artifact, sha256=version.sha256)
    registry_path = state / "registry.db"
    with connect(registry_path, SCHEMA) as db:
        db.execute(
            "INSERT INTO versions (name, version, sha256, created_at, run_id, lineage, metrics) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                version.name,
                int(version.version),
                version.sha256,
                version.created_at,
                version.run_id,
                json.dumps(version.lineage, default=str),
                json.dumps(version.metrics),
            ),
        )
    registry = LocalRegistry(path=str(registry_path))
    registry.set_model_alias(name=version.name, alias=alias, version=int(version.version))
    copied = registry.get_model_alias(name=version.name, alias=alias)
    if copied is None or (copied.version, copied.sha256, copied.run_id) != (
        int(version.version),
        version.sha256,
        version.run_id,
    ):
        raise BucleError(
            f"the context's registry does not hold {version.name} v{version.version} under "
            f"alias '{alias}' after writing it; the local registry's schema may have changed"
        )
    stored = Path(LocalStore(root=str(state / "artifacts")).get_artifact(sha256=version.sha256))
    return stored


def context_params(
    cfg: Any, alias: str, port: int, references: dict[str, str] | None = None
) -> str:
    """The served sections of the project's config, re-pointed at the context and the image.

    Every path under the project's ``paths.state`` moves under the context's ``state/``; the
    store and registry become the local ones holding the copied version; the server listens on
    every interface of the container, on ``port``, and serves ``alias``. Every secret left is an
    environment reference (:func:`referenced_secrets`); the tokens are read from
    :data:`SERVE_TOKENS`' variables.
    """
    from omegaconf import OmegaConf

    resolved = OmegaConf.to_container(cfg, resolve=True)
    data = {key: resolved[key] for key in SERVED_SECTIONS if key in resolved}
    source = resolved["data"]  # what the server needs of the source: its name and target
    data["data"] = {key: source[key] for key in ("name", "target") if key in source}
    data = rebase(data, str(data["paths"]["state"]), CONTEXT_STATE)
    data["paths"]["state"] = CONTEXT_STATE
    data["store"] = {"name": "local", "root": f"{CONTEXT_STATE}/artifacts"}
    data["registry"] = {"name": "local", "path": f"{CONTEXT_STATE}/registry.db"}
    data["serve"].update(host="0.0.0.0", port=int(port), alias=alias)
    for key in SERVE_TOKENS:
        if key in data["serve"]:
            data["serve"][key] = None  # the container's BUCLE_SERVE_TOKEN / BUCLE_PREDICT_TOKEN
    data = referenced_secrets(data, references or {})
    header = (
        "# Written by `bucle deploy deploy=docker`: what `bucle serve` reads of the project's\n"
        "# config, with its state, store and registry moved into this directory. Secrets are\n"
        "# environment references (oc.env) the container resolves at start; the write token\n"
        "# comes from BUCLE_SERVE_TOKEN (docker run -e BUCLE_SERVE_TOKEN ...).\n"
    )
    return header + OmegaConf.to_yaml(OmegaConf.create(data))


def referenced_secrets(value: Any, references: dict[str, str], path: str = "") -> Any:
    """``value`` with every secret :mod:`framework.secrets` finds replaced by an env reference.

    The reference is the project's own where its config read that key from the environment
    (``Bearer ${oc.env:HOOK_TOKEN}``), else ``${oc.env:BUCLE_<KEY>}`` named after the key.
    """
    from framework.secrets import is_secret_name, masked_value

    if isinstance(value, dict):
        replaced = {}
        for key, item in value.items():
            where = f"{path}{key}"
            if is_secret_name(str(key)) and item not in (None, "", {}, [], False):
                replaced[key] = _secret_reference(item, where, references)
            else:
                replaced[key] = referenced_secrets(item, references, f"{where}.")
        return replaced
    if isinstance(value, list):
        return [referenced_secrets(item, references, f"{path}{i}.") for i, item in enumerate(value)]
    if isinstance(value, str) and masked_value(value) != value:
        return _secret_reference(value, path.rstrip("."), references)
    return value


def _secret_reference(value: Any, where: str, references: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _secret_reference(v, f"{where}.{k}", references) for k, v in value.items()}
    if isinstance(value, list):
        return [_secret_reference(v, f"{where}.{i}", references) for i, v in enumerate(value)]
    known = references.get(where)
    if known is not None and "${oc.env:" in known:
        return known
    return "${oc.env:BUCLE_" + re.sub(r"[^A-Za-z0-9]+", "_", where).strip("_").upper() + "}"


def container_environment(params: str) -> list[str]:
    """The variables the container needs: the write token, then every reference in ``params``."""
    names = ["BUCLE_SERVE_TOKEN"]
    for name in ENV_REFERENCE.findall(params):
        if name not in names:
            names.append(name)
    return names


def check_context_params(path: Path, environment: list[str]) -> None:
    """Validate the context's ``params.yaml`` as the server will, its variables set to dummies.

    The values are the container's, not this machine's: only the shape is checked here.
    """
    from framework.config.compose import load_params

    saved = {name: os.environ.get(name) for name in environment}
    try:
        for name in environment:
            os.environ.setdefault(name, "set-in-the-container")
        load_params(path)  # the server in the image reads it: it must validate
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def rebase(value: Any, old: str, new: str) -> Any:
    """``value`` with every string path at or under ``old`` moved to the same place under
    ``new``; other strings (``data/.bucle``, ``.bucle2``) are left alone."""
    if isinstance(value, dict):
        return {key: rebase(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [rebase(item, old, new) for item in value]
    if isinstance(value, str):
        prefix = old.rstrip("/")
        if value == prefix:
            return new
        if value.startswith(prefix + "/"):
            return new + value[len(prefix) :]
    return value


# ---------------------------------------------------------------------------------------------
# What the image installs
# ---------------------------------------------------------------------------------------------


def source_root() -> Path:
    """The checkout Bucle is installed from (``pip install -e``): what the image installs."""
    import tomllib

    import framework

    root = Path(framework.__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    try:
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
    except (OSError, ValueError, KeyError):
        name = None
    if name != "bucle":
        raise BucleError(
            f"Bucle is not installed from its source tree ({root} has no pyproject.toml of "
            "bucle); the docker deployer bundles that source, so install Bucle with "
            "`pip install -e PATH_TO_CHECKOUT`"
        )
    return root


def copy_source(root: Path, target: Path) -> None:
    """Copy what ``pip install .`` needs of Bucle's source, without caches and build output."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    target.mkdir(parents=True)
    for item in SOURCE_ITEMS:
        source = root / item
        if source.is_dir():
            shutil.copytree(source, target / item, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, target / item)
        else:
            raise BucleError(
                f"Bucle's source at {root} has no {item}, which `pip install .` in the image "
                "needs; restore it from git"
            )


def pinned_requirements(distribution_name: str = "bucle") -> list[str]:
    """``Name==version`` for every distribution ``distribution_name`` needs at run time.

    Walks the installed metadata from ``distribution_name`` down, following the extras each
    requirement asks for and evaluating markers for this interpreter and platform; the
    distribution's own optional extras (``dev``) are not followed. Sorted by name.
    """
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pinned: dict[str, str] = {}
    pending: list[tuple[str, frozenset[str], str]] = [(distribution_name, frozenset(), "")]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras, wanted_by = pending.pop()
        key = (canonicalize_name(name), extras)
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            raise BucleError(
                f"{name}, which {wanted_by} requires, is not installed in this environment; "
                "reinstall Bucle (`pip install -e .`) so the image can pin it"
            ) from None
        if key[0] != canonicalize_name(distribution_name):
            pinned[key[0]] = f"{dist.metadata['Name']}=={dist.version}"
        environments = [{"extra": extra} for extra in ("", *sorted(extras))]
        for text in dist.requires or ():
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate(env) for env in environments):
                pending.append(
                    (requirement.name, frozenset(requirement.extras), dist.metadata["Name"])
                )
    return [pinned[key] for key in sorted(pinned)]


def requirements_text(requirements: list[str]) -> str:
    """``requirements.txt``: the pins under a header saying where they were taken."""
    python = ".".join(map(str, sys.version_info[:3]))
    return (
        f"# Bucle {bucle_version()}'s run-time dependencies, pinned to the versions installed\n"
        f"# where this context was written (Python {python}, {sys.platform}); no dev extras.\n"
        + "".join(f"{line}\n" for line in requirements)
    )


def bucle_version() -> str:
    """The installed Bucle's version, for the manifest and the requirements' header."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bucle")
    except PackageNotFoundError:
        from framework import __version__

        return __version__


def dockerfile(
    base_image: str, port: int, version: Any, tag: str, environment: list[str] | tuple = ()
) -> str:
    """The Dockerfile: pinned dependencies, Bucle, the state, then ``bucle serve`` on ``port``.

    No secret is baked in: ``environment`` names the variables ``docker run -e`` must pass.
    """
    passed = "".join(f"-e {name} " for name in environment)
    health = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=4)"
    )
    return f"""\
# {version.name} v{version.version} (sha256 {version.sha256}), written by
# `bucle deploy deploy=docker`. Build: docker build -t {tag} .
# Run:   docker run {passed}-p {port}:{port} {tag}
# The server listens on 0.0.0.0: it starts only with a write token in BUCLE_SERVE_TOKEN (or
# serve.allow_open=true, which it warns about). Secrets are read from the environment at start.
FROM {base_image}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    DO_NOT_TRACK=1 \\
    DVC_NO_ANALYTICS=1 \\
    MLFLOW_DISABLE_TELEMETRY=true

# The server runs as an unprivileged user that owns only its working directory.
RUN useradd --create-home --uid 10001 bucle && mkdir /app && chown bucle:bucle /app
WORKDIR /app

# Pinned dependencies first: this layer is reused until they change.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt

# Bucle itself; its dependencies are all pinned above.
COPY source/ /opt/bucle/
RUN pip install --no-cache-dir --no-deps /opt/bucle

# The config and the state the server reads: the model, its registry entry and alias.
COPY --chown=bucle:bucle params.yaml manifest.json ./
COPY --chown=bucle:bucle {CONTEXT_STATE}/ ./{CONTEXT_STATE}/

USER bucle
EXPOSE {port}
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \\
    CMD ["python", "-c", "{health}"]
CMD ["bucle", "serve", "--host", "0.0.0.0", "--port", "{port}"]
"""


DOCKERIGNORE = """\
# What a local `bucle serve` run in this directory writes stays out of the image.
state/inference
state/shadow
**/__pycache__
**/*.pyc
"""


# ---------------------------------------------------------------------------------------------
# Base images, directories, time
# ---------------------------------------------------------------------------------------------


def python_of(base_image: str) -> str | None:
    """The ``X.Y`` of an official ``python:X.Y…`` base image, None for any other image."""
    found = re.fullmatch(r"(?:docker\.io/)?(?:library/)?python:(\d+\.\d+)\b.*", base_image)
    return found.group(1) if found else None


def replace_directory(new: Path, target: Path) -> None:
    """Put directory ``new`` at ``target``: the old one is renamed away first, then deleted.

    A directory cannot be replaced by one rename, so there is a moment without ``target``, but
    never one with a half-written ``target``; if the second rename fails, the old one returns.
    """
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}-old-{os.getpid()}-{time.monotonic_ns()}")
        os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def now() -> str:
    """The current UTC time in ISO 8601, to the second: the records' timestamps."""
    return datetime.now(UTC).isoformat(timespec="seconds")
