"""The served model: the version an alias points at, checked against its sha256, swapped in live.

The registry says which version an alias names and which sha256 it was registered with; the
store hands back the file; :func:`~framework.modeling.artifact.load_model` re-checks the hash,
so a third-party store that skips the check still cannot feed the server a modified artifact.
A version that fails to load is refused with its reason, which ``/ready`` and ``/model`` show.

:class:`ModelSlot` follows the alias: a background thread re-reads it every ``poll_seconds``
and, when it moves, loads the new version *first* and then replaces one reference. A request
takes that reference once when it starts, so requests in flight finish on the model they
started with and none waits for a load.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framework.errors import ArtifactError, BucleError
from framework.modeling.artifact import ModelBundle, load_model
from framework.records import ModelVersion

logger = logging.getLogger("bucle.serving")


@dataclass(frozen=True)
class LoadedModel:
    """A registered version loaded and ready to predict, with the request fields it reads."""

    name: str
    alias: str
    version: ModelVersion
    bundle: ModelBundle
    fields: dict[str, str]
    loaded_at: str
    #: A regression target's lowest and highest value on the training rows (from the model's
    #: reference profile): what the default plausible range of a label is built on.
    target_range: tuple[float, float] | None = None

    @property
    def number(self) -> int:
        return int(self.version.version)

    @property
    def sha256(self) -> str:
        return self.version.sha256

    @property
    def classes(self) -> list[Any]:
        return self.bundle.classes

    @property
    def regression(self) -> bool:
        return self.bundle.regression

    def score(self, records: list[Any]) -> tuple[list[Any], list[dict[str, float]]]:
        """Check raw records, build inputs as training did, predict: (classes, probabilities),
        or for a regression model (numbers, empty probabilities).

        Raises :class:`~framework.serving.validation.RequestError` for input the model must not
        see; the feature code is :func:`~framework.features.serving.model_inputs`, the same as
        training's.
        """
        from framework.errors import DataError
        from framework.features.serving import model_inputs
        from framework.serving.validation import RequestError, check_model_inputs, check_records

        cleaned = check_records(records, self)
        try:
            inputs = model_inputs(cleaned, self.bundle.schema)
        except DataError as error:
            raise RequestError(422, str(error)) from None
        check_model_inputs(inputs, self)
        if self.regression:
            values = [float(value) for value in self.bundle.pipeline.predict(inputs)]
            return values, [{} for _ in values]
        proba = self.bundle.pipeline.predict_proba(inputs)
        classes = [str(value) for value in self.classes]
        probabilities = [dict(zip(classes, map(float, row), strict=True)) for row in proba]
        return self.bundle.decide(proba).tolist(), probabilities

    def describe(self) -> dict[str, Any]:
        """What ``/model`` says about this version."""
        bundle = self.bundle
        return {
            "version": self.number,
            "sha256": self.sha256,
            "run_id": self.version.run_id,
            "created_at": self.version.created_at,
            "loaded_at": self.loaded_at,
            "task": bundle.schema.task,
            "classes": self.classes,
            "decision_threshold": bundle.decision_threshold,
            "positive_label": bundle.positive_label,
            "fields": self.fields,
        }


def load_version(host: Any, name: str, alias: str, version: ModelVersion) -> LoadedModel:
    """Fetch ``version``'s artifact from the store and load it, checking its registered sha256."""
    from framework.features.serving import input_fields

    path = host.hook.get_artifact(sha256=version.sha256)
    if path is None:
        raise ArtifactError(
            f"the artifact store returned nothing for {name} v{version.version} "
            f"(sha256 {version.sha256[:12]}…); check the store plugin"
        )
    bundle = load_model(Path(path), sha256=version.sha256)
    try:
        bundle.check_decision_rule()
    except ArtifactError as error:
        raise ArtifactError(f"{name} v{version.version}: {error}") from None
    return LoadedModel(
        name=name,
        alias=alias,
        version=version,
        bundle=bundle,
        fields=input_fields(bundle.schema),
        loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        target_range=target_range(host, version) if bundle.regression else None,
    )


def target_range(host: Any, version: ModelVersion) -> tuple[float, float] | None:
    """Lowest and highest target value on the training rows, from the version's reference
    profile (registered with the version and checked against its sha256).

    A profile written before the target was kept gives the range of the predictions on the
    held-out rows instead. None (and a warning) when the profile is missing or unreadable:
    serving does not depend on it, labels then get only the hard bound.
    """
    from framework.files import sha256_file
    from framework.monitoring.profile import ReferenceProfile

    sha256 = (version.lineage or {}).get("profile_sha256")
    try:
        path = host.hook.get_artifact(sha256=sha256) if sha256 else None
        if path is None or sha256_file(Path(path)) != sha256:
            raise ArtifactError("the reference profile is missing or does not match its sha256")
        profile = ReferenceProfile.load(path)
        known = profile.target or profile.predictions
        if known is None or known.min is None or known.max is None:
            raise ArtifactError("the reference profile has no target or prediction range")
        return float(known.min), float(known.max)
    except Exception as error:
        logger.warning(
            "v%s: no default label range (%s); set serve.label_bounds to bound labels",
            version.version,
            error,
        )
        return None


class ModelSlot:
    """The model that answers now, or the reason none does; follows a registry alias.

    The served alias' slot keeps its model when the alias disappears (an accident must not take
    production down); a challenger's slot (``optional``) unloads it, because removing the
    challenger alias is how a release ends a canary or a shadow.
    """

    def __init__(
        self, host: Any, name: str, alias: str, poll_seconds: float, optional: bool = False
    ) -> None:
        self.host = host
        self.name = name
        self.alias = alias
        self.poll_seconds = poll_seconds
        #: A challenger's slot: an unset alias is normal and unloads the model it held.
        self.optional = optional
        #: The loaded model requests use; replaced as a whole, never modified.
        self.current: LoadedModel | None = None
        #: Why the alias' version is not the one serving (None when it is).
        self.problem: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        """Re-read the alias; load and swap in its version when it differs from the current one."""
        try:
            wanted = self.host.hook.get_model_alias(name=self.name, alias=self.alias)
        except Exception as error:  # a locked or broken registry must not stop the server
            self._set_problem(f"cannot read the registry: {type(error).__name__}: {error}")
            return
        if wanted is None:
            if self.optional:
                if self.current is not None:
                    logger.info(
                        "alias '%s' was removed; %s v%d unloaded",
                        self.alias,
                        self.name,
                        self.current.number,
                    )
                self.current = None
                self._set_problem(None)
            elif self.current is None:
                self._set_problem(
                    f"no version of model '{self.name}' has alias '{self.alias}' in the "
                    f"registry; promote one with `bucle models promote VERSION --alias "
                    f"{self.alias}`"
                )
            else:
                self._set_problem(
                    f"alias '{self.alias}' is no longer set; still serving v{self.current.number}"
                )
            return
        current = self.current
        if current is not None and (current.number, current.sha256) == (
            wanted.version,
            wanted.sha256,
        ):
            self._set_problem(None)
            return
        try:
            loaded = load_version(self.host, self.name, self.alias, wanted)
        except BucleError as error:
            self._refuse(wanted, str(error))
            return
        except Exception as error:  # skops or a store plugin failing in a way we did not foresee
            self._refuse(wanted, f"{type(error).__name__}: {error}")
            return
        # The swap: one reference assignment. Requests that already hold the old model keep it.
        self.current = loaded
        self._set_problem(None)
        before = f" (was v{current.number})" if current is not None else ""
        logger.info(
            "serving %s v%d (%s, sha256 %s…)%s",
            self.name,
            loaded.number,
            self.alias,
            loaded.sha256[:12],
            before,
        )

    def start(self) -> None:
        """Poll the alias in a background thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="bucle-model-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, self.poll_seconds * 2))
            self._thread = None

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.refresh()

    def _refuse(self, wanted: ModelVersion, reason: str) -> None:
        if self.current is None:
            self._set_problem(f"refused to load {self.name} v{wanted.version}: {reason}")
        else:
            self._set_problem(
                f"refused to load {self.name} v{wanted.version}: {reason}; "
                f"still serving v{self.current.number}"
            )

    def _set_problem(self, problem: str | None) -> None:
        # Log a problem once when it appears, not on every poll.
        if problem is not None and problem != self.problem:
            logger.error("%s", problem)
        self.problem = problem
