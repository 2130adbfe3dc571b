"""Built-in deployers (entry-point group ``bucle.deployers``)."""
