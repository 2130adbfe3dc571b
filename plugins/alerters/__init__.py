"""Built-in alerters: where ``bucle monitor`` sends a report's summary."""
