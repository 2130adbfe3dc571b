"""Save and load model artifacts with skops: never pickle, and only types we trust.

The trusted types are fixed here, never read from the artifact: loading a file that asks for
anything else is refused with the type's name. Every load checks the sha256 when one is given,
on the very bytes it then loads (the file is read once). Two trusted types, scikit-learn's tree
``Tree`` and histogram boosting's ``TreePredictor``, are only safe with sound node arrays, so
:func:`load_model` bounds-checks every tree (:mod:`framework.modeling.trees`) before it returns
a model: it is the one gate serve, release, retrain, reproduce and the docker context pass.

A bundle carries its decision rule with it: a binary model trained with
``evaluate.business.optimize_threshold`` predicts the positive class at a probability of at least
its chosen threshold, and evaluation and serving call :meth:`ModelBundle.decide` so both apply
the same rule. Bundles saved before thresholds existed load with none (the estimator's predict).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framework.errors import ArtifactError
from framework.files import sha256_file, write_with
from framework.modeling.schema import FeatureSchema

FORMAT_VERSION = 1

#: The entry skops keeps its object graph in, and the fixed time every entry of a canonical
#: archive carries (zip's earliest date), so the bytes never depend on when a model was saved.
SCHEMA_ENTRY = "schema.json"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

#: Types skops does not trust by default that a Bucle model legitimately holds. The two tree
#: types are trusted only after :func:`~framework.modeling.trees.check_trees` passes.
TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


@dataclass
class ModelBundle:
    """A fitted pipeline, the feature schema it was trained on and its decision threshold.

    ``decision_threshold`` is None for the estimator's own rule (0.5 for a binary model); when
    set, ``positive_label`` is the class it is about.
    """

    pipeline: Any
    schema: FeatureSchema
    decision_threshold: float | None = None
    positive_label: Any = None

    @property
    def regression(self) -> bool:
        return self.schema.regression

    @property
    def classes(self) -> list[Any]:
        """The classes a classifier predicts; empty for a regression model."""
        if self.regression:
            return []
        return [c.item() if hasattr(c, "item") else c for c in self.pipeline.classes_]

    def predict(self, inputs: Any) -> Any:
        """Predicted classes (with the decision threshold), or numbers for a regression model."""
        if self.regression:
            return self.pipeline.predict(inputs)
        return self.decide(self.pipeline.predict_proba(inputs))

    def decide(self, proba: Any) -> Any:
        """Predicted classes from probabilities already computed: the one decision rule.

        Evaluation and serving both need the probabilities anyway, so they decide from them
        rather than calling ``predict`` (which would compute them twice). The positive class wins
        at a probability of at least the decision threshold; without one, the most probable
        class wins, as scikit-learn's ``predict`` does.
        """
        import numpy as np

        classes = np.asarray(self.pipeline.classes_)
        if self.decision_threshold is None:
            return classes[np.asarray(proba).argmax(axis=1)]
        self.check_decision_rule()
        positive = self.classes.index(self.positive_label)
        chosen = np.where(proba[:, positive] >= self.decision_threshold, positive, 1 - positive)
        return classes[chosen]

    def check_decision_rule(self) -> None:
        """A threshold only makes sense for a binary model that predicts its positive class."""
        if self.decision_threshold is None:
            return
        classes = self.classes
        if len(classes) != 2 or self.positive_label not in classes:
            raise ArtifactError(
                f"model has a decision threshold for class {self.positive_label!r} but predicts "
                f"{classes}; re-run the train stage"
            )


def save_model(path: Path, bundle: ModelBundle) -> str:
    """Write the bundle atomically in skops' canonical form; returns the file's sha256.

    Identical inputs give identical bytes (:func:`canonical_skops`), so the store and registry
    deduplicate by hash, ``dvc.lock`` does not change on a rerun and ``bucle runs reproduce``
    can say "bit-identical".
    """
    import skops.io as sio

    payload = {
        "format": FORMAT_VERSION,
        "schema": bundle.schema.to_dict(),
        "pipeline": bundle.pipeline,
        "decision": {
            "threshold": None
            if bundle.decision_threshold is None
            else float(bundle.decision_threshold),
            "positive_label": bundle.positive_label,
        },
    }
    data = canonical_skops(sio.dumps(payload))
    write_with(path, lambda temporary: Path(temporary).write_bytes(data))
    return sha256_file(path)


def canonical_skops(data: bytes) -> bytes:
    """Rewrite a skops archive so identical models give identical bytes.

    skops names each node by ``id()`` of the Python object (``__id__`` and the ``<id>.npy``
    entry names), names bytes entries by a random uuid, and stamps every zip entry with the
    current time. Ids are renumbered 1, 2, … and entry files 0.npy, 1.npy, … in the order the
    schema first mentions them (the order skops writes, a function of the model); entries are
    written in that order with a fixed date and fixed attributes. Cached nodes keep pointing at
    the node they name, so the archive loads exactly as skops wrote it.
    """
    import io
    import json
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read(SCHEMA_ENTRY))
        entries = {name: archive.read(name) for name in archive.namelist()}
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def renumber(node: Any) -> Any:
        if isinstance(node, list):
            return [renumber(item) for item in node]
        if not isinstance(node, dict):
            return node
        result = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int) and not isinstance(value, bool):
                result[key] = ids.setdefault(value, len(ids) + 1)
            elif key == "file" and isinstance(value, str) and value in entries:
                suffix = Path(value).suffix
                result[key] = files.setdefault(value, f"{len(files)}{suffix}")
            else:
                result[key] = renumber(value)
        return result

    canonical = renumber(schema)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for original, name in files.items():
            _write_entry(archive, name, entries[original])
        _write_entry(archive, SCHEMA_ENTRY, json.dumps(canonical, indent=2).encode())
    return buffer.getvalue()


def _write_entry(archive: Any, name: str, content: bytes) -> None:
    import zipfile

    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    info.create_system = 3
    archive.writestr(info, content)


def load_model(path: Path, sha256: str | None = None) -> ModelBundle:
    """Load a bundle, refusing a wrong hash, a corrupt file, an untrusted type or a bad tree.

    The file is read once: the hash is checked on those bytes and skops loads those same bytes,
    so nothing can swap the file between the check and the load. This is the one gate every
    model passes (serve, release, retrain, reproduce, the docker context): a model whose trees
    would send scikit-learn's compiled predict outside its arrays is refused here, before any
    caller can predict with it.
    """
    import skops.io as sio

    from framework.modeling.trees import TreeError, check_trees

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"model artifact {path} does not exist; run the train stage")
    data = path.read_bytes()
    if sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise ArtifactError(
                f"model artifact {path} has sha256 {actual[:12]}…, expected {sha256[:12]}…; "
                "it was modified or corrupted — re-register the model or restore the file"
            )
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as error:
        raise ArtifactError(
            f"model artifact {path} is not a readable skops file ({type(error).__name__}); "
            "re-run the train stage"
        ) from error
    refused = [name for name in untrusted if name not in TRUSTED_TYPES]
    if refused:
        raise ArtifactError(
            f"model artifact {path} holds type(s) Bucle does not trust: {', '.join(refused)}; "
            "refusing to load it"
        )
    try:
        payload = sio.loads(data, trusted=list(untrusted))
    except Exception as error:
        raise ArtifactError(
            f"model artifact {path} cannot be loaded: {type(error).__name__}: "
            f"{' '.join(str(error).split())}"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise ArtifactError(
            f"model artifact {path} is not a Bucle model (format {FORMAT_VERSION}); "
            "re-run the train stage"
        )
    try:
        check_trees(payload.get("pipeline"))
    except TreeError as error:
        raise ArtifactError(
            f"model artifact {path} is refused: {error}; its trees are not ones scikit-learn "
            "built — re-run the train stage and register the model again"
        ) from None
    decision = payload.get("decision") or {}
    return ModelBundle(
        payload["pipeline"],
        FeatureSchema.from_dict(payload["schema"]),
        decision.get("threshold"),
        decision.get("positive_label"),
    )
