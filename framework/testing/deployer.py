"""The deployer contract, the part every deployer shares: it registers as ``bucle`` builds it,
and before anything was deployed, status and stop answer None rather than fail.

Deploying needs a trained project and somewhere to run; test that with your deployer's own
end-to-end test (see tests/framework/deploy/test_local_deployer.py for the ``local`` deployer).
"""

from __future__ import annotations

from typing import Any

import pytest

from framework.testing.host import host_with


class DeployerContract:
    """Subclass as ``Test...`` and provide a ``plugin`` fixture: a deployer in a fresh state."""

    @pytest.fixture
    def plugin(self) -> Any:
        raise NotImplementedError("define a `plugin` fixture returning a fresh deployer")

    def test_status_before_any_deployment_is_none(self, plugin: Any) -> None:
        assert host_with("deployer", plugin).deployment_status() is None

    def test_stopping_before_any_deployment_is_none(self, plugin: Any) -> None:
        assert host_with("deployer", plugin).stop_deployment() is None
