"""Bounds-check the tree nodes of a loaded model before anything predicts with it.

skops refuses scikit-learn's ``Tree`` and histogram-boosting ``TreePredictor`` by default, and
for a reason: their compiled predict code follows node indices without bounds checks, so a
crafted artifact (registered under its own, correct sha256) can read or write outside its
arrays and crash the server on the first prediction. Bucle trusts both types because forests
and boosting are ordinary models; this module earns that trust by checking every tree the way
scikit-learn builds them: children after their parent (so no cycle), indices inside the arrays,
features inside the estimator's inputs, array shapes consistent with the node count.

:func:`check_trees` walks the whole loaded object, wherever a tree hides (a pipeline step, a
forest's ``estimators_``, a boosting's ``_predictors``), and raises :class:`TreeError` naming
the estimator, the tree and the field; :func:`~framework.modeling.artifact.load_model` turns it
into a one-line :class:`~framework.errors.ArtifactError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

TREE_TYPE = "sklearn.tree._tree.Tree"
PREDICTOR_TYPE = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"

#: Bits in one row of a categorical-split bitset: 8 x uint32, one bit per binned category.
BITSET_WORDS = 8


class TreeError(ValueError):
    """A tree whose nodes scikit-learn's predict code must not follow."""


def check_trees(model: Any) -> int:
    """Check every ``Tree`` and ``TreePredictor`` reachable from ``model``; return how many.

    Raises :class:`TreeError` on the first bad tree, with the estimator that holds it, the
    tree's place in it and the bad field.
    """
    count = 0
    for tree, owner, where in _trees(model):
        count += 1
        try:
            if _type_name(tree) == TREE_TYPE:
                _check_tree(tree, owner)
            else:
                _check_predictor(tree, owner)
        except TreeError as error:
            raise TreeError(f"{where}: {error}") from None
    return count


# --- walking the object --------------------------------------------------------------------


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _trees(model: Any) -> Iterator[tuple[Any, Any, str]]:
    """(tree, the estimator whose inputs it reads, 'Estimator tree <path>') for every tree.

    The walk follows attributes, containers and object arrays, so a tree is found wherever it
    sits. The estimator whose inputs the tree's feature indices point into is the one whose
    ``n_features_in_`` predict really checks (:func:`_input_bound`); the name is the nearest
    enclosing ensemble.
    """
    import numpy as np

    seen: set[int] = set()
    # (value, path from the root, nearest estimator, nearest ensemble, its path)
    stack: list[tuple[Any, str, Any, Any, str]] = [(model, "", None, None, "")]
    while stack:
        value, path, owner, ensemble, ensemble_path = stack.pop()
        if id(value) in seen or value is None or isinstance(value, (str, bytes, int, float)):
            continue
        seen.add(id(value))
        name = _type_name(value)
        if name in (TREE_TYPE, PREDICTOR_TYPE):
            holder = ensemble if ensemble is not None else owner
            label = type(holder).__name__ if holder is not None else "model"
            relative = path[len(ensemble_path) :].lstrip(".") if ensemble is not None else path
            yield value, _input_bound(owner, ensemble), f"{label} tree {relative or path or 'root'}"
            continue
        children: list[tuple[str, Any]] = []
        if isinstance(value, dict):
            children = [(f"[{key!r}]", item) for key, item in value.items()]
        elif isinstance(value, (list, tuple)):
            children = [(f"[{index}]", item) for index, item in enumerate(value)]
        elif isinstance(value, np.ndarray):
            if value.dtype == object:
                children = [(f"[{index}]", item) for index, item in enumerate(value.ravel())]
        elif hasattr(value, "__dict__"):
            children = [(f".{key}", item) for key, item in vars(value).items()]
            if hasattr(value, "n_features_in_"):
                owner = value
            if hasattr(value, "estimators_") or hasattr(value, "_predictors"):
                ensemble, ensemble_path = value, path
        for step, item in reversed(children):
            stack.append((item, f"{path}{step}", owner, ensemble, ensemble_path))


def _input_bound(owner: Any, ensemble: Any) -> Any:
    """The estimator whose input width a tree's feature indices must stay within.

    An ensemble checks X against its own ``n_features_in_`` and then hands it to its trees
    unchecked (a forest calls ``predict_proba(X, check_input=False)``, gradient boosting
    ``predict_stages``), so a member's own ``n_features_in_``, read from the artifact, proves
    nothing: the ensemble's is the bound. A bagging ensemble is the exception (each member reads
    its own feature subset and checks it), and so is a tree outside any ensemble.
    """
    if (
        ensemble is not None
        and getattr(ensemble, "n_features_in_", None) is not None
        and not hasattr(ensemble, "estimators_features_")
    ):
        return ensemble
    return owner


# --- sklearn.tree._tree.Tree -----------------------------------------------------------------


def _check_tree(tree: Any, owner: Any) -> None:
    """The invariants of a tree scikit-learn built (see ``sklearn/tree/_tree.pyx``)."""
    import numpy as np

    node_count, capacity = int(tree.node_count), int(tree.capacity)
    # node_count sizes every array view below: past the capacity they read foreign memory.
    if not 1 <= node_count <= capacity:
        raise TreeError(f"node_count={node_count} is outside [1, {capacity}] (its node array)")
    n_features = int(tree.n_features)
    expected = getattr(owner, "n_features_in_", None)
    if expected is None:
        raise TreeError("no enclosing estimator says how many inputs it reads (n_features_in_)")
    if n_features != int(expected):
        raise TreeError(f"n_features={n_features} but the estimator reads {int(expected)}")
    left = np.asarray(tree.children_left)
    right = np.asarray(tree.children_right)
    feature = np.asarray(tree.feature)
    for field, array in (("children_left", left), ("children_right", right), ("feature", feature)):
        if array.shape != (node_count,):
            raise TreeError(f"{field} has shape {array.shape}, expected ({node_count},)")
    value_shape = (node_count, int(tree.n_outputs), int(tree.max_n_classes))
    if tuple(np.shape(tree.value)) != value_shape:
        raise TreeError(f"value has shape {np.shape(tree.value)}, expected {value_shape}")

    leaf = left == -1
    index = np.arange(node_count)
    unpaired = leaf != (right == -1)
    if unpaired.any():
        at = int(index[unpaired][0])
        raise TreeError(
            f"node {at} has children_left={int(left[at])}, children_right={int(right[at])}: "
            "a leaf has -1 for both, a split node neither"
        )
    split = ~leaf
    for field, children in (("children_left", left), ("children_right", right)):
        # scikit-learn numbers a child after its parent: anything else is out of range or a cycle
        bad = split & ((children <= index) | (children >= node_count))
        if bad.any():
            at = int(index[bad][0])
            raise TreeError(
                f"{field}[{at}]={int(children[at])} is outside ({at}, {node_count}): "
                "out of range or a cycle"
            )
    children = np.concatenate([left[split], right[split]])
    counts = np.bincount(children, minlength=node_count)
    if (counts > 1).any():
        at = int(np.flatnonzero(counts > 1)[0])
        raise TreeError(f"node {at} is the child of {int(counts[at])} nodes, not one")
    bad = split & ((feature < 0) | (feature >= n_features))
    if bad.any():
        at = int(index[bad][0])
        raise TreeError(f"feature[{at}]={int(feature[at])} is outside [0, {n_features})")
    # decision_path sizes its output by max_depth: a tree deeper than it says overflows it.
    # Children come after their parents (checked above), so level by level always ends.
    depth, level = 0, np.array([0])
    while True:
        level = level[split[level]]
        if not level.size:
            break
        depth += 1
        level = np.concatenate([left[level], right[level]])
    if depth > int(tree.max_depth):
        raise TreeError(f"max_depth={int(tree.max_depth)} but its nodes reach depth {depth}")


# --- sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor ------------------------


def _check_predictor(predictor: Any, owner: Any) -> None:
    """The invariants of a histogram-boosting tree (see ``_predictor.pyx`` and ``grower.py``)."""
    import numpy as np
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    nodes = getattr(predictor, "nodes", None)
    if not isinstance(nodes, np.ndarray) or nodes.dtype != PREDICTOR_RECORD_DTYPE:
        kind = getattr(nodes, "dtype", type(nodes).__name__)
        raise TreeError(f"nodes is {kind}, not an array of PREDICTOR_RECORD_DTYPE")
    if nodes.ndim != 1 or len(nodes) == 0:
        raise TreeError(f"nodes has shape {nodes.shape}, expected (n_nodes,) with n_nodes >= 1")
    bitsets = {}
    for field in ("raw_left_cat_bitsets", "binned_left_cat_bitsets"):
        array = getattr(predictor, field, None)
        if not isinstance(array, np.ndarray) or array.ndim != 2 or array.shape[1] != BITSET_WORDS:
            raise TreeError(
                f"{field} has shape {getattr(array, 'shape', None)}, expected (n, {BITSET_WORDS})"
            )
        bitsets[field] = array.shape[0]

    n_features, categorical = _predictor_inputs(owner)
    count = len(nodes)
    index = np.arange(count)
    split = nodes["is_leaf"] == 0
    for field in ("left", "right"):
        children = nodes[field].astype(np.int64)
        bad = split & ((children <= index) | (children >= count))
        if bad.any():
            at = int(index[bad][0])
            raise TreeError(
                f"nodes[{at}].{field}={int(children[at])} is outside ({at}, {count}): "
                "out of range or a cycle"
            )
    children = np.concatenate([nodes["left"][split], nodes["right"][split]]).astype(np.int64)
    counts = np.bincount(children, minlength=count)
    if (counts > 1).any():
        at = int(np.flatnonzero(counts > 1)[0])
        raise TreeError(f"nodes[{at}] is the child of {int(counts[at])} nodes, not one")
    feature = nodes["feature_idx"].astype(np.int64)
    if n_features is None:
        raise TreeError("no enclosing estimator says how many inputs it reads (n_features_in_)")
    bad = split & ((feature < 0) | (feature >= n_features))
    if bad.any():
        at = int(index[bad][0])
        raise TreeError(f"nodes[{at}].feature_idx={int(feature[at])} is outside [0, {n_features})")
    on_category = split & (nodes["is_categorical"] != 0)
    bitset = nodes["bitset_idx"].astype(np.int64)
    for field, rows in bitsets.items():
        bad = on_category & (bitset >= rows)
        if bad.any():
            at = int(index[bad][0])
            raise TreeError(
                f"nodes[{at}].bitset_idx={int(bitset[at])} is outside [0, {rows}) ({field})"
            )
    if categorical is not None:
        bad = on_category & ~categorical[np.clip(feature, 0, len(categorical) - 1)]
        if bad.any():
            at = int(index[bad][0])
            raise TreeError(
                f"nodes[{at}] splits on categories of feature_idx={int(feature[at])}, "
                "which the estimator does not treat as categorical"
            )


def _predictor_inputs(owner: Any) -> tuple[int | None, Any]:
    """How many inputs a boosting's trees read, and which of them are categorical.

    Predict maps a categorical split's feature through the bin mapper's ``is_categorical_``
    (``make_known_categories_bitsets``), so that array must cover every input.
    """
    import numpy as np

    if owner is None or getattr(owner, "n_features_in_", None) is None:
        return None, None
    n_features = int(owner.n_features_in_)
    mapper = getattr(owner, "_bin_mapper", None)
    flags = getattr(mapper, "is_categorical_", None)
    if flags is None:
        return n_features, np.zeros(n_features, dtype=bool)
    flags = np.asarray(flags)
    if flags.shape != (n_features,):
        raise TreeError(
            f"_bin_mapper.is_categorical_ has shape {flags.shape}, expected ({n_features},)"
        )
    return n_features, flags.astype(bool)
