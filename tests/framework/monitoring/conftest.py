"""The serving fixtures (a trained project, real servers, v1's records) for these tests."""

from tests.framework.serving.conftest import project_copy, records, start_server, trained

__all__ = ["project_copy", "records", "start_server", "trained"]
