"""The serving fixtures (a trained project with two versions) for these tests."""

from tests.framework.serving.conftest import project_copy, trained

__all__ = ["project_copy", "trained"]
