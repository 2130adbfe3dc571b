"""The ``docker`` deployer: a self-contained image build context, built where an engine answers.

``bucle deploy deploy=docker`` writes ``<state>/context/``: a Dockerfile, the runtime
dependencies pinned to the versions installed here, Bucle's own source, the served model's
artifact in a fresh local store and registry, and a ``params.yaml`` that points at them. Run
``bucle serve`` in that directory (in the image or on this machine) and it serves the same
version, with the same lineage, as the project's registry does now.

Only where ``docker info`` answers is the context built (and, with ``deploy.run``, started);
elsewhere — CI, a laptop without an engine — the deploy says so and leaves the context for
``docker build`` elsewhere. Either way ``<state>/deployment.json`` records what happened, beside
the context rather than in it, so the record survives the next context and stays out of the
image.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framework import hookimpl
from framework.errors import ArtifactError, BucleError, ConfigError
from framework.files import sha256_file, write_json, write_text
from framework.httpclient import status_of, url_host

#: Seconds ``docker info`` (and other quick engine calls) may take before the engine counts as
#: not answering: a stopped Docker Desktop can hang rather than fail.
ENGINE_TIMEOUT_SECONDS = 15.0

#: Seconds ``docker stop`` gives the server before SIGKILL; uvicorn's graceful shutdown takes 10.
STOP_GRACE_SECONDS = 15

#: Where the context keeps the server's state, relative to its root (the image's working
#: directory): a relative path, so the same ``params.yaml`` works in the image and in place.
CONTEXT_STATE = "state"

#: Bucle's source as ``pip install .`` needs it, copied from the installed checkout.
SOURCE_ITEMS = ("pyproject.toml", "README.md", "framework", "plugins", "hydra_plugins")

#: A Docker repository (optionally behind a registry host) and a tag, as ``docker build -t``
#: accepts them.
REPOSITORY = re.compile(
    r"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
)
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class DockerDeployer:
    """Write a build context for the served alias' version; build and run it where Docker runs."""

    def __init__(
        self,
        state: str = ".bucle/docker",
        image: str | None = None,
        base_image: str = "python:3.11-slim",
        port: int = 8000,
        run: bool = False,
        build_timeout: float = 1800,
        ready_timeout: float = 120,
    ) -> None:
        # Building the plugin must stay free of side effects: every command builds the host.
        self.state = Path(state)
        if image is not None:
            split_image(str(image))  # a bad name fails when the config is read, not at build
        self.image = None if image is None else str(image)
        if not base_image or any(character.isspace() for character in str(base_image)):
            raise ConfigError(
                f"deploy.base_image={base_image!r} must be one image reference without spaces, "
                "e.g. python:3.11-slim"
            )
        self.base_image = str(base_image)
        if isinstance(port, bool) or not str(port).isdigit() or not 1 <= int(port) <= 65535:
            raise ConfigError(f"deploy.port={port!r} is not a TCP port; use 1 to 65535")
        self.port = int(port)
        if not isinstance(run, bool):
            raise ConfigError(f"deploy.run={run!r} must be true or false")
        self.run = run
        for key, value in (("build_timeout", build_timeout), ("ready_timeout", ready_timeout)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"deploy.{key}={value!r} must be a positive number of seconds")
        self.build_timeout = float(build_timeout)
        self.ready_timeout = float(ready_timeout)

    @property
    def context_path(self) -> Path:
        return self.state / "context"

    @property
    def record_path(self) -> Path:
        return self.state / "deployment.json"

    @property
    def build_log_path(self) -> Path:
        return self.state / "build.log"

    def read_record(self) -> dict[str, Any] | None:
        if not self.record_path.is_file():
            return None
        try:
            return json.loads(self.record_path.read_text())
        except (OSError, ValueError) as error:
            raise BucleError(
                f"cannot read {self.record_path}: {error}; delete it if no container is running"
            ) from None

    # -----------------------------------------------------------------------------------------
    # Hooks
    # -----------------------------------------------------------------------------------------

    @hookimpl
    def deploy(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Write the context; build it (and run it, with ``deploy.run``) if an engine answers.

        ``settings`` holds ``host``, ``port`` and ``alias`` (from ``serve``) and the
        ``overrides`` the project's config is composed with. ``host``/``port`` are where a
        container run here publishes its port; the server in the image always listens on
        ``0.0.0.0:deploy.port``. Returns the record, with ``message`` saying what happened.
        """
        previous = self.read_record()
        if previous and previous.get("status") == "running" and previous.get("container"):
            if container_running(previous):
                raise BucleError(
                    f"a deployment is already running (container {previous['container'][:12]}, "
                    f"image {previous.get('image')}, version {previous.get('version')} at "
                    f"{previous.get('url')}); stop it first with `bucle deploy stop deploy=docker`"
                )
            docker("rm", previous["container"])  # it exited; its record is about to be replaced
        from framework.commands.serve import command_config
        from framework.hooks.host import build_host

        cfg = command_config(settings.get("overrides", ()))
        name, alias = str(cfg.project), str(settings["alias"])
        host = build_host(cfg, ["registry", "store"]).hook
        version = host.get_model_alias(name=name, alias=alias)
        if version is None:
            raise BucleError(
                f"no version of model '{name}' has alias '{alias}' in the registry; promote one "
                f"with `bucle models promote VERSION --alias {alias}`"
            )
        artifact = verified_artifact(host, version)
        tag = image_tag(self.image or default_image(name), int(version.version))
        context, warning = self.write_context(cfg, version, alias, artifact, tag)

        record: dict[str, Any] = {
            "status": "not_built",
            "name": name,
            "alias": alias,
            "version": int(version.version),
            "sha256": version.sha256,
            "image": tag,
            "base_image": self.base_image,
            "context": str(context),
            "container_port": self.port,
            "built": False,
            "reason": None,
            "container": None,
            "host": None,
            "port": None,
            "url": None,
            "log": None,
            "started_at": now(),
            "warning": warning,
        }
        run_hint = f"docker run -p {publish(settings['host'], settings['port'], self.port)} {tag}"
        problem = engine_problem()
        if problem is not None:
            record["reason"] = f"no Docker engine answers ({problem})"
            record["message"] = (
                f"{record['reason']}; the build context for {name} v{version.version} is at "
                f"{context}\nbuild it with: docker build -t {tag} {context}\n"
                f"then run it with: {run_hint}"
            )
        else:
            try:
                record["log"] = str(self.build_log_path.resolve())
                self.build(context, tag)
                record.update(built=True, status="built")
                record["message"] = f"built image {tag} from {context}\nrun it with: {run_hint}"
                if self.run:
                    record.update(self.start_container(tag, settings["host"], settings["port"]))
                    record["status"] = "running"
                    record["message"] = (
                        f"built image {tag} and started container {record['container'][:12]} "
                        f"at {record['url']}"
                    )
            except BucleError as error:
                # Status must tell the truth about the new context, even when this deploy fails.
                record["reason"] = str(error)
                write_json(self.record_path, record)
                raise
        if warning:
            record["message"] += f"\nwarning: {warning}"
        write_json(self.record_path, record)
        return record

    @hookimpl
    def deployment_status(self) -> dict[str, Any] | None:
        """The record plus ``alive`` (its container runs) and ``healthy`` (``/health`` is 200)."""
        record = self.read_record()
        if record is None:
            return None
        alive = record.get("status") == "running" and container_running(record)
        healthy = bool(alive and record.get("url")) and status_of(f"{record['url']}/health") == 200
        return {**record, "alive": alive, "healthy": healthy}

    @hookimpl
    def stop_deployment(self) -> dict[str, Any] | None:
        """``docker stop`` and ``docker rm`` a container that was run; mark the record stopped."""
        record = self.read_record()
        if record is None:
            return None
        if record.get("status") == "stopped":
            return {**record, "alive": False, "healthy": False}
        container = record.get("container")
        if record.get("status") == "running" and container:
            problem = engine_problem()
            if problem is not None:
                raise BucleError(
                    f"cannot stop container {container[:12]}: no Docker engine answers "
                    f"({problem}); start the engine and run `bucle deploy stop deploy=docker` again"
                )
            stopped = docker("stop", "-t", str(STOP_GRACE_SECONDS), container)
            if stopped.returncode != 0 and not gone(stopped):
                raise BucleError(
                    f"docker stop {container[:12]} failed: {last_line_of(stopped)}; "
                    f"stop it by hand with `docker rm -f {container}`"
                )
            docker("rm", container)  # a stopped container only holds its logs now
        record["status"] = "stopped"
        record["stopped_at"] = now()
        write_json(self.record_path, record)
        return {**record, "alive": False, "healthy": False}

    # -----------------------------------------------------------------------------------------
    # The context
    # -----------------------------------------------------------------------------------------

    def write_context(
        self, cfg: Any, version: Any, alias: str, artifact: Path, tag: str
    ) -> tuple[Path, str | None]:
        """Build the context in a directory beside ``<state>/context``, then swap it in.

        Returns where it is and a warning worth showing (None when there is none)."""
        self.state.mkdir(parents=True, exist_ok=True)
        for leftover in self.state.glob(".context-*"):  # from a deploy that was killed
            shutil.rmtree(leftover, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=".context-", dir=self.state))
        try:
            manifest = self.fill_context(building, cfg, version, alias, artifact, tag)
            replace_directory(building, self.context_path)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        return self.context_path.resolve(), manifest.get("warning")

    def fill_context(
        self, root: Path, cfg: Any, version: Any, alias: str, artifact: Path, tag: str
    ) -> dict[str, Any]:
        """Write every file of the context into ``root``; returns its manifest."""
        from framework.config.compose import load_params

        copy_source(source_root(), root / "source")
        requirements = pinned_requirements()
        write_text(root / "requirements.txt", requirements_text(requirements))
        stored = seed_state(root / CONTEXT_STATE, version, alias, artifact)
        write_text(root / "params.yaml", context_params(cfg, alias, self.port))
        load_params(root / "params.yaml")  # the server in the image reads it: it must validate
        write_text(root / "Dockerfile", dockerfile(self.base_image, self.port, version, tag))
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
            "base_image": self.base_image,
            "port": self.port,
            "bucle": bucle_version(),
            "python": ".".join(map(str, sys.version_info[:3])),
            "platform": sys.platform,
            "requirements": len(requirements),
            "created_at": now(),
            "files": files,
        }
        base_python = python_of(self.base_image)
        if base_python and base_python != "{}.{}".format(*sys.version_info[:2]):
            manifest["warning"] = (
                f"requirements were pinned on Python {manifest['python']} but the base image "
                f"has Python {base_python}; some pinned versions may not install there"
            )
        write_json(root / "manifest.json", manifest)
        return manifest

    # -----------------------------------------------------------------------------------------
    # The engine
    # -----------------------------------------------------------------------------------------

    def build(self, context: Path, tag: str) -> None:
        """``docker build -t TAG CONTEXT``, output to ``<state>/build.log``; raise on failure."""
        log_path = self.build_log_path.resolve()
        command = [docker_path() or "docker", "build", "-t", tag, str(context)]
        with open(log_path, "wb") as log:
            try:
                result = subprocess.run(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=self.build_timeout,
                )
            except subprocess.TimeoutExpired:
                raise BucleError(
                    f"docker build did not finish within {self.build_timeout:g}s "
                    f"(deploy.build_timeout); the context is at {context} (log {log_path})"
                ) from None
            except OSError as error:
                raise BucleError(f"cannot run docker build: {error}") from None
        if result.returncode != 0:
            raise BucleError(
                f"docker build exited with code {result.returncode}: {last_line(log_path)}; "
                f"the context is at {context} (log {log_path})"
            )

    def start_container(self, tag: str, host: str, port: int) -> dict[str, Any]:
        """``docker run -d`` publishing ``host:port``; wait for ``/ready``, else remove it."""
        host = str(host)
        started = docker(
            "run",
            "-d",
            "--label",
            "bucle.deployer=docker",
            "-p",
            publish(host, port, self.port),
            tag,
        )
        if started.returncode != 0:
            raise BucleError(f"docker run {tag} failed: {last_line_of(started)}")
        container = started.stdout.strip().splitlines()[-1]
        url = f"http://{url_host(host)}:{int(port)}"
        deadline = time.monotonic() + self.ready_timeout
        while status_of(url + "/ready") != 200:
            problem = None
            if not container_running({"container": container}):
                problem = f"the container exited: {last_line_of(docker('logs', container))}"
            elif time.monotonic() >= deadline:
                problem = (
                    f"it was not ready within {self.ready_timeout:g}s (deploy.ready_timeout): "
                    f"{last_line_of(docker('logs', container))}"
                )
            if problem is not None:
                docker("rm", "-f", container)
                raise BucleError(
                    f"container {container[:12]} of {tag} did not get ready: {problem}; removed it"
                )
            time.sleep(0.25)
        return {"container": container, "host": host, "port": int(port), "url": url}


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


def context_params(cfg: Any, alias: str, port: int) -> str:
    """The project's resolved config, re-pointed at the context's own state and the image.

    Every path under the project's ``paths.state`` moves under the context's ``state/``; the
    store and registry become the local ones holding the copied version; the server listens on
    every interface of the container, on ``port``, and serves ``alias``.
    """
    from omegaconf import OmegaConf

    data = OmegaConf.to_container(cfg, resolve=True)
    data = rebase(data, str(data["paths"]["state"]), CONTEXT_STATE)
    data["paths"]["state"] = CONTEXT_STATE
    data["store"] = {"name": "local", "root": f"{CONTEXT_STATE}/artifacts"}
    data["registry"] = {"name": "local", "path": f"{CONTEXT_STATE}/registry.db"}
    data["serve"].update(host="0.0.0.0", port=int(port), alias=alias)
    header = (
        "# Written by `bucle deploy deploy=docker`: the project's config, with its state, store\n"
        "# and registry moved into this directory. `bucle serve` here serves the copied version.\n"
    )
    return header + OmegaConf.to_yaml(OmegaConf.create(data))


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
    python = ".".join(map(str, sys.version_info[:3]))
    return (
        f"# Bucle {bucle_version()}'s run-time dependencies, pinned to the versions installed\n"
        f"# where this context was written (Python {python}, {sys.platform}); no dev extras.\n"
        + "".join(f"{line}\n" for line in requirements)
    )


def bucle_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bucle")
    except PackageNotFoundError:
        from framework import __version__

        return __version__


def dockerfile(base_image: str, port: int, version: Any, tag: str) -> str:
    health = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=4)"
    )
    return f"""\
# {version.name} v{version.version} (sha256 {version.sha256}), written by
# `bucle deploy deploy=docker`. Build: docker build -t {tag} .
# Run:   docker run -p {port}:{port} {tag}
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
# Talking to the engine
# ---------------------------------------------------------------------------------------------


def publish(host: str, port: int, container_port: int) -> str:
    """``docker run -p`` text publishing ``container_port`` on ``host:port``."""
    host = str(host)
    return f"{f'[{host}]' if ':' in host else host}:{int(port)}:{int(container_port)}"


def docker_path() -> str | None:
    return shutil.which("docker")


def docker(*arguments: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run one quick docker CLI command, output captured; a hang counts as a failure."""
    executable = docker_path()
    if executable is None:
        return subprocess.CompletedProcess(arguments, 127, "", "the docker command is not found")
    try:
        return subprocess.run(
            [executable, *arguments],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(
            arguments, 124, "", f"docker {arguments[0]} did not answer within {timeout:g}s"
        )
    except OSError as error:
        return subprocess.CompletedProcess(arguments, 126, "", f"cannot run docker: {error}")


def engine_problem() -> str | None:
    """Why no Docker engine answers (no CLI, ``docker info`` fails or hangs); None if one does."""
    if docker_path() is None:
        return "the docker command is not installed"
    result = docker("info", "--format", "{{.ServerVersion}}", timeout=ENGINE_TIMEOUT_SECONDS)
    if result.returncode != 0:
        return f"docker info: {last_line_of(result)}"
    return None


def container_running(record: dict[str, Any]) -> bool:
    """Whether the record's container runs; False when there is none or no engine answers."""
    container = record.get("container")
    if not container or docker_path() is None:
        return False
    result = docker(
        "inspect", "--format", "{{.State.Running}}", container, timeout=ENGINE_TIMEOUT_SECONDS
    )
    return result.returncode == 0 and result.stdout.strip() == "true"


def gone(result: subprocess.CompletedProcess[str]) -> bool:
    """Whether a failed docker command failed because the container no longer exists."""
    return "no such container" in (result.stderr or "").lower()


def last_line_of(result: subprocess.CompletedProcess[str]) -> str:
    text = "\n".join(filter(None, [result.stderr, result.stdout]))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {result.returncode}, no output"


def last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    except OSError:
        return "no log written"
    lines = [line for line in lines if line]
    return lines[-1] if lines else "the log is empty"


# ---------------------------------------------------------------------------------------------
# Names, paths, time
# ---------------------------------------------------------------------------------------------


def split_image(image: str) -> tuple[str, str | None]:
    """``(repository, tag or None)`` of an image name, or a ConfigError saying what is wrong."""
    repository, tag = image, None
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = image.rsplit(":", 1)
    if not REPOSITORY.fullmatch(repository) or (tag is not None and not TAG.fullmatch(tag)):
        raise ConfigError(
            f"deploy.image={image!r} is not a Docker image name; use lowercase letters, digits "
            "and . _ - / with an optional :tag, e.g. bucle-churn or registry.example.com/churn:prod"
        )
    return repository, tag


def default_image(project: str) -> str:
    """``bucle-<project>`` as a valid repository name (lowercase, no other characters)."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", project.lower()).strip("-")
    return f"bucle-{cleaned}" if cleaned else "bucle-model"


def image_tag(image: str, version: int) -> str:
    """``image`` as given when it has a tag, else tagged ``v<version>``."""
    repository, tag = split_image(image)
    return image if tag is not None else f"{repository}:v{version}"


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
    return datetime.now(UTC).isoformat(timespec="seconds")
