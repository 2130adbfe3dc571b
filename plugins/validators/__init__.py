"""Built-in data validators (entry-point group ``bucle.validators``)."""
