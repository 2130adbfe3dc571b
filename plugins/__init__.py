"""Bucle's built-in plugins, one module per plugin: ``plugins/<role>/<name>.py``.

They are declared as entry points in pyproject.toml exactly as a third party declares its own,
and loaded by the same host code.
"""
