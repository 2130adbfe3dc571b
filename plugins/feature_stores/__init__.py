"""Built-in feature stores (entry-point group ``bucle.feature_stores``)."""
