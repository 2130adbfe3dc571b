"""Built-in data sources (entry-point group ``bucle.sources``)."""
