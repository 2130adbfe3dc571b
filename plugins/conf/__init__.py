"""Bucle's built-in config options, one file per option: ``<group>/<name>.yaml``.

Shipped inside the distribution and put on Hydra's search path through the ``bucle.config``
entry point (see ``hydra_plugins.bucle_config``), exactly as a third-party plugin ships its own
options. A project's ``conf/`` comes first on the search path, so a file there with the same
group and name (``conf/model/logreg.yaml``) replaces the built-in one.
"""
