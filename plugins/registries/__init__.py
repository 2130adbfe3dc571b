"""Built-in model registries (entry-point group ``bucle.registries``)."""
