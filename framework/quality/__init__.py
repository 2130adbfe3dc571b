"""Data quality: the four dimensions every check is filed under, their scores and the report."""

#: The data-quality dimensions, in the order reports show them.
DIMENSIONS = ("accuracy", "completeness", "consistency", "timeliness")
