"""The ``sklearn`` source: a data set bundled with scikit-learn, read without a download.

It gives a second, well-known project to try the pipeline on (``bucle run data=sklearn
data.dataset=wine``) and a quick check that nothing in Bucle is specific to the churn example.
Only the data sets shipped inside scikit-learn are offered, so a run never needs the network.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from framework import hookimpl
from framework.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

#: Bundled data sets by name: whether the target is a class label (kept as integers) or a number.
DATASETS = {
    "breast_cancer": "classification",
    "diabetes": "regression",
    "digits": "classification",
    "iris": "classification",
    "wine": "classification",
}

# scikit-learn's own name for the target column in ``load_<name>(as_frame=True).frame``.
_SKLEARN_TARGET = "target"


class SklearnSource:
    """Loads ``sklearn.datasets.load_<dataset>`` as one frame, features plus the target column."""

    def __init__(self, dataset: str = "breast_cancer", target: str = "target") -> None:
        if dataset not in DATASETS:
            supported = ", ".join(DATASETS)
            close = difflib.get_close_matches(str(dataset), DATASETS, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"data.dataset={dataset!r} is not a bundled scikit-learn data set; {hint}"
                f"set data.dataset to one of: {supported}"
            )
        if not isinstance(target, str) or not target:
            raise ConfigError(f"data.target={target!r} is not a column name; set it to a name")
        self.dataset = dataset
        self.target = target

    @hookimpl
    def load_data(self, seed: int) -> pd.DataFrame:
        """Return the data set; ``seed`` is unused because the bundled files never change."""
        from sklearn import datasets

        loader = getattr(datasets, f"load_{self.dataset}")
        frame = loader(as_frame=True).frame
        if DATASETS[self.dataset] == "classification":
            frame[_SKLEARN_TARGET] = frame[_SKLEARN_TARGET].astype("int64")
        if self.target != _SKLEARN_TARGET:
            if self.target in frame.columns:
                raise ConfigError(
                    f"data.target={self.target!r} is already a feature of {self.dataset}; "
                    f"set data.target to a new name, e.g. {_SKLEARN_TARGET!r}"
                )
            frame = frame.rename(columns={_SKLEARN_TARGET: self.target})
        return frame
