"""The pluggy markers for Bucle: plugins decorate hook methods with ``@hookimpl``."""

import pluggy

PROJECT_NAME = "bucle"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
