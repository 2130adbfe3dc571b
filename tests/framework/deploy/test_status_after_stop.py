"""``bucle deploy status`` after ``stop`` names the version that was serving (its alias may
have moved since the deploy), and ``/model``'s positive label follows the evaluate stage's rule."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.serving.routes.info import positive_class
from tests.conftest import run_command
from tests.framework.serving.conftest import free_port, project_copy, promote, trained  # noqa: F401


@pytest.fixture
def deployed(project_copy: Path) -> Iterator[Path]:  # noqa: F811
    """The trained project with v1 in production; whatever server it deploys is killed after."""
    promote(project_copy, 1)
    yield project_copy
    record = project_copy / ".bucle" / "deploy" / "deployment.json"
    if record.is_file():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(json.loads(record.read_text())["pid"], signal.SIGKILL)


def model_info(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/model", timeout=10) as response:
        return json.loads(response.read())


def test_status_after_stop_names_the_version_that_was_serving(deployed: Path) -> None:
    port = free_port()
    run_command(
        [
            "bucle",
            "deploy",
            "--port",
            str(port),
            "serve.poll_seconds=0.2",
        ],
        deployed,
    )
    url = f"http://127.0.0.1:{port}"
    info = model_info(url)
    assert info["version"] == 1

    promote(deployed, 2)  # the server follows its alias
    deadline = time.monotonic() + 30
    while model_info(url)["version"] != 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert model_info(url)["version"] == 2

    run_command(["bucle", "deploy", "stop"], deployed)
    status = run_command(["bucle", "deploy", "status"], deployed, check=False)
    assert status.returncode == 1 and "state: stopped" in status.stdout
    assert "last served: churn v2 (alias production) until " in status.stdout
    assert "version: 2" in status.stdout


def test_the_positive_label_is_the_configured_one_or_the_models_last_class() -> None:
    classification = {"task": "classification", "classes": [0, 1], "positive_label": None}
    assert positive_class(classification, None) == 1
    assert positive_class(classification, "0") == 0
    assert positive_class({**classification, "positive_label": 0}, 1) == 0  # tuned threshold's
    assert positive_class({"task": "regression", "classes": []}, None) is None
