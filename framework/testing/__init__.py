"""Ready-made test suites, one per plugin role, that every plugin of that role should pass.

As scikit-learn gives estimators ``check_estimator``, Bucle gives plugins a contract to run
against themselves. Subclass a role's contract in a test module named ``test_*.py`` with a class
named ``Test*``, and give it a ``plugin`` fixture that builds a fresh instance (each test gets
its own ``tmp_path``); pytest collects every contract test for your plugin::

    import pytest
    from framework.testing import TrackerContract

    class TestMyTracker(TrackerContract):
        @pytest.fixture
        def plugin(self, tmp_path):
            return MyTracker(path=str(tmp_path / "runs"))

Every contract first registers the plugin the way ``bucle`` does (each ``@hookimpl`` must match
a spec in ``framework/hooks/specs.py``, with arguments pluggy accepts, and a "one" role must
implement its required hooks), then exercises the behaviour Bucle's commands rely on. The
built-in plugins and the example plugin in ``examples/`` run these same suites.
"""

from framework.testing.alerter import AlerterContract, RemoteAlerterContract
from framework.testing.deployer import DeployerContract
from framework.testing.feature_store import FeatureStoreContract
from framework.testing.monitor import MonitorContract, synthetic_window
from framework.testing.registry import RegistryContract
from framework.testing.source import SourceContract
from framework.testing.store import StoreContract
from framework.testing.tracker import TrackerContract
from framework.testing.validator import ValidatorContract

__all__ = [
    "AlerterContract",
    "DeployerContract",
    "FeatureStoreContract",
    "MonitorContract",
    "RegistryContract",
    "RemoteAlerterContract",
    "SourceContract",
    "StoreContract",
    "TrackerContract",
    "ValidatorContract",
    "synthetic_window",
]
