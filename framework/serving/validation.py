"""Request bodies checked against the served model's schema, before any of it reaches the model.

The fields a record must hold, and what each holds, come from the model's own feature schema
through :func:`~framework.features.serving.input_fields`, so the request schema changes with the
served version and never drifts from training. Every way a request can be wrong becomes a
:class:`RequestError` with a status (413 or 422) and, per problem, the record and field it is
about; nothing a client sends may reach the model in a shape that makes it raise.

Values are checked with the very parsers training uses (``pandas.to_numeric`` for numbers sent
as text, ``pandas.to_datetime(..., format="ISO8601")`` for dates), so whatever passes here is
read the same way by :func:`~framework.features.serving.model_inputs`.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from framework.serving.feedback import Label
    from framework.serving.models import LoadedModel

#: Every model type reads float32 at some point (trees do): larger magnitudes become infinity.
LARGEST_NUMBER = 3.4028234663852886e38
#: At most this many problems are listed in one 422 answer.
MAX_LISTED_ERRORS = 20
#: A client-supplied request id: short, printable, safe in logs and headers.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
#: What a request id looks like in /feedback: this server issues ``<uuid4 hex>-<index>``;
#: ids logged by earlier versions may hold a client's id plus an index.
ISSUED_ID = re.compile(r"[A-Za-z0-9._:\-]{1,140}")
#: A feedback item's ``source``: who sent it, in the client's words, safe in logs.
SOURCE = re.compile(r"[A-Za-z0-9._:@/\- ]{1,128}")
#: A correction's ``reason`` holds at most this many characters.
MAX_REASON = 500
#: The default plausible range of a regression label is the training target's range widened by
#: this many spans on each side (``serve.label_margin``).
LABEL_MARGIN = 10.0

_SCALARS = (str, int, float, bool, type(None))


@dataclass
class RequestError(Exception):
    """A request the server will not score: the HTTP status, one line, and the problems."""

    status: int
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body


class Problems:
    """Collects per-record problems; :meth:`raise_if_any` turns them into one 422."""

    def __init__(self, what: str = "record") -> None:
        self.what = what
        self.items: list[dict[str, Any]] = []

    def add(self, index: int, field_name: str | None, message: str) -> None:
        self.items.append({self.what: index, "field": field_name, "error": message})

    def raise_if_any(self, status: int = 422) -> None:
        if not self.items:
            return
        # Text values are parsed in bulk after the first pass: list problems in record order.
        listed = sorted(self.items, key=lambda item: item[self.what])[:MAX_LISTED_ERRORS]
        first = listed[0]
        where = f"{self.what} {first[self.what]}"
        if first["field"] is not None:
            where += f", field '{first['field']}'"
        count = len(self.items)
        more = f" (and {count - 1} more problem(s))" if count > 1 else ""
        raise RequestError(status, f"{where}: {first['error']}{more}", listed)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON; send null for a missing value")


def parse_json(body: bytes) -> Any:
    """The request body as JSON, or a 422 saying why it is not (NaN and Infinity are not JSON)."""
    if not body.strip():
        raise RequestError(422, "the request body is empty; send a JSON object")
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise RequestError(422, "the request body is nested too deeply to be a request") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, too many digits
        message = " ".join(str(error).split())
        raise RequestError(422, f"the request body is not valid JSON: {message}") from None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _body_list(payload: Any, key: str, what: str, limit: int, example: str) -> list[Any]:
    """``payload[key]`` as a non-empty list of at most ``limit`` entries, or a 413/422."""
    if not isinstance(payload, dict):
        raise RequestError(
            422,
            f"the request body must be a JSON object with a '{key}' list, got "
            f"{_type_name(payload)}; send {example}",
        )
    extra = sorted(name for name in payload if name != key)
    if extra:
        raise RequestError(
            422, f"unknown top-level key '{extra[0]}'; the body holds only '{key}': {example}"
        )
    if key not in payload:
        raise RequestError(422, f"the request body has no '{key}' list; send {example}")
    entries = payload[key]
    if not isinstance(entries, list):
        raise RequestError(
            422, f"'{key}' must be a list of {what}s, got {_type_name(entries)}; send {example}"
        )
    if not entries:
        raise RequestError(422, f"'{key}' is empty; send at least one {what}")
    if len(entries) > limit:
        raise RequestError(
            413,
            f"{len(entries)} {what}s in one request; at most {limit} are accepted "
            "(serve.max_records): split the request",
        )
    return entries


def predict_records(payload: Any, max_records: int) -> list[Any]:
    """The ``records`` list of a /predict body (entries are checked by :func:`check_records`)."""
    return _body_list(
        payload, "records", "record", max_records, '{"records": [{"field": value, ...}]}'
    )


def new_request_key() -> str:
    """A fresh request key, a uuid4 as hex: the server's, never the client's.

    Each record's id is ``<key>-<index>`` (:func:`record_ids`), so no client can make two
    logged rows share one (a reused ``X-Request-ID`` once made one label land on both). The
    canary choice of a request is a function of its key, which every recorded id carries
    before its last ``-`` (:func:`~framework.serving.router.routing_key`).
    """
    return _uuid4_hex(1)[0]


def record_ids(key: str, count: int) -> list[str]:
    """One id per record of the request with ``key``: ``<key>-<index>``."""
    return [f"{key}-{index}" for index in range(count)]


def client_request_id(header: str | None) -> str | None:
    """The client's ``X-Request-ID``, checked: logged beside the server's ids and echoed back."""
    if header is None:
        return None
    if not REQUEST_ID.fullmatch(header):
        raise RequestError(
            422,
            "header X-Request-ID must be 1 to 128 letters, digits, '.', '_', ':' or '-', got "
            f"{_short(header)}",
        )
    return header


def _uuid4_hex(count: int) -> list[str]:
    """``count`` random uuid4s as hex, from one read of the OS's random source.

    ``uuid.uuid4()`` reads the source once per id: for 100 records that took ten times as long.
    """
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(byte & 0x0F | 0x40 for byte in raw[6::16])  # version 4
    raw[8::16] = bytes(byte & 0x3F | 0x80 for byte in raw[8::16])  # RFC 4122 variant
    text = raw.hex()
    return [text[start : start + 32] for start in range(0, 32 * count, 32)]


def check_records(records: list[Any], model: LoadedModel) -> list[dict[str, Any]]:
    """Check every record against the model's fields; returns the records as the model reads them.

    Numbers sent as JSON numbers come back as floats; numbers and dates sent as text are left as
    text for :func:`~framework.features.serving.model_inputs` to read, after checking here that
    it will read them. Fields that are not model inputs but were columns of the training data
    (ids, excluded columns, derived features, which are recomputed) are accepted and ignored.

    The records a well-behaved client sends (every field, nothing unknown) are checked a field
    at a time across all of them, in bulk where the field's values all have the types it
    allows; any other record, or field, is checked value by value, which names each problem.
    """
    schema = model.bundle.schema
    check = _RecordCheck(model.fields, schema.target, schema.ignored, schema.derived)
    fields = check.fields
    accepted = fields.keys() | check.known_extra
    cleaned: list[dict[str, Any]] = []
    # Records holding every field and only accepted ones: checked together, field by field.
    whole_indices: list[int] = []
    whole_rows: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        if type(record) is dict and fields.keys() <= record.keys() <= accepted:
            row = dict(record)
            whole_indices.append(index)
            whole_rows.append(row)
            cleaned.append(row)
        elif isinstance(record, dict):
            cleaned.append(check.record(index, record))
        else:
            check.problems.add(
                index,
                None,
                f"a record must be an object of field to value, got {_type_name(record)}",
            )
    if whole_rows:
        check.columns(whole_indices, whole_rows)
    check.parse_text()
    check.problems.raise_if_any()
    return cleaned


#: Value types a field's values may all have to be checked together.
_NONE = type(None)
_NUMBERS = frozenset({float, int, _NONE})
_TEXT = frozenset({str, _NONE})
_PLAIN = frozenset({str, int, bool, _NONE})
_SCALAR_TYPES = frozenset(_SCALARS)


class _RecordCheck:
    """The state of one :func:`check_records` call: problems, and text values to parse in bulk."""

    def __init__(
        self,
        fields: dict[str, str],
        target: str,
        ignored: Iterable[str],
        derived: Iterable[str],
    ) -> None:
        self.fields = fields
        self.target = target
        self.known_extra = ({*ignored, *derived} - set(fields)) - {target}
        self.problems = Problems()
        self.number_text: list[tuple[int, str, str]] = []
        self.date_text: list[tuple[int, str, str]] = []

    def record(self, index: int, record: dict[str, Any]) -> dict[str, Any]:
        """Check one record value by value; returns it as the model reads it."""
        row: dict[str, Any] = {}
        for name, value in record.items():
            self.value(index, name, value, row)
        missing = [name for name in self.fields if name not in record]
        for name in missing:
            self.problems.add(index, name, "missing field; send null for a missing value")
        return row

    def value(self, index: int, name: str, value: Any, row: dict[str, Any]) -> None:
        """Check one value; puts it in ``row`` as the model reads it, or records the problem."""
        kind = self.fields.get(name)
        if kind is None:
            if name == self.target:
                self.problems.add(
                    index, name, f"'{name}' is what the model predicts; send it later to /feedback"
                )
            elif name not in self.known_extra:
                self.problems.add(
                    index, name, f"unknown field; the model reads: {', '.join(self.fields)}"
                )
            elif not isinstance(value, _SCALARS):
                self.problems.add(index, name, f"must be a single value, got {_type_name(value)}")
            else:
                row[name] = value
            return
        checked = _check_value(kind, value)
        if isinstance(checked, _Invalid):
            self.problems.add(index, name, checked.message)
        elif isinstance(checked, _Text):
            (self.number_text if kind == "number" else self.date_text).append((index, name, value))
            row[name] = value
        else:
            row[name] = checked

    def columns(self, indices: Sequence[int], rows: list[dict[str, Any]]) -> None:
        """Check records that hold every field and only accepted ones, a field at a time.

        ``rows`` are copies of the records, at ``indices``; numbers in them become floats.
        """
        for name, kind in self.fields.items():
            values = [row[name] for row in rows]
            types = set(map(type, values))
            if kind == "number" and types <= _NUMBERS:
                numbers = _in_range_floats(values, has_none=_NONE in types)
                if numbers is not None:
                    for row, number in zip(rows, numbers, strict=True):
                        row[name] = number
                    continue
            elif (kind == "text" and types <= _TEXT) or (kind == "any" and types <= _PLAIN):
                continue
            elif kind == "datetime" and types <= _TEXT:
                self.date_text += [
                    (index, name, value)
                    for index, value in zip(indices, values, strict=True)
                    if value is not None
                ]
                continue
            for index, row, value in zip(indices, rows, values, strict=True):
                self.value(index, name, value, row)
        for name in set().union(*rows) - self.fields.keys():  # ids, excluded and derived columns
            values = [row.get(name) for row in rows]
            if set(map(type, values)) <= _SCALAR_TYPES:
                continue
            for index, row, value in zip(indices, rows, values, strict=True):
                if name in row and not isinstance(value, _SCALARS):
                    self.problems.add(
                        index, name, f"must be a single value, got {_type_name(value)}"
                    )

    def parse_text(self) -> None:
        """Parse numbers and dates sent as text in bulk, with the parsers the model uses."""
        import pandas as pd

        if self.number_text:
            parsed = pd.to_numeric(
                pd.Series([v for _, _, v in self.number_text], dtype=object), errors="coerce"
            )
            for (index, name, value), number in zip(self.number_text, parsed, strict=True):
                if not math.isfinite(number):
                    self.problems.add(index, name, f"must be a number, got {_short(value)}")
                elif abs(number) > LARGEST_NUMBER:
                    self.problems.add(
                        index, name, f"{_short(value)} is out of range (at most ±3.4e38)"
                    )
        if self.date_text:
            import numpy as np

            # An array rather than a Series: the same parse, without building Series around it.
            parsed = pd.to_datetime(
                np.array([v for _, _, v in self.date_text], dtype=object),
                errors="coerce",
                utc=True,
                format="ISO8601",
            )
            for position in np.flatnonzero(parsed.isna()):
                index, name, value = self.date_text[position]
                self.problems.add(
                    index,
                    name,
                    f"must be an ISO 8601 date like '2024-01-31' or '2024-01-31T12:00:00', got "
                    f"{_short(value)}",
                )


def _in_range_floats(values: list[Any], has_none: bool) -> list[float | None] | None:
    """``values`` (ints, floats, None) with numbers as floats; None when one is out of range.

    Out of range is NaN, infinity, or beyond ±3.4e38; the caller then checks value by value.
    """
    present = [value for value in values if value is not None] if has_none else values
    try:
        numbers = list(map(float, present))
    except OverflowError:
        return None
    if numbers and (
        not all(map(math.isfinite, numbers)) or max(map(abs, numbers)) > LARGEST_NUMBER
    ):
        return None
    if not has_none:
        return numbers
    converted = iter(numbers)
    return [None if value is None else next(converted) for value in values]


@dataclass(frozen=True)
class _Invalid:
    message: str


@dataclass(frozen=True)
class _Text:
    """Text that the model's parser reads later (numbers and dates as text)."""


def _check_value(kind: str, value: Any) -> Any:
    """A value ready for the model, :class:`_Text` to parse in bulk, or :class:`_Invalid`."""
    if value is None:
        return None
    if isinstance(value, list | dict):
        return _Invalid(f"must be a single value, got {_type_name(value)}")
    if kind == "number":
        if isinstance(value, str):
            return _Text()
        try:
            number = float(value)  # booleans read as 1.0 and 0.0, as training reads them
        except OverflowError:
            return _Invalid(f"{_short(value)} is out of range (at most ±3.4e38)")
        if not math.isfinite(number) or abs(number) > LARGEST_NUMBER:
            return _Invalid(f"{_short(value)} is out of range (at most ±3.4e38)")
        return number
    if kind == "text":
        if not isinstance(value, str):
            return _Invalid(f"must be text, got {_type_name(value)} {_short(value)}")
        return value
    if kind == "datetime":
        if not isinstance(value, str):
            return _Invalid(
                f"must be an ISO 8601 date as text, got {_type_name(value)} {_short(value)}"
            )
        return _Text()
    # "any": only tested for being missing, but still a value JSON can log.
    if isinstance(value, float) and not math.isfinite(value):
        return _Invalid(f"{_short(value)} is not a finite number")
    return value


def check_model_inputs(inputs: pd.DataFrame, model: LoadedModel) -> None:
    """Refuse records whose computed features are out of range (say, a huge ratio).

    Missing values are fine (the model imputes them); infinity or a magnitude beyond float32
    would make the estimator raise, so each is named with the record and the fields behind it.
    Only derived columns are checked: every raw number field was held to the same bound by
    :func:`check_records`, and reaches the model's inputs unchanged.
    """
    import numpy as np

    schema = model.bundle.schema
    derived = [column for column in schema.numeric if column in schema.derived and column in inputs]
    if not derived:
        return
    values = np.column_stack(
        [inputs[column].to_numpy(dtype="float64", na_value=np.nan) for column in derived]
    )
    with np.errstate(invalid="ignore"):
        bad = np.isinf(values) | (np.abs(values) > LARGEST_NUMBER)
    if not bad.any():
        return
    problems = Problems()
    for row, column in zip(*np.nonzero(bad), strict=True):
        name = derived[column]
        sources = _sources(name, schema.derived[name])
        problems.add(
            int(row),
            name,
            f"the derived feature {name} = {schema.derived[name]} is out of range for this "
            f"record; check field(s) {', '.join(sources)}",
        )
    problems.raise_if_any()


def _sources(name: str, expression: str) -> list[str]:
    from framework.features.expressions import parse_expression

    return list(parse_expression(name, expression).column_kinds())


def feedback_items(
    payload: Any,
    max_items: int,
    classes: list[Any] | None,
    regression: bool = False,
    bounds: tuple[float, float] | None = None,
) -> list[Label]:
    """The items of a /feedback body, each a :class:`~framework.serving.feedback.Label`.

    A label equal to a class, or to its text (``"1"`` for class ``1``), is stored as that class,
    so monitoring compares like with like. For a regression model a label is the actual value,
    a finite number within ``bounds`` (the plausible range, :func:`label_bounds`). Without a
    loaded model (``classes`` None and not regression) any single value is kept. An item may
    say it is a ``correction`` (then with a ``reason``) and name its ``source``.
    """
    from framework.serving.feedback import Label

    example = '{"items": [{"request_id": "...", "label": ...}]}'
    items = _body_list(payload, "items", "item", max_items, example)
    problems = Problems("item")
    labels = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.add(index, None, f"an item must be an object, got {_type_name(item)}")
            continue
        for name in sorted(name for name in item if name not in ITEM_FIELDS):
            problems.add(index, name, f"unknown field; an item holds {', '.join(ITEM_FIELDS)}")
        request_id, label = item.get("request_id"), item.get("label")
        if "request_id" not in item:
            problems.add(index, "request_id", "missing field")
        elif not isinstance(request_id, str) or not ISSUED_ID.fullmatch(request_id):
            problems.add(
                index,
                "request_id",
                f"must be a request id /predict answered with, got {_short(request_id)}",
            )
        correction, reason, source = _item_record(index, item, problems)
        if "label" not in item or label is None:
            problems.add(index, "label", "missing label")
            continue
        if not isinstance(label, str | int | float | bool):
            problems.add(index, "label", f"must be a single value, got {_type_name(label)}")
            continue
        if isinstance(label, float) and not math.isfinite(label):
            problems.add(index, "label", f"{_short(label)} is not a label")
            continue
        matched = _actual_value(label, bounds) if regression else _match_class(label, classes)
        if isinstance(matched, _Invalid):
            problems.add(index, "label", matched.message)
            continue
        labels.append(Label(request_id, matched, correction, reason, source))
    problems.raise_if_any()
    return labels


#: The fields a /feedback item may hold.
ITEM_FIELDS = ("request_id", "label", "correction", "reason", "source")


def _item_record(
    index: int, item: dict[str, Any], problems: Problems
) -> tuple[bool, str | None, str | None]:
    """An item's ``correction``, ``reason`` and ``source``, problems recorded."""
    correction = item.get("correction", False)
    if not isinstance(correction, bool):
        problems.add(index, "correction", f"must be true or false, got {_short(correction)}")
        correction = False
    reason = item.get("reason")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        problems.add(index, "reason", f"must be text, got {_short(reason)}")
    elif isinstance(reason, str) and len(reason) > MAX_REASON:
        problems.add(index, "reason", f"is {len(reason)} characters; at most {MAX_REASON}")
    elif correction and reason is None:
        problems.add(index, "reason", "a correction needs a reason: say why the label changes")
    elif not correction and "reason" in item:
        problems.add(index, "reason", 'only a correction has a reason; add "correction": true')
    source = item.get("source")
    if source is not None and (not isinstance(source, str) or not SOURCE.fullmatch(source)):
        problems.add(
            index,
            "source",
            "must be 1 to 128 letters, digits, spaces or '.', '_', ':', '@', '/', '-', got "
            f"{_short(source)}",
        )
        source = None
    return correction, reason, source


def conflict_error(conflicts: Sequence[tuple[int, str]]) -> RequestError:
    """A 409 naming each /feedback item refused as a conflict, the first in its one line."""
    problems = Problems("item")
    for index, message in conflicts:
        problems.add(index, "request_id", message)
    try:
        problems.raise_if_any(409)
    except RequestError as error:
        return error
    raise ValueError("no conflicts to report")


def _actual_value(label: Any, bounds: tuple[float, float] | None = None) -> Any:
    """A regression label: the actual value as a float, finite and within ``bounds``."""
    if isinstance(label, bool) or not isinstance(label, int | float):
        return _Invalid(f"must be the actual value, a number, got {_short(label)}")
    try:
        value = float(label)
    except OverflowError:
        return _Invalid(f"{_short(label)} is out of range (at most ±3.4e38)")
    if not math.isfinite(value) or abs(value) > LARGEST_NUMBER:
        return _Invalid(f"{_short(label)} is out of range (at most ±3.4e38)")
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        return _Invalid(
            f"{value:g} is outside this model's plausible range [{bounds[0]:g}, {bounds[1]:g}] "
            "(serve.label_bounds); send the actual value, or widen serve.label_bounds"
        )
    return value


def label_bounds(
    configured: Any, margin: float, known: tuple[float, float] | None
) -> tuple[float, float] | None:
    """The plausible range of a regression label.

    ``serve.label_bounds`` (``[lo, hi]``) when configured; otherwise the range of the target on
    the model's training rows (kept in its reference profile) widened by ``margin`` spans each
    side: ``[min - margin*span, max + margin*span]``, the span being at least 1.
    None when neither is known: then only non-finite values and magnitudes beyond float32
    are refused.
    """
    if configured is not None:
        low, high = (float(value) for value in configured)
        return low, high
    if known is None:
        return None
    low, high = known
    span = max(high - low, 1.0)
    return low - margin * span, high + margin * span


def _match_class(label: Any, classes: list[Any] | None) -> Any:
    if classes is None:
        return label
    for value in classes:
        if isinstance(label, bool) != isinstance(value, bool):
            continue
        if label == value:
            return value
    for value in classes:
        if str(label) == str(value):
            return value
    return _Invalid(
        f"{_short(label)} is not a class of the model; classes: "
        + ", ".join(repr(value) for value in classes)
    )


def check_label_settings(serve: Any) -> None:
    """ConfigError unless ``serve.label_bounds`` is null or ``[lo, hi]`` (finite, lo < hi)
    and ``serve.label_margin`` a finite number of at least 0."""
    from framework.errors import ConfigError

    bounds = serve.get("label_bounds")
    if bounds is not None:
        try:
            low, high = (float(value) for value in bounds)
        except (TypeError, ValueError):
            raise ConfigError(
                f"serve.label_bounds={_short(bounds)} must be [lo, hi], two numbers, or null"
            ) from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ConfigError(f"serve.label_bounds=[{low:g}, {high:g}] must be finite with lo < hi")
    margin = serve.get("label_margin", LABEL_MARGIN)
    try:
        margin = float(margin)
    except (TypeError, ValueError):
        margin = float("nan")
    if not math.isfinite(margin) or margin < 0:
        raise ConfigError(
            f"serve.label_margin={serve.get('label_margin')!r} must be a number of spans, at "
            "least 0 (e.g. 10)"
        )
