"""Model artifacts: every model option saves and loads with skops; tampering is refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from framework.config.compose import compose_config, group_options, validate_config
from framework.errors import ArtifactError
from framework.modeling.artifact import ModelBundle, load_model, save_model
from framework.modeling.estimator import build_estimator, build_pipeline
from framework.modeling.schema import infer_schema, prepare_inputs
from plugins.sources.synthetic_churn import SyntheticChurnSource

ROOT = Path(__file__).resolve().parents[3]
MODELS = group_options("model", ROOT / "conf")


@pytest.fixture(scope="module")
def table():
    frame = SyntheticChurnSource(n_rows=600, invalid_share=0.0).load_data(seed=1)
    return frame.drop(columns=["customer_id"])


#: Regression options fit on a numeric target of the same table; the rest on the churn label.
REGRESSORS = {"ridge", "random_forest_regressor", "hist_gradient_boosting_regressor"}


def fit(table, model: str) -> ModelBundle:
    cfg = validate_config(compose_config([f"model={model}"], ROOT / "conf"), model)
    target = "monthly_charges" if model in REGRESSORS else "churned"
    rows = table.dropna(subset=[target])
    schema = infer_schema(rows, target, [], {})
    pipeline = build_pipeline(schema, build_estimator(cfg.model, schema.task))
    pipeline.fit(prepare_inputs(rows, schema), rows[target])
    return ModelBundle(pipeline, schema)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_option_saves_and_loads_with_the_same_predictions(
    table, model: str, tmp_path: Path
) -> None:
    bundle = fit(table, model)
    path = tmp_path / "model.skops"
    digest = save_model(path, bundle)
    loaded = load_model(path, sha256=digest)
    inputs = prepare_inputs(table, loaded.schema)
    assert loaded.schema == bundle.schema
    assert loaded.regression == (model in REGRESSORS)
    if loaded.regression:
        assert (loaded.predict(inputs) == bundle.predict(inputs)).all()
    else:
        assert (
            loaded.pipeline.predict_proba(inputs) == bundle.pipeline.predict_proba(inputs)
        ).all()


def test_a_modified_artifact_is_refused_by_hash(table, tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    digest = save_model(path, fit(table, "logreg"))
    with path.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ArtifactError, match="expected"):
        load_model(path, sha256=digest)


def test_a_corrupt_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match="not a readable skops file") as raised:
        load_model(path)
    assert "\n" not in str(raised.value)


def test_an_artifact_asking_for_an_untrusted_type_is_refused(tmp_path: Path) -> None:
    import skops.io as sio

    path = tmp_path / "model.skops"
    sio.dump({"format": 1, "schema": {}, "pipeline": Path("/")}, path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist()
    with pytest.raises(ArtifactError, match="does not trust: pathlib"):
        load_model(path)


def test_a_decision_threshold_is_saved_with_the_model_and_used_to_predict(
    table, tmp_path: Path
) -> None:
    import numpy as np

    fitted = fit(table, "logreg")
    path = tmp_path / "model.skops"
    save_model(path, ModelBundle(fitted.pipeline, fitted.schema, 0.2, 1))
    loaded = load_model(path)
    assert loaded.decision_threshold == 0.2 and loaded.positive_label == 1

    inputs = prepare_inputs(table, loaded.schema)
    churn_probability = loaded.pipeline.predict_proba(inputs)[:, 1]
    expected = (churn_probability >= 0.2).astype(int)
    assert (loaded.predict(inputs) == expected).all()
    assert (loaded.predict(inputs) != loaded.pipeline.predict(inputs)).any()
    assert loaded.predict(inputs).dtype == np.asarray(table["churned"]).dtype


def test_without_a_threshold_the_estimator_predicts(table, tmp_path: Path) -> None:
    fitted = fit(table, "logreg")
    path = tmp_path / "model.skops"
    save_model(path, fitted)
    loaded = load_model(path)
    assert loaded.decision_threshold is None
    inputs = prepare_inputs(table, loaded.schema)
    assert (loaded.predict(inputs) == fitted.pipeline.predict(inputs)).all()


def test_a_bundle_saved_before_thresholds_existed_loads_without_one(table, tmp_path: Path) -> None:
    import skops.io as sio

    fitted = fit(table, "logreg")
    path = tmp_path / "model.skops"
    payload = {"format": 1, "schema": fitted.schema.to_dict(), "pipeline": fitted.pipeline}
    sio.dump(payload, path)
    assert load_model(path).decision_threshold is None


def test_the_bytes_checked_against_the_hash_are_the_bytes_loaded(
    table, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file swapped after its hash was checked must not be what loads (no check-then-reopen)."""
    import skops.io as sio

    fitted = fit(table, "logreg")
    path = tmp_path / "model.skops"
    digest = save_model(path, fitted)
    swapped = tmp_path / "swapped.skops"
    save_model(swapped, ModelBundle(fitted.pipeline, fitted.schema, 0.9, 1))
    read_untrusted = sio.get_untrusted_types

    def swap_then_read(**source):
        # The hash has been checked by now: replace the file as an attacker racing the load would.
        path.write_bytes(swapped.read_bytes())
        return read_untrusted(**source)

    monkeypatch.setattr(sio, "get_untrusted_types", swap_then_read)
    loaded = load_model(path, sha256=digest)
    assert loaded.decision_threshold is None


@pytest.mark.parametrize("model", MODELS)
def test_every_model_option_saves_to_the_same_bytes_from_two_separate_fits(
    table, model: str, tmp_path: Path
) -> None:
    """Same data, config and code: same bytes, so content addressing and dvc.lock hold."""
    first, second = tmp_path / "first.skops", tmp_path / "second.skops"
    first_digest = save_model(first, fit(table, model))
    second_digest = save_model(second, fit(table, model))
    assert first.read_bytes() == second.read_bytes()
    assert first_digest == second_digest
    load_model(second, sha256=second_digest)  # the canonical form passes every load check


def test_the_saved_bytes_do_not_depend_on_the_process(table, tmp_path: Path) -> None:
    """Object ids, zip timestamps and string hashing differ between processes; bytes must not."""
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; "
        "sys.path.insert(0, sys.argv[2]); "
        "from tests.framework.modeling.test_artifact import fit; "
        "from framework.modeling.artifact import save_model; "
        "from plugins.sources.synthetic_churn import SyntheticChurnSource; "
        "frame = SyntheticChurnSource(n_rows=600, invalid_share=0.0).load_data(seed=1); "
        "print(save_model(Path(sys.argv[1]), fit(frame.drop(columns=['customer_id']), "
        "'random_forest')))"
    )
    digests = set()
    for seed in ("1", "2"):
        target = tmp_path / f"model-{seed}.skops"
        env = {**__import__("os").environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script, str(target), str(ROOT)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(result.stdout.strip())
    assert len(digests) == 1
    assert save_model(tmp_path / "here.skops", fit(table, "random_forest")) in digests
