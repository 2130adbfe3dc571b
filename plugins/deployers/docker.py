"""The ``docker`` deployer: a self-contained image build context, built where an engine answers.

``bucle deploy deploy=docker`` writes ``<state>/context/``: a Dockerfile, the runtime
dependencies pinned to the versions installed here, Bucle's own source, the served model's
artifact in a fresh local store and registry, and a ``params.yaml`` that points at them. Run
``bucle serve`` in that directory (in the image or on this machine) and it serves the same
version, with the same lineage, as the project's registry does now. The context is written by
``plugins.deployers.docker_context``; this module is the plugin and its Docker CLI calls.

Only where ``docker info`` answers is the context built (and, with ``deploy.run``, started);
elsewhere — CI, a laptop without an engine — the deploy says so and leaves the context for
``docker build`` elsewhere. Either way ``<state>/deployment.json`` records what happened, beside
the context rather than in it, so the record survives the next context and stays out of the
image.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from framework import hookimpl
from framework.config.env_refs import environment_references
from framework.errors import BucleError, ConfigError
from framework.files import read_json, write_json
from framework.httpclient import status_of, url_host
from framework.serverprocess import last_line
from plugins.deployers.docker_context import now, verified_artifact, write_context

#: Seconds ``docker info`` (and other quick engine calls) may take before the engine counts as
#: not answering: a stopped Docker Desktop can hang rather than fail.
ENGINE_TIMEOUT_SECONDS = 15.0

#: Seconds ``docker stop`` gives the server before SIGKILL; uvicorn's graceful shutdown takes 10.
STOP_GRACE_SECONDS = 15

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
        return read_json(self.record_path, "delete it if no container is running")

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
        context, warning = write_context(
            self.context_path,
            cfg,
            version,
            alias,
            artifact,
            tag,
            base_image=self.base_image,
            port=self.port,
            references=project_references(settings.get("overrides", ())),
        )
        environment = context_environment(context)

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
            "environment": environment,
        }
        passed = "".join(f"-e {name} " for name in environment)
        published = publish(settings["host"], settings["port"], self.port)
        run_hint = f"docker run {passed}-p {published} {tag}"
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
                    record.update(
                        self.start_container(tag, settings["host"], settings["port"], environment)
                    )
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
        record["message"] += "\n" + environment_note(environment)
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

    def start_container(
        self, tag: str, host: str, port: int, environment: list[str] | tuple = ()
    ) -> dict[str, Any]:
        """``docker run -d`` publishing ``host:port``; wait for ``/ready``, else remove it.

        Each variable in ``environment`` is passed by name (``-e NAME``), so its value goes
        from this process's environment to the container's without appearing in a command line.
        """
        host = str(host)
        passed = [argument for name in environment for argument in ("-e", name)]
        started = docker(
            "run",
            "-d",
            "--label",
            "bucle.deployer=docker",
            *passed,
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
# Talking to the engine
# ---------------------------------------------------------------------------------------------


def project_references(overrides: Any = ()) -> dict[str, str]:
    """The keys of the project's config that read the environment, with their unresolved text:
    ``params.yaml`` as written, or ``conf/`` composed with ``overrides`` (as the deploy reads)."""
    from omegaconf import OmegaConf

    from framework.config.compose import compose_config

    params = Path("params.yaml")
    if not overrides and params.is_file():
        raw = OmegaConf.load(params)
    else:
        raw = compose_config(list(overrides))
    return environment_references(OmegaConf.to_container(raw, resolve=False))


def context_environment(context: Path) -> list[str]:
    """The variables the context's container needs, as its manifest lists them."""
    manifest = read_json(context / "manifest.json", "deploy again to rewrite the context") or {}
    return list(manifest.get("environment", []))


def environment_note(environment: list[str]) -> str:
    """What to pass to ``docker run``: the write token first, then every secret's variable."""
    secrets = [name for name in environment if name != "BUCLE_SERVE_TOKEN"]
    note = (
        "the container listens on 0.0.0.0 and refuses to start without a write token: pass "
        "BUCLE_SERVE_TOKEN (docker run -e BUCLE_SERVE_TOKEN ...), or deploy with "
        "serve.allow_open=true to run it open (it then warns)"
    )
    if secrets:
        note += "; it reads these secrets from its environment too: " + ", ".join(secrets)
    return note


def publish(host: str, port: int, container_port: int) -> str:
    """``docker run -p`` text publishing ``container_port`` on ``host:port``."""
    host = str(host)
    return f"{f'[{host}]' if ':' in host else host}:{int(port)}:{int(container_port)}"


def docker_path() -> str | None:
    """Where the ``docker`` CLI is on ``PATH``; None when it is not installed."""
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
    """The last non-empty line of a command's stderr then stdout; its exit code if it wrote none."""
    text = "\n".join(filter(None, [result.stderr, result.stdout]))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {result.returncode}, no output"


# ---------------------------------------------------------------------------------------------
# Image names
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
