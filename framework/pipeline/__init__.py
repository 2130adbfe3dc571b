"""The pipeline: the stage registry, the run context, the runner and the run manifest."""
