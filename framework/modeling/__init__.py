"""Models: the feature schema read off the training data, the preprocessing pipeline, skops I/O."""
