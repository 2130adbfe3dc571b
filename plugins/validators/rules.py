"""The built-in ``rules`` validator: per-column rules and a freshness check, declared in config.

A project states what its raw table must look like (``validate=rules``)::

    columns:
      customer_id: {type: int, not_null: true, unique: true}
      age: {type: int, min: 18, max: 120}
      plan: {allowed: [basic, pro, enterprise]}
      signup_date: {type: datetime, min: "2015-01-01"}
    freshness: {column: last_active_at, max_age_days: 3}

Every rule becomes one :class:`~framework.records.CheckResult` named ``"<column>:<rule>"`` whose
``failed_rows`` are the positions the validate stage quarantines. Each rule checks one thing, so
a report says precisely what is wrong with a row: ``min``, ``max``, ``allowed`` and ``type``
ignore missing values (that is ``not_null``'s job), and ``min``/``max`` also ignore values they
cannot read as a number or date (that is ``type``'s job).

pandas is imported inside the methods that use it: ``bucle plugins`` imports this module only to
list the plugin, and that must stay fast.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from framework import hookimpl
from framework.errors import ConfigError
from framework.records import CheckResult

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CONFIG_PATH = "validate.rules"
RULES = ("allowed", "max", "min", "not_null", "type", "unique")
TYPES = ("bool", "datetime", "float", "int", "number", "str")
FRESHNESS_KEYS = ("as_of", "column", "max_age_days")

# Strings a ``type: bool`` column may hold: CSV exports and JSON payloads spell booleans as text.
_BOOL_WORDS = frozenset({"true", "false"})


class RulesValidator:
    """Checks a table against per-column rules and a freshness requirement from config.

    The constructor validates the whole configuration, so a misspelt rule fails when the plugin
    is built, before any data is read, instead of silently checking nothing.
    """

    def __init__(
        self,
        columns: Mapping[str, Mapping[str, Any]] | None = None,
        freshness: Mapping[str, Any] | None = None,
    ) -> None:
        self.columns = _parse_columns(_plain(columns))
        self.freshness = _parse_freshness(_plain(freshness))

    @hookimpl
    def validate_data(self, frame: pd.DataFrame, target: str) -> list[CheckResult]:
        """Run every configured check on ``frame``; passed checks are returned too."""
        results: list[CheckResult] = []
        for column, rules in self.columns.items():
            if column not in frame.columns:
                results.append(_missing_column(column, rules, frame))
                continue
            series = frame[column]
            for rule, value in rules.items():
                results.append(_CHECKS[rule](column, series, value))
        if self.freshness is not None:
            results.append(_check_freshness(frame, **self.freshness))
        return results


# ---------------------------------------------------------------------------------------------
# Config parsing: every mistake is caught here, with the key path and a fix.
# ---------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Turn omegaconf containers into dicts and lists, so the rest only sees plain Python."""
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _is_number(value: Any) -> bool:
    """True for ints and floats (numpy's too), False for bools, which YAML users mean as flags."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _parse_date(value: Any, where: str) -> dt.datetime:
    """Read an ISO date bound; timezone-aware values become naive UTC like the data does."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(
                f"{where}: {value!r} is not an ISO date; write it like '2024-01-31' "
                "or '2024-01-31T12:00:00'"
            ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _parse_columns(columns: Any) -> dict[str, dict[str, Any]]:
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise ConfigError(
            f"{CONFIG_PATH}.columns: expected a mapping of column name to rules, got "
            f"{columns!r}; write it like {{age: {{min: 0, max: 120}}}}"
        )
    return {str(name): _parse_rules(str(name), rules) for name, rules in columns.items()}


def _parse_rules(column: str, rules: Any) -> dict[str, Any]:
    where = f"{CONFIG_PATH}.columns.{column}"
    if not isinstance(rules, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping of rules like {{type: int, min: 0}}, got {rules!r}"
        )
    parsed: dict[str, Any] = {}
    for key, value in rules.items():
        if key not in RULES:
            raise ConfigError(
                f"{where}: unknown rule {key!r}; accepted rules: {', '.join(RULES)}"
                + _did_you_mean(str(key), RULES)
            )
        parsed[key] = _parse_rule(f"{where}.{key}", key, value)
    # Rules switched off with ``false`` are kept out, so no result claims they were checked.
    parsed = {key: value for key, value in parsed.items() if value is not False}
    _check_bounds(where, parsed)
    return parsed


def _parse_rule(where: str, rule: str, value: Any) -> Any:
    if rule == "type":
        if value not in TYPES:
            raise ConfigError(
                f"{where}: unknown type {value!r}; accepted types: {', '.join(TYPES)}"
                + _did_you_mean(str(value), TYPES)
            )
        return value
    if rule in ("not_null", "unique"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if rule == "allowed":
        if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
            raise ConfigError(
                f"{where}: expected a non-empty list of values like [basic, pro], got {value!r}"
            )
        return list(value)
    # min / max: a number, or a date for datetime columns.
    if _is_number(value):
        if math.isnan(value):
            raise ConfigError(f"{where}: the bound is NaN; give a number or an ISO date")
        return value
    if isinstance(value, str | dt.date):
        return _parse_date(value, where)
    raise ConfigError(f"{where}: expected a number or an ISO date string, got {value!r}")


def _check_bounds(where: str, rules: dict[str, Any]) -> None:
    """Bounds must agree with each other and with the declared type, or the check is vacuous."""
    bounds = {key: rules[key] for key in ("min", "max") if key in rules}
    if not bounds:
        return
    kinds = {"date" if isinstance(v, dt.datetime) else "number" for v in bounds.values()}
    if len(kinds) > 1:
        raise ConfigError(
            f"{where}: min is {_show(rules['min'])} but max is {_show(rules['max'])}; "
            "give both as numbers or both as ISO dates"
        )
    kind = kinds.pop()
    declared = rules.get("type")
    if declared in ("str", "bool"):
        raise ConfigError(
            f"{where}: min/max do not apply to type {declared}; "
            "use allowed: [...] or remove the bounds"
        )
    if declared == "datetime" and kind == "number":
        raise ConfigError(
            f"{where}: min/max of a datetime column must be ISO dates like '2024-01-31', "
            f"got {next(iter(bounds.values()))!r}"
        )
    if declared in ("int", "float", "number") and kind == "date":
        raise ConfigError(
            f"{where}: min/max of a {declared} column must be numbers, "
            f"got {next(iter(bounds.values())).isoformat()!r}"
        )
    if len(bounds) == 2 and bounds["min"] > bounds["max"]:
        raise ConfigError(
            f"{where}: min ({_show(bounds['min'])}) is above max ({_show(bounds['max'])}); "
            "swap them"
        )


def _parse_freshness(freshness: Any) -> dict[str, Any] | None:
    where = f"{CONFIG_PATH}.freshness"
    if freshness is None:
        return None
    if not isinstance(freshness, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping like {{column: updated_at, max_age_days: 3}}, "
            f"got {freshness!r}"
        )
    for key in freshness:
        if key not in FRESHNESS_KEYS:
            raise ConfigError(
                f"{where}: unknown key {key!r}; accepted keys: {', '.join(FRESHNESS_KEYS)}"
                + _did_you_mean(str(key), FRESHNESS_KEYS)
            )
    column = freshness.get("column")
    if not isinstance(column, str) or not column:
        raise ConfigError(
            f"{where}.column: expected the name of a date column, got {column!r}; "
            "add column: <name>"
        )
    max_age = freshness.get("max_age_days")
    if not _is_number(max_age) or not max_age >= 0:
        raise ConfigError(f"{where}.max_age_days: expected a number of days >= 0, got {max_age!r}")
    as_of = freshness.get("as_of")
    if as_of is not None:
        as_of = _parse_date(as_of, f"{where}.as_of")
    return {"column": column, "max_age_days": float(max_age), "as_of": as_of}


# ---------------------------------------------------------------------------------------------
# Conversions shared by the checks. Datetimes are compared as naive UTC throughout.
# ---------------------------------------------------------------------------------------------


def _as_datetime(series: pd.Series) -> pd.Series:
    """The column as naive-UTC datetimes; unreadable values (and plain numbers) become NaT.

    Text is read as ISO 8601 only: guessing other formats row by row is slow on a million rows
    and silently ambiguous (is 01/02 January or February?).
    """
    import pandas as pd

    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(series.dtype):
        return series
    if pd.api.types.is_numeric_dtype(series.dtype):
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    parsed = pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601")
    return parsed.dt.tz_localize(None)


def _as_float(series: pd.Series) -> np.ndarray:
    """The column as float64; values that are not numbers become NaN."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
        series.dtype
    ):
        return np.full(len(series), np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _show(value: Any) -> str:
    """A value as a reader expects to see it in a one-line detail."""
    import pandas as pd

    if isinstance(value, dt.datetime | pd.Timestamp):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    if hasattr(value, "item"):  # numpy scalars print as their Python value
        return _show(value.item())
    return str(value)


def _row_result(
    column: str, rule: str, series: pd.Series, failed: np.ndarray, problem: str, ok: str
) -> CheckResult:
    """One row-level result; ``problem`` reads "{n} values above 120" before the example."""
    import numpy as np

    positions = np.flatnonzero(failed)
    if len(positions) == 0:
        return CheckResult(name=f"{column}:{rule}", passed=True, column=column, detail=ok)
    count = len(positions)
    noun = "value" if count == 1 else "values"
    example = _show(series.iloc[int(positions[0])])
    return CheckResult(
        name=f"{column}:{rule}",
        passed=False,
        column=column,
        failed_rows=tuple(positions.tolist()),
        detail=f"{count} {noun} {problem}, e.g. {example}",
    )


# ---------------------------------------------------------------------------------------------
# The checks, one per rule. Each takes (column name, column, the rule's configured value).
# ---------------------------------------------------------------------------------------------


def _check_not_null(column: str, series: pd.Series, _: bool) -> CheckResult:
    import numpy as np

    failed = series.isna().to_numpy()
    count = int(failed.sum())
    if count == 0:
        return CheckResult(
            name=f"{column}:not_null", passed=True, column=column, detail="no missing values"
        )
    noun = "value is" if count == 1 else "values are"
    return CheckResult(
        name=f"{column}:not_null",
        passed=False,
        column=column,
        failed_rows=tuple(np.flatnonzero(failed).tolist()),
        detail=f"{count} {noun} missing",
    )


def _check_unique(column: str, series: pd.Series, _: bool) -> CheckResult:
    # The first occurrence is kept: it is as good as any, and quarantining every copy would drop
    # data that a deduplication upstream would have kept.
    failed = (series.duplicated(keep="first") & series.notna()).to_numpy()
    return _row_result(column, "unique", series, failed, "repeat an earlier row", "no repeats")


def _check_allowed(column: str, series: pd.Series, allowed: list) -> CheckResult:
    failed = (~series.isin(allowed) & series.notna()).to_numpy()
    listed = ", ".join(_show(v) for v in allowed)
    return _row_result(
        column, "allowed", series, failed, f"not in [{listed}]", f"every value in [{listed}]"
    )


def _check_bound(column: str, series: pd.Series, bound: Any, rule: str) -> CheckResult:
    import numpy as np
    import pandas as pd

    if isinstance(bound, dt.datetime):
        values = _as_datetime(series)
        limit = pd.Timestamp(bound)
        # NaT compares False both ways, so missing and unreadable values never fail a bound.
        failed = (values < limit if rule == "min" else values > limit).to_numpy()
    else:
        values = _as_float(series)
        with np.errstate(invalid="ignore"):
            failed = values < bound if rule == "min" else values > bound
    word = "below" if rule == "min" else "above"
    return _row_result(
        column, rule, series, failed, f"{word} {_show(bound)}", f"no values {word} {_show(bound)}"
    )


def _check_min(column: str, series: pd.Series, bound: Any) -> CheckResult:
    return _check_bound(column, series, bound, "min")


def _check_max(column: str, series: pd.Series, bound: Any) -> CheckResult:
    return _check_bound(column, series, bound, "max")


def _check_type(column: str, series: pd.Series, expected: str) -> CheckResult:
    # Missing values are not_null's business: a type failure always names a present value.
    present = series.notna().to_numpy()
    wrong = _TYPE_TESTS[expected](series) & present
    article = "an" if expected == "int" else "a"
    return _row_result(
        column,
        "type",
        series,
        wrong,
        f"not {article} {expected}",
        f"every value is {article} {expected}",
    )


def _wrong_number(series: pd.Series) -> np.ndarray:
    import numpy as np

    return np.isnan(_as_float(series))


def _wrong_int(series: pd.Series) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_integer_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return np.zeros(len(series), dtype=bool)
    values = _as_float(series)
    with np.errstate(invalid="ignore"):
        # NaN and inf fail here; 2.0 passes, since it is an int stored as a float (any int column
        # with a missing value is read as float by pandas).
        return ~np.isfinite(values) | (values != np.floor(values))


def _wrong_str(series: pd.Series) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(
        series.dtype
    ):
        return np.zeros(len(series), dtype=bool)
    if pd.api.types.is_object_dtype(series.dtype) or isinstance(series.dtype, pd.CategoricalDtype):
        if pd.api.types.infer_dtype(series, skipna=True) == "string":
            return np.zeros(len(series), dtype=bool)
        is_text = series.map(lambda value: isinstance(value, str)).to_numpy(dtype=bool)
        return ~is_text
    return np.ones(len(series), dtype=bool)


def _wrong_bool(series: pd.Series) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        return np.zeros(len(series), dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = _as_float(series)
        return ~((values == 0) | (values == 1))

    def readable(value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return True
        if isinstance(value, str):
            return value.strip().lower() in _BOOL_WORDS
        return _is_number(value) and value in (0, 1)

    return ~series.map(readable).to_numpy(dtype=bool)


def _wrong_datetime(series: pd.Series) -> np.ndarray:
    return _as_datetime(series).isna().to_numpy()


_TYPE_TESTS = {
    "bool": _wrong_bool,
    "datetime": _wrong_datetime,
    "float": _wrong_number,
    "int": _wrong_int,
    "number": _wrong_number,
    "str": _wrong_str,
}

_CHECKS = {
    "allowed": _check_allowed,
    "max": _check_max,
    "min": _check_min,
    "not_null": _check_not_null,
    "type": _check_type,
    "unique": _check_unique,
}


# ---------------------------------------------------------------------------------------------
# Dataset-level checks: they fail the stage rather than quarantine rows.
# ---------------------------------------------------------------------------------------------


def _missing_column(column: str, rules: dict, frame: pd.DataFrame) -> CheckResult:
    # One result, not one per rule: the fix is the same (rename or drop the column in config).
    return CheckResult(
        name=f"{column}:present",
        passed=False,
        column=column,
        detail=(
            f"column {column!r} is not in the data, so its rules ({', '.join(rules) or 'none'}) "
            f"were not checked; the data has {_list_columns(frame)}"
        ),
        level="dataset",
    )


def _list_columns(frame: pd.DataFrame, limit: int = 20) -> str:
    names = [str(name) for name in frame.columns]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _check_freshness(
    frame: pd.DataFrame, column: str, max_age_days: float, as_of: dt.datetime | None
) -> CheckResult:
    import pandas as pd

    name = f"freshness:{column}"
    if column not in frame.columns:
        return CheckResult(
            name=name,
            passed=False,
            column=column,
            level="dataset",
            detail=f"column {column!r} is not in the data; the data has {_list_columns(frame)}",
        )
    newest = _as_datetime(frame[column]).max()
    if pd.isna(newest):
        return CheckResult(
            name=name,
            passed=False,
            column=column,
            level="dataset",
            detail=f"column {column!r} holds no readable dates",
        )
    if as_of is None:
        as_of = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    reference = pd.Timestamp(as_of)
    age_days = (reference - newest).total_seconds() / 86400
    passed = age_days <= max_age_days
    return CheckResult(
        name=name,
        passed=passed,
        column=column,
        level="dataset",
        detail=(
            f"newest value {_show(newest)} is {age_days:.1f} days before {_show(reference)}; "
            f"at most {_show(max_age_days)} allowed"
        ),
    )
