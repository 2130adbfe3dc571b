"""Monitoring: how far the data and predictions a model sees now have moved from its training data.

``profile`` summarises the training data once, at evaluate time, into a small JSON reference
profile saved beside the model; ``stats`` holds the per-column statistics, computed against that
summary rather than the raw rows; ``drift`` chooses a test per column and applies the thresholds.
Monitoring reads the profile, never the training data, so it runs where that data is not
available and its memory is bounded by the window it checks, not by the history.
"""
