"""Which estimators a stored record may name: those a model option on the search path declares."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from framework.errors import ConfigError
from framework.modeling.estimator import check_declared_targets, declared_model_targets

ROOT = Path(__file__).resolve().parents[3]


def test_built_in_and_project_model_options_are_declared(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    (conf / "model").mkdir(exist_ok=True)
    (conf / "model" / "stacked.yaml").write_text(
        "_target_: sklearn.ensemble.BaggingClassifier\n"
        "estimator:\n  _target_: sklearn.svm.SVC\n  probability: true\n"
    )
    declared = declared_model_targets(conf)
    assert {
        "sklearn.linear_model.LogisticRegression",
        "sklearn.ensemble.RandomForestClassifier",
        "sklearn.ensemble.HistGradientBoostingRegressor",
        "sklearn.ensemble.BaggingClassifier",
        "sklearn.svm.SVC",  # nested targets of a declared option are declared too
    } <= declared
    assert "pandas.read_pickle" not in declared and "os.system" not in declared


@pytest.fixture(scope="module")
def declared() -> set[str]:
    return declared_model_targets(ROOT / "conf")


@pytest.mark.parametrize(
    "model",
    [
        {"_target_": "pandas.read_pickle", "filepath_or_buffer": "x.pkl"},
        {"_target_": "sklearn.linear_model.Ridge", "alpha": {"_target_": "pandas.read_pickle"}},
        {"_target_": "sklearn.linear_model.Ridge", "steps": [{"_target_": "pandas.read_pickle"}]},
    ],
)
def test_an_undeclared_target_is_refused_in_one_line_naming_it(
    model: dict, declared: set[str]
) -> None:
    with pytest.raises(ConfigError) as raised:
        check_declared_targets(model, declared, "run r1")
    message = str(raised.value)
    assert "'pandas.read_pickle'" in message and message.startswith("run r1:")
    assert "\n" not in message
