"""Derived features from safe expressions: one definition for training and serving."""
