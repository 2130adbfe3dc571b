"""The ``docker`` deployer: ``bucle deploy deploy=docker`` writes a build context that serves the
promoted version on its own, builds it only where an engine answers, and records what it did.

Neither this machine nor CI has a Docker engine, so the engine is part of the environment a test
sets up: a ``docker`` executable first on ``PATH`` that either fails ``docker info`` (no engine)
or stands in for an engine (``build`` snapshots the context as the "image", ``run`` starts the
real ``bucle serve`` in that snapshot). The deployer, the CLI and the server are the real ones.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from framework.errors import ConfigError
from framework.files import sha256_file
from framework.testing import DeployerContract
from plugins.deployers.docker import DockerDeployer, image_tag, split_image
from plugins.deployers.docker_context import pinned_requirements, rebase
from plugins.registries.local import LocalRegistry
from tests.conftest import BIN, run_command
from tests.framework.serving.conftest import Server, free_port, records_of, small_copy

#: ``docker`` on a machine without an engine: the CLI is there, ``docker info`` fails.
NO_ENGINE = """
import json, os, sys
with open(os.path.join(os.environ["FAKE_DOCKER_STATE"], "calls.jsonl"), "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
print("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
      "Is the docker daemon running?", file=sys.stderr)
sys.exit(1)
"""

#: ``docker`` with an engine, as far as the deployer can tell: an image is a snapshot of its
#: context, a container is the real ``bucle serve`` run in that snapshot.
ENGINE = """
import contextlib, json, os, shutil, signal, subprocess, sys, time
from pathlib import Path

STATE = Path(os.environ["FAKE_DOCKER_STATE"])
args = sys.argv[1:]
with open(STATE / "calls.jsonl", "a") as calls:
    calls.write(json.dumps(args) + "\\n")


def alive(pid):
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def container(cid):
    path = STATE / "containers" / f"{cid}.json"
    if not path.is_file():
        print(f"Error: No such container: {cid}", file=sys.stderr)
        sys.exit(1)
    return path, json.loads(path.read_text())


def end(pid, grace):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


command = args[0]
if command == "info":
    print("27.0.0-fake")
elif command == "build" and os.environ.get("FAKE_DOCKER_BUILD_ERROR"):
    print("Step 4/12 : RUN pip install --no-cache-dir -r /tmp/requirements.txt")
    print(os.environ["FAKE_DOCKER_BUILD_ERROR"])
    sys.exit(1)
elif command == "build":
    tag, context = args[args.index("-t") + 1], args[-1]
    image = STATE / "images" / tag.replace("/", "_").replace(":", "_")
    shutil.rmtree(image, ignore_errors=True)
    shutil.copytree(context, image)
    print(f"Successfully tagged {tag}")
elif command == "run":
    tag = args[-1]
    host, port, _ = args[args.index("-p") + 1].rsplit(":", 2)
    image = STATE / "images" / tag.replace("/", "_").replace(":", "_")
    log = STATE / f"container-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [os.environ["FAKE_DOCKER_BUCLE"], "serve", "--host", host, "--port", port],
            cwd=image, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    cid = f"{process.pid:012x}" + "0" * 52
    (STATE / "containers").mkdir(exist_ok=True)
    (STATE / "containers" / f"{cid}.json").write_text(
        json.dumps({"pid": process.pid, "log": str(log)})
    )
    print(cid)
elif command == "inspect":
    _, record = container(args[-1])
    print("true" if alive(record["pid"]) else "false")
elif command == "logs":
    _, record = container(args[-1])
    print(Path(record["log"]).read_text(errors="replace"))
elif command == "stop":
    _, record = container(args[-1])
    end(record["pid"], float(args[args.index("-t") + 1]))
    print(args[-1])
elif command == "rm":
    path, record = container(args[-1])
    end(record["pid"], 0)
    path.unlink()
    print(args[-1])
else:
    print(f"fake docker: {command} is not supported", file=sys.stderr)
    sys.exit(1)
"""


@dataclass
class FakeDocker:
    """A ``docker`` executable first on PATH, with the calls it received."""

    state: Path
    env: dict[str, str]

    @property
    def calls(self) -> list[list[str]]:
        path = self.state / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def kill_containers(self) -> None:
        for path in (self.state / "containers").glob("*.json"):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(json.loads(path.read_text())["pid"], signal.SIGKILL)


def fake_docker(where: Path, body: str) -> FakeDocker:
    where.mkdir(parents=True)
    executable = where / "bin" / "docker"
    executable.parent.mkdir()
    executable.write_text(f"#!{sys.executable}\n{body}")
    executable.chmod(0o755)
    env = {
        "PATH": f"{executable.parent}{os.pathsep}{os.environ['PATH']}",
        "FAKE_DOCKER_STATE": str(where),
        "FAKE_DOCKER_BUCLE": str(BIN / "bucle"),
    }
    return FakeDocker(where, env)


def deploy(project: Path, docker: FakeDocker, *arguments: str, check: bool = True):
    return run_command(["bucle", "deploy", *arguments], project, env=docker.env, check=check)


def record_of(project: Path) -> dict:
    return json.loads((project / ".bucle" / "docker" / "deployment.json").read_text())


# ---------------------------------------------------------------------------------------------
# One trained project, one context written without an engine
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project, small table, trained once: version 1, no alias set."""
    path = small_copy(tmp_path_factory.mktemp("docker") / "trained")
    run_command(["bucle", "run"], path)
    return path


@pytest.fixture(scope="module")
def promoted(trained: Path) -> Path:
    """A copy of the trained project with version 1 in production."""
    path = trained.parent / "promoted"
    shutil.copytree(trained, path)
    run_command(["bucle", "models", "promote", "1", "--alias", "production"], path)
    return path


@dataclass
class Deployed:
    project: Path
    result: subprocess.CompletedProcess
    docker: FakeDocker

    @property
    def context(self) -> Path:
        return (self.project / ".bucle" / "docker" / "context").resolve()


@pytest.fixture(scope="module")
def deployed(promoted: Path) -> Deployed:
    """``bucle deploy deploy=docker`` run once where no engine answers."""
    path = promoted.parent / "deployed"
    shutil.copytree(promoted, path)
    docker = fake_docker(promoted.parent / "no-engine", NO_ENGINE)
    result = deploy(path, docker, "--port", str(free_port()), "deploy=docker")
    return Deployed(path, result, docker)


@pytest.fixture
def project(promoted: Path, tmp_path: Path) -> Path:
    """A private copy of the promoted project."""
    path = tmp_path / "project"
    shutil.copytree(promoted, path)
    return path


def test_without_an_engine_the_context_is_written_and_left_to_build(deployed: Deployed) -> None:
    context = deployed.context
    out = deployed.result.stdout
    assert "no Docker engine answers" in out
    assert "Cannot connect to the Docker daemon" in out
    assert f"docker build -t bucle-churn:v1 {context}" in out
    assert deployed.docker.calls == [["info", "--format", "{{.ServerVersion}}"]]

    for name in ("Dockerfile", ".dockerignore", "requirements.txt", "params.yaml", "manifest.json"):
        assert (context / name).is_file(), name
    for name in ("pyproject.toml", "README.md", "framework/cli.py", "hydra_plugins"):
        assert (context / "source" / name).exists(), name
    assert (context / "source" / "plugins" / "deployers" / "docker.py").is_file()
    assert not list(context.rglob("__pycache__")) and not list(context.rglob("*.egg-info"))
    assert not list(context.parent.glob(".context-*")), "the temporary context was left behind"

    record = record_of(deployed.project)
    assert record["status"] == "not_built" and record["built"] is False
    assert record["reason"].startswith("no Docker engine answers")
    assert record["context"] == str(context) and record["image"] == "bucle-churn:v1"
    assert (record["name"], record["alias"], record["version"]) == ("churn", "production", 1)
    assert record["container"] is None and record["url"] is None

    manifest = json.loads((context / "manifest.json").read_text())
    assert manifest["image"] == "bucle-churn:v1" and manifest["version"] == 1
    assert manifest["created_at"]
    assert set(manifest["files"]) >= {"Dockerfile", "requirements.txt", "params.yaml"}
    assert manifest["files"]["Dockerfile"] == sha256_file(context / "Dockerfile")


def test_requirements_pin_the_installed_runtime_dependencies(deployed: Deployed) -> None:
    lines = (deployed.context / "requirements.txt").read_text().splitlines()
    pins = [line for line in lines if line and not line.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[^=\s]+", line) for line in pins), pins
    versions = {name.lower(): version for name, version in (pin.split("==") for pin in pins)}
    for name in ("fastapi", "uvicorn", "scikit-learn", "skops", "hydra-core", "pluggy"):
        assert versions[name] == installed_version(name), name
    assert "bucle" not in versions
    assert "pytest" not in versions and "ruff" not in versions  # the dev extra is not followed


def test_the_context_holds_the_registered_version_exactly(deployed: Deployed) -> None:
    project_registry = LocalRegistry(path=str(deployed.project / ".bucle" / "registry.db"))
    registered = project_registry.get_model_alias(name="churn", alias="production")
    context = deployed.context
    manifest = json.loads((context / "manifest.json").read_text())

    assert manifest["sha256"] == registered.sha256
    assert sha256_file(context / manifest["artifact"]) == registered.sha256

    copied = LocalRegistry(path=str(context / "state" / "registry.db"))
    served = copied.get_model_alias(name="churn", alias="production")
    # Number, sha256, run, lineage, metrics and creation time as registered; only the served
    # alias comes along (the project's v1 is also the candidate).
    assert {**served.to_dict(), "aliases": None} == {**registered.to_dict(), "aliases": None}
    assert served.aliases == ["production"]
    assert [v.version for v in copied.list_model_versions(name="churn")] == [1]

    params = yaml.safe_load((context / "params.yaml").read_text())
    assert params["paths"]["state"] == "state"
    assert params["store"] == {"name": "local", "root": "state/artifacts"}
    assert params["registry"] == {"name": "local", "path": "state/registry.db"}
    assert params["serve"]["host"] == "0.0.0.0" and params["serve"]["port"] == 8000
    assert ".bucle" not in (context / "params.yaml").read_text()


def test_the_dockerfile_runs_bucle_serve_as_a_user_with_a_healthcheck(deployed: Deployed) -> None:
    text = (deployed.context / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert "FROM python:3.11-slim" in lines
    assert "RUN pip install --no-cache-dir -r /tmp/requirements.txt" in lines
    assert "RUN pip install --no-cache-dir --no-deps /opt/bucle" in lines
    assert text.index("-r /tmp/requirements.txt") < text.index("--no-deps /opt/bucle")
    assert "USER bucle" in lines and "USER root" not in lines
    assert "EXPOSE 8000" in lines
    assert "HEALTHCHECK" in text and "urllib.request" in text and ":8000/health" in text
    assert lines[-1] == 'CMD ["bucle", "serve", "--host", "0.0.0.0", "--port", "8000"]'


@pytest.fixture
def context_server(deployed: Deployed, tmp_path: Path):
    """The real ``bucle serve`` run in a copy of the context, on a free loopback port. The copy
    is away from the project, so nothing in the context may point back there."""
    elsewhere = tmp_path / "image"
    shutil.copytree(deployed.context, elsewhere)
    server = Server(elsewhere, "--host", "127.0.0.1")
    try:
        server.start()
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_the_context_serves_the_same_version_on_its_own(
    deployed: Deployed, context_server: Server
) -> None:
    server, elsewhere = context_server, context_server.project

    ready = server.get("/ready")
    assert ready.status == 200 and ready.json["version"] == 1
    manifest = json.loads((elsewhere / "manifest.json").read_text())
    assert server.get("/model").json["sha256"] == manifest["sha256"]

    params = yaml.safe_load((deployed.project / "params.yaml").read_text())
    schema = SimpleNamespace(target=params["data"]["target"], derived=params["features"]["derived"])
    test_rows = next(deployed.project.glob("outputs/runs/*/*/data/test.parquet"))
    answer = server.post("/predict", {"records": records_of(test_rows, schema)[:3]})
    assert answer.status == 200, answer.text
    assert answer.json["model"]["version"] == 1
    assert [p["model_version"] for p in answer.json["predictions"]] == [1, 1, 1]


@pytest.mark.slow
def test_the_bundled_source_builds_a_wheel_with_its_plugins(
    deployed: Deployed, tmp_path: Path
) -> None:
    """What ``pip install /opt/bucle`` in the image does first (needs a package index for the
    build backend, as the image build does)."""
    source = tmp_path / "source"
    shutil.copytree(deployed.context / "source", source)
    run_command(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        tmp_path,
    )
    wheel = zipfile.ZipFile(next(tmp_path.glob("bucle-*.whl")))
    names = wheel.namelist()
    assert "framework/cli.py" in names and "hydra_plugins/bucle_config/__init__.py" in names
    entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "docker = plugins.deployers.docker:DockerDeployer" in entry_points
    assert "bucle = framework.cli:main" in entry_points


def test_status_shows_the_record_and_stop_marks_it_stopped(
    deployed: Deployed, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(deployed.project, project)
    docker = fake_docker(tmp_path / "no-engine", NO_ENGINE)

    status = deploy(project, docker, "status", "deploy=docker", check=False)
    assert status.returncode == 1, status.stderr  # nothing runs: not alive
    for line in ("name: churn", "alias: production", "version: 1"):
        assert line in status.stdout

    stopped = deploy(project, docker, "stop", "deploy=docker")
    assert "state: stopped" in stopped.stdout
    record = record_of(project)
    assert record["status"] == "stopped" and record["stopped_at"]
    again = deploy(project, docker, "stop", "deploy=docker")
    assert again.returncode == 0
    assert record_of(project) == record


def test_a_missing_alias_is_one_line_naming_the_fix(trained: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(trained, project)
    docker = fake_docker(tmp_path / "no-engine", NO_ENGINE)

    result = deploy(project, docker, "--port", str(free_port()), "deploy=docker", check=False)

    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "no version of model 'churn' has alias 'production'" in result.stderr
    assert "bucle models promote VERSION --alias production" in result.stderr
    assert not (project / ".bucle" / "docker").exists()


# ---------------------------------------------------------------------------------------------
# Where an engine answers
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path):
    docker = fake_docker(tmp_path / "engine", ENGINE)
    yield docker
    docker.kill_containers()


def test_an_answering_engine_builds_the_context(project: Path, engine: FakeDocker) -> None:
    result = deploy(project, engine, "--port", str(free_port()), "deploy=docker")

    context = str((project / ".bucle" / "docker" / "context").resolve())
    assert ["build", "-t", "bucle-churn:v1", context] in engine.calls
    assert not any(call[0] == "run" for call in engine.calls)
    assert "built image bucle-churn:v1" in result.stdout
    record = record_of(project)
    assert record["status"] == "built" and record["built"] is True and record["reason"] is None
    assert "Successfully tagged bucle-churn:v1" in Path(record["log"]).read_text()


def test_a_failed_build_is_one_line_and_recorded(project: Path, engine: FakeDocker) -> None:
    engine.env["FAKE_DOCKER_BUILD_ERROR"] = "ERROR: No matching distribution found for numpy"
    result = deploy(project, engine, "--port", str(free_port()), "deploy=docker", check=False)

    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "docker build exited with code 1: ERROR: No matching distribution" in result.stderr
    record = record_of(project)
    assert record["status"] == "not_built" and record["built"] is False
    assert record["reason"].startswith("docker build exited with code 1")
    assert "Step 4/12" in Path(record["log"]).read_text()
    assert (project / ".bucle" / "docker" / "context" / "Dockerfile").is_file()


def test_a_run_container_is_ready_reported_refused_twice_and_stopped(
    project: Path, engine: FakeDocker
) -> None:
    port = free_port()
    result = deploy(
        project, engine, "--port", str(port), "deploy=docker", "deploy.run=true", "deploy.image=c"
    )

    assert ["build", "-t", "c:v1", str(project.resolve() / ".bucle/docker/context")] in (
        engine.calls
    )
    run = next(call for call in engine.calls if call[0] == "run")
    assert run[-3:] == ["-p", f"127.0.0.1:{port}:8000", "c:v1"]
    record = record_of(project)
    assert record["status"] == "running" and record["url"] == f"http://127.0.0.1:{port}"
    assert f"started container {record['container'][:12]}" in result.stdout

    status = deploy(project, engine, "status", "deploy=docker")
    assert "state: running" in status.stdout and "healthy: yes" in status.stdout
    assert f"url: http://127.0.0.1:{port}" in status.stdout

    again = deploy(project, engine, "--port", str(free_port()), "deploy=docker", check=False)
    assert again.returncode == 1 and again.stderr.count("\n") == 1, again.stderr
    assert "already running" in again.stderr and record["container"][:12] in again.stderr

    stopped = deploy(project, engine, "stop", "deploy=docker")
    assert "state: stopped" in stopped.stdout
    assert ["stop", "-t", "15", record["container"]] in engine.calls
    assert ["rm", record["container"]] in engine.calls
    assert not list((engine.state / "containers").glob("*.json"))
    assert record_of(project)["status"] == "stopped"


#: Secret values a project's config reads from the environment (and one written literally).
SECRETS = {
    "SLACK_HOOK_TOKEN": "slackHookTok3nXXXXXXXXXX",
    "HOOK_BEARER": "webhook-bearer-s3cret",
    "MLFLOW_PASSWORD": "mlflow-pa55word",
    "PROJECT_SERVE_TOKEN": "serve-write-t0ken",
}
LITERAL_API_KEY = "literal-api-key-0f9e8d"


def test_the_context_holds_no_secret_in_any_file(project: Path, tmp_path: Path) -> None:
    docker = fake_docker(tmp_path / "no-engine", NO_ENGINE)
    docker.env.update(SECRETS)
    overrides = [
        "alert=[log,webhook]",
        "alert.webhook.url=https://hooks.slack.com/services/T000/B000/${oc.env:SLACK_HOOK_TOKEN}",
        "+alert.webhook.headers.Authorization=Bearer ${oc.env:HOOK_BEARER}",
        f"+alert.webhook.headers.X-API-Key={LITERAL_API_KEY}",
        "tracker=[local,mlflow]",
        "tracker.mlflow.tracking_uri=https://bob:${oc.env:MLFLOW_PASSWORD}@mlflow.example/",
        "serve.token=${oc.env:PROJECT_SERVE_TOKEN}",
    ]
    result = deploy(project, docker, "--port", str(free_port()), "deploy=docker", *overrides)
    context = (project / ".bucle" / "docker" / "context").resolve()

    files = [path for path in context.rglob("*") if path.is_file()]
    assert len(files) > 50  # the source, the state, the config: every file is read
    for path in files:
        content = path.read_bytes()
        for value in [*SECRETS.values(), LITERAL_API_KEY]:
            assert value.encode() not in content, f"{value} in {path.relative_to(context)}"

    params = yaml.safe_load((context / "params.yaml").read_text())
    assert "alert" not in params and "tracker" not in params  # the server reads neither
    assert params["serve"]["host"] == "0.0.0.0"
    assert params["serve"]["token"] is None  # the container's BUCLE_SERVE_TOKEN holds it
    manifest = json.loads((context / "manifest.json").read_text())
    assert manifest["environment"][0] == "BUCLE_SERVE_TOKEN"
    dockerfile = (context / "Dockerfile").read_text()
    assert "docker run -e BUCLE_SERVE_TOKEN" in dockerfile
    assert "BUCLE_SERVE_TOKEN" in result.stdout  # the deploy says what the container needs
    assert "docker run -e BUCLE_SERVE_TOKEN -p" in result.stdout
    for value in [*SECRETS.values(), LITERAL_API_KEY]:
        assert value not in result.stdout + result.stderr
        assert value not in (project / ".bucle" / "docker" / "deployment.json").read_text()


def test_secrets_left_in_served_sections_become_environment_references() -> None:
    from plugins.deployers.docker_context import container_environment, referenced_secrets

    served = {
        "serve": {"host": "0.0.0.0", "alias": "production"},
        "deploy": {
            "name": "docker",
            "headers": {"Authorization": "Bearer abc123", "Accept": "json"},
            "registry_url": "https://bob:pw@registry.example/v2",
        },
    }
    references = {"deploy.headers.Authorization": "Bearer ${oc.env:DEPLOY_TOKEN}"}
    replaced = referenced_secrets(served, references)
    assert replaced["deploy"]["headers"] == {
        "Authorization": "Bearer ${oc.env:DEPLOY_TOKEN}",  # the project's own reference
        "Accept": "json",
    }
    assert replaced["deploy"]["registry_url"] == "${oc.env:BUCLE_DEPLOY_REGISTRY_URL}"
    assert replaced["serve"] == served["serve"]
    text = yaml.safe_dump(replaced)
    assert container_environment(text) == [
        "BUCLE_SERVE_TOKEN",
        "DEPLOY_TOKEN",
        "BUCLE_DEPLOY_REGISTRY_URL",
    ]


# ---------------------------------------------------------------------------------------------
# The plugin on its own
# ---------------------------------------------------------------------------------------------


def test_building_the_plugin_has_no_side_effects(tmp_path: Path) -> None:
    state = tmp_path / "docker"
    deployer = DockerDeployer(state=str(state), image="churn", run=True, port="9000")
    assert not state.exists()
    assert deployer.port == 9000
    assert deployer.deployment_status() is None and deployer.stop_deployment() is None
    assert not state.exists()


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"port": 0}, "deploy.port"),
        ({"port": "http"}, "deploy.port"),
        ({"build_timeout": 0}, "deploy.build_timeout"),
        ({"ready_timeout": "soon"}, "deploy.ready_timeout"),
        ({"image": "Churn"}, "deploy.image"),
        ({"image": "churn:"}, "deploy.image"),
        ({"base_image": "python:3.11 slim"}, "deploy.base_image"),
        ({"run": "yes"}, "deploy.run"),
    ],
)
def test_a_wrong_option_is_a_config_error_naming_the_key(options: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        DockerDeployer(**options)


def test_image_names_get_the_version_as_tag_unless_they_have_one() -> None:
    assert image_tag("bucle-churn", 3) == "bucle-churn:v3"
    assert image_tag("registry.example.com:5000/team/churn", 3) == (
        "registry.example.com:5000/team/churn:v3"
    )
    assert image_tag("churn:prod", 3) == "churn:prod"
    assert split_image("registry.example.com:5000/churn") == (
        "registry.example.com:5000/churn",
        None,
    )


def test_requirements_are_bucles_runtime_closure_only() -> None:
    from packaging.utils import canonicalize_name

    pins = pinned_requirements()
    names = [canonicalize_name(pin.split("==")[0]) for pin in pins]
    assert names == sorted(names) and len(names) == len(set(names))
    assert {"dvc", "fastapi", "numpy", "starlette"} <= set(names)
    assert "pytest" not in names and "bucle" not in names


def test_rebase_moves_only_paths_under_the_old_state() -> None:
    config = {"a": ".bucle", "b": [".bucle/registry.db", ".bucle2/x"], "c": {"d": "data/.bucle"}}
    assert rebase(config, ".bucle", "state") == {
        "a": "state",
        "b": ["state/registry.db", ".bucle2/x"],
        "c": {"d": "data/.bucle"},
    }


def test_the_config_option_builds_the_plugin() -> None:
    from framework.config.compose import compose_config, validate_config
    from framework.hooks.host import ROLES, build_plugin, selected

    root = Path(__file__).resolve().parents[3]
    cfg = validate_config(compose_config(["deploy=docker"], root / "conf"), "deploy=docker")
    role = ROLES["deployer"]
    ((name, options),) = selected(role, cfg).items()
    deployer = build_plugin(role, name, options)
    assert isinstance(deployer, DockerDeployer)
    assert deployer.state == Path(".bucle/docker") and deployer.image == "bucle-churn"
    assert (deployer.base_image, deployer.port, deployer.run) == ("python:3.11-slim", 8000, False)


class TestDockerDeployerContract(DeployerContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> DockerDeployer:
        return DockerDeployer(state=str(tmp_path / "docker"))
