"""Evaluation for every audience: model metrics, per-slice metrics, business value, model cards.

The data scientist reads the model metrics, the domain expert the slices (who is the model worse
for?), the business the value per period. ``framework.stages.evaluate`` computes them and
``framework.stages.register`` writes them into a model card for every registered version.
"""
