"""Bucle's hooks into Hydra: config schemas and the config that installed plugins ship.

Hydra imports every module under the ``hydra_plugins`` namespace package at start-up, in any
process, including the one DVC runs for ``dvc exp run -S ...``. Two things happen here, so that
``bucle run``, ``bucle params`` and DVC compose exactly the same config:

- The schemas are registered, which makes ``conf/config.yaml``'s ``bucle_schema`` default
  resolvable and a wrong override fail at composition with the schema's type error.
- :class:`PluginConfigSearchPath` appends the config packages that installed distributions
  declare in the ``bucle.config`` entry-point group, so ``pip install bucle-foo`` makes
  ``tracker=foo`` composable with no YAML copied into the project.

- Under DVC (``dvc exp run -S``), ``${oc.env:NAME}`` is made to resolve to its own text while
  DVC composes ``params.yaml`` (:func:`framework.config.env_refs.keep_env_references_under_dvc`),
  so DVC writes environment references, never the secrets they read, as ``bucle params`` does.
  In any other process, Bucle's own included, nothing changes.

Hydra may import this more than once; all three are idempotent and light: the search path is built
from entry-point metadata, and Hydra imports a plugin's config package (so its parent package)
only when it looks for options there.
"""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

from framework.config.env_refs import keep_env_references_under_dvc
from framework.config.plugin_conf import config_packages, search_path_entry
from framework.config.schema import register_configs

register_configs()
keep_env_references_under_dvc()


class PluginConfigSearchPath(SearchPathPlugin):
    """Appends each ``bucle.config`` entry point's package, Bucle's own first (as a file path,
    so a plugin package that fails to import is never imported: see ``search_path_entry``)."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        for provider, module in config_packages():
            search_path.append(provider=provider, path=search_path_entry(module))
