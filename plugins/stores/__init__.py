"""Built-in artifact stores (entry-point group ``bucle.stores``)."""
