"""Built-in experiment trackers (entry-point group ``bucle.trackers``)."""
