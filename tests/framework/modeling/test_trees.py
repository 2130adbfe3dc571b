"""Crafted tree nodes are refused when a model loads, before anything predicts with them.

Each bad artifact is saved under its own, correct sha256: the hash proves only that the bytes are
the ones registered, not that scikit-learn's compiled predict can follow their node indices.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from framework.errors import ArtifactError
from framework.modeling.artifact import ModelBundle, load_model, save_model
from framework.modeling.estimator import build_pipeline
from framework.modeling.schema import infer_schema, prepare_inputs
from plugins.sources.synthetic_churn import SyntheticChurnSource

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def table():
    frame = SyntheticChurnSource(n_rows=300, invalid_share=0.0).load_data(seed=1)
    return frame.drop(columns=["customer_id"]).dropna(subset=["churned"])


def fitted(table, estimator: Any) -> ModelBundle:
    schema = infer_schema(table, "churned", [], {})
    pipeline = build_pipeline(schema, estimator)
    pipeline.fit(prepare_inputs(table, schema), table["churned"])
    return ModelBundle(pipeline, schema)


@pytest.fixture(scope="module")
def forest(table) -> ModelBundle:
    from sklearn.ensemble import RandomForestClassifier

    return fitted(table, RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0))


@pytest.fixture(scope="module")
def boosting(table) -> ModelBundle:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return fitted(table, HistGradientBoostingClassifier(max_iter=3, max_leaf_nodes=4))


# --- crafting bad trees ----------------------------------------------------------------------


def with_tree(bundle: ModelBundle, edit: Callable[[dict[str, Any]], Any], n_extra: int = 0):
    """A copy of a forest bundle whose tree 1 was rebuilt from an edited state."""
    from sklearn.tree._tree import Tree

    crafted = copy.deepcopy(bundle)
    holder = crafted.pipeline[-1].estimators_[1]
    tree = holder.tree_
    state = tree.__getstate__()
    state["nodes"] = state["nodes"].copy()
    edit(state)
    bad = Tree(tree.n_features + n_extra, np.asarray(tree.n_classes), tree.n_outputs)
    bad.__setstate__(state)
    holder.tree_ = bad
    return crafted


def split_node(nodes: np.ndarray) -> int:
    return int(np.flatnonzero(nodes["left_child"] != -1)[-1])


def set_node(field: str, value: Callable[[np.ndarray, int], int]) -> Callable[[dict], None]:
    def edit(state: dict[str, Any]) -> None:
        nodes = state["nodes"]
        at = split_node(nodes)
        nodes[field][at] = value(nodes, at)

    return edit


def with_predictor(bundle: ModelBundle, edit: Callable[[Any], None]) -> ModelBundle:
    """A copy of a boosting bundle whose predictor [1][0] was edited."""
    crafted = copy.deepcopy(bundle)
    edit(crafted.pipeline[-1]._predictors[1][0])
    return crafted


def set_root(field: str, value: int) -> Callable[[Any], None]:
    def edit(predictor: Any) -> None:
        predictor.nodes[field][0] = value

    return edit


def categorical_root(predictor: Any) -> None:
    predictor.nodes["is_categorical"][0] = 1
    predictor.raw_left_cat_bitsets = np.zeros((1, 8), dtype=np.uint32)
    predictor.binned_left_cat_bitsets = np.zeros((1, 8), dtype=np.uint32)


TREE_CASES = {
    "left child out of range": (set_node("left_child", lambda n, at: 10**6), "children_left"),
    "right child out of range": (set_node("right_child", lambda n, at: 10**6), "children_right"),
    "child points back (cycle)": (set_node("left_child", lambda n, at: 0), "children_left"),
    "child points to itself": (set_node("right_child", lambda n, at: at), "children_right"),
    "two parents": (
        set_node("right_child", lambda n, at: int(n["left_child"][at])),
        "is the child of 2 nodes",
    ),
    "unpaired leaf": (set_node("right_child", lambda n, at: -1), "a leaf has -1 for both"),
    "feature out of range": (set_node("feature", lambda n, at: 10**6), "feature["),
    "negative feature": (set_node("feature", lambda n, at: -5), "feature["),
    "max_depth too small": (lambda state: state.update(max_depth=0), "max_depth=0"),
}

PREDICTOR_CASES = {
    "left out of range": (set_root("left", 10**6), "nodes[0].left"),
    "right points back (cycle)": (set_root("right", 0), "nodes[0].right"),
    "both children the same": (set_root("right", 1), "nodes[1] is the child of 2 nodes"),
    "feature out of range": (set_root("feature_idx", 10**6), "feature_idx=1000000"),
    "bitset out of range": (set_root("is_categorical", 1), "bitset_idx"),
    "categorical split on a numeric input": (categorical_root, "does not treat as categorical"),
}


def saved(tmp_path: Path, name: str, bundle: ModelBundle) -> tuple[Path, str]:
    path = tmp_path / f"{name.replace(' ', '-')}.skops"
    return path, save_model(path, bundle)


def edited_archive(path: Path, key: str, value: str) -> str:
    """Rewrite the first ``key`` of a Tree's state in the skops archive; returns the new sha256."""
    import hashlib

    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(files["schema.json"])

    def visit(node: Any) -> bool:
        if isinstance(node, dict):
            if node.get("__class__") == "Tree":
                node["content"]["content"][key]["content"] = value
                return True
            return any(visit(item) for item in node.values())
        if isinstance(node, list):
            return any(visit(item) for item in node)
        return False

    assert visit(schema)
    files["schema.json"] = json.dumps(schema).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def crafted_artifacts(tmp_path: Path, forest: ModelBundle, boosting: ModelBundle) -> list[Path]:
    paths = []
    for name, (edit, _) in TREE_CASES.items():
        paths.append(saved(tmp_path, f"forest {name}", with_tree(forest, edit))[0])
    paths.append(saved(tmp_path, "forest n_features", with_tree(forest, lambda s: None, 7))[0])
    for name, (edit, _) in PREDICTOR_CASES.items():
        paths.append(saved(tmp_path, f"boosting {name}", with_predictor(boosting, edit))[0])
    path, _ = saved(tmp_path, "forest node_count", forest)
    edited_archive(path, "node_count", "1")
    paths.append(path)
    return paths


# --- what the gate refuses -------------------------------------------------------------------


@pytest.mark.parametrize("case", TREE_CASES)
def test_a_forest_with_a_crafted_tree_is_refused_naming_tree_and_field(
    forest, case: str, tmp_path: Path
) -> None:
    edit, field = TREE_CASES[case]
    path, digest = saved(tmp_path, case, with_tree(forest, edit))
    with pytest.raises(ArtifactError) as raised:
        load_model(path, sha256=digest)
    message = str(raised.value)
    assert "\n" not in message
    assert "RandomForestClassifier tree" in message and "estimators_[1]" in message
    assert field in message


def test_a_tree_reading_more_features_than_its_estimator_is_refused(forest, tmp_path) -> None:
    path, digest = saved(tmp_path, "wide", with_tree(forest, lambda state: None, n_extra=7))
    with pytest.raises(ArtifactError, match=r"n_features=\d+ but the estimator reads"):
        load_model(path, sha256=digest)


def test_a_node_count_edited_in_the_archive_is_refused(forest, tmp_path: Path) -> None:
    """scikit-learn clamps a node_count past the node array; one below it orphans children."""
    path, _ = saved(tmp_path, "forest", forest)
    digest = edited_archive(path, "node_count", "1")
    with pytest.raises(ArtifactError, match=r"children_left\[0\]=1 is outside \(0, 1\)"):
        load_model(path, sha256=digest)


@pytest.mark.parametrize("case", PREDICTOR_CASES)
def test_a_boosting_with_a_crafted_predictor_is_refused_naming_tree_and_field(
    boosting, case: str, tmp_path: Path
) -> None:
    edit, field = PREDICTOR_CASES[case]
    path, digest = saved(tmp_path, case, with_predictor(boosting, edit))
    with pytest.raises(ArtifactError) as raised:
        load_model(path, sha256=digest)
    message = str(raised.value)
    assert "\n" not in message
    assert "HistGradientBoostingClassifier tree _predictors[1][0]" in message
    assert field in message


def test_real_forest_and_boosting_models_still_load_and_predict(
    table, forest, boosting, tmp_path: Path
) -> None:
    for name, bundle in (("forest", forest), ("boosting", boosting)):
        path, digest = saved(tmp_path, name, bundle)
        loaded = load_model(path, sha256=digest)
        inputs = prepare_inputs(table, loaded.schema)
        assert (
            loaded.pipeline.predict_proba(inputs) == bundle.pipeline.predict_proba(inputs)
        ).all()


PROBE = textwrap.dedent(
    """
    import sys
    from framework.errors import ArtifactError
    from framework.modeling.artifact import load_model
    from framework.modeling.schema import prepare_inputs
    from plugins.sources.synthetic_churn import SyntheticChurnSource

    rows = SyntheticChurnSource(n_rows=50, invalid_share=0.0).load_data(seed=2)
    for path in sys.argv[1:]:
        try:
            bundle = load_model(path)
        except ArtifactError:
            print("refused", path, flush=True)
            continue
        print("ACCEPTED", path, flush=True)
        bundle.pipeline.predict_proba(prepare_inputs(rows, bundle.schema))
        print("predicted", path, flush=True)
    """
)


def test_no_crafted_artifact_reaches_predict(forest, boosting, tmp_path: Path) -> None:
    """Load (and, if accepted, predict) in a child process: a segfault fails this test."""
    paths = crafted_artifacts(tmp_path, forest, boosting)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr[-2000:])
    assert "ACCEPTED" not in result.stdout, result.stdout
    assert result.stdout.count("refused") == len(paths)


def test_a_member_claiming_more_inputs_than_its_forest_is_refused(forest, tmp_path) -> None:
    """A forest checks X against its own n_features_in_ and hands it to its trees unchecked: a
    member that says it reads 1000 inputs (and splits on the last) must not pass for itself."""
    crafted = with_tree(forest, set_node("feature", lambda n, at: 999), n_extra=1000 - 1)
    crafted.pipeline[-1].estimators_[1].n_features_in_ = crafted.pipeline[-1].n_features_in_ + 999
    path, digest = saved(tmp_path, "member claims wide", crafted)
    with pytest.raises(ArtifactError, match=r"estimators_\[1\].*n_features=\d+ but the estimator"):
        load_model(path, sha256=digest)
