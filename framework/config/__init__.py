"""Config: the typed schema, composition of ``conf/``, and loading ``params.yaml``."""
