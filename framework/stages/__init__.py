"""The pipeline stages, one module each with ``run(context) -> {name: path}``."""
