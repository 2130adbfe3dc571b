"""The config option this plugin ships: ``tracker/jsonl.yaml``, composable as ``tracker=jsonl``.

Declared in the ``bucle.config`` entry-point group, so Bucle puts this package on Hydra's search
path once the distribution is installed.
"""
