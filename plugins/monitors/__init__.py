"""Built-in monitors: what ``bucle monitor`` checks in a window of production traffic."""
