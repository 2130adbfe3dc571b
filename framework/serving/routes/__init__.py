"""The server's endpoints, one module per concern: predict, feedback, info (health, readiness,
model, metrics). ``create_app`` includes each router; they share :class:`ServingState`."""
