"""The serving fixtures (a trained project, real servers) for the monitoring tests."""

from tests.framework.serving.conftest import project_copy, start_server, trained

__all__ = ["project_copy", "start_server", "trained"]
