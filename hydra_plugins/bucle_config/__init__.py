"""Registers Bucle's config schemas whenever Hydra scans its plugins.

Hydra imports every module under the ``hydra_plugins`` namespace package at start-up, in any
process, including the one DVC runs for ``dvc exp run -S ...``. Registering the schemas here
makes ``conf/config.yaml``'s ``bucle_schema`` default resolvable there too, so a wrong override
fails at composition with the schema's type error. Hydra may import this more than once; the
registration is idempotent and light.
"""

from framework.config.schema import register_configs

register_configs()
