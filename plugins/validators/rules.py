"""The built-in ``rules`` validator: column rules, cross-column rules and freshness, from config.

A project states what its raw table must look like (``validate=rules``)::

    columns:
      customer_id: {type: str, not_null: true, unique: true}
      age: {type: int, min: 18, max: 120, max_missing: 0.10}
      plan: {allowed: [basic, pro, enterprise], canonical: true}
      signup_date: {type: datetime, min: "2015-01-01"}
    consistency:
      active_after_signup: last_active_at >= signup_date
    keys: [customer_id, signup_date]
    freshness: {column: last_active_at, max_age_days: 3}

Every rule becomes one :class:`~framework.records.CheckResult` filed under a data-quality
dimension:

- accuracy: ``type``, ``min``, ``max``, ``allowed`` (``"<column>:<rule>"``);
- completeness: ``not_null`` (rows), ``max_missing`` (the column's missing share, a dataset
  check) and ``"<column>:present"`` when a configured column is absent;
- consistency: ``unique``, ``canonical`` (one spelling per category), ``"keys:<a>+<b>"`` (a
  composite key) and ``"consistency:<name>"`` (a cross-column expression);
- timeliness: ``"freshness:<column>"``.

Row checks' ``failed_rows`` are the positions the validate stage quarantines; dataset checks fail
the stage. Each rule checks one thing, so a report says precisely what is wrong with a row:
``min``, ``max``, ``allowed``, ``type``, ``canonical``, ``keys`` and the consistency rules ignore
missing values (that is ``not_null``'s and ``max_missing``'s job), and ``min``/``max`` also
ignore values they cannot read as a number or date (that is ``type``'s job).

Consistency rules are written in the expression language of derived features
(:mod:`framework.features.expressions`), so a team learns one small, safe language. One addition
for validation: a date column used outside a date function reads as days since 1970-01-01, so
``last_active_at >= signup_date`` compares dates and ``end - start <= 365`` subtracts them.

pandas is imported inside the methods that use it: ``bucle plugins`` imports this module only to
list the plugin, and that must stay fast.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from framework import hookimpl
from framework.errors import BucleError, ConfigError, did_you_mean
from framework.features import expressions
from framework.features.expressions import DerivedFeature, parse_expression
from framework.records import CheckResult

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CONFIG_PATH = "validate.rules"
RULES = ("allowed", "canonical", "max", "max_missing", "min", "not_null", "type", "unique")
#: The data-quality dimension each column rule is filed under.
RULE_DIMENSIONS = {
    "allowed": "accuracy",
    "max": "accuracy",
    "min": "accuracy",
    "type": "accuracy",
    "max_missing": "completeness",
    "not_null": "completeness",
    "canonical": "consistency",
    "unique": "consistency",
}
TYPES = ("bool", "datetime", "float", "int", "number", "str")
FRESHNESS_KEYS = ("as_of", "column", "max_age_days")

# Strings a ``type: bool`` column may hold: CSV exports and JSON payloads spell booleans as text.
_BOOL_WORDS = frozenset({"true", "false"})
# Words YAML 1.1 (PyYAML, so OmegaConf and Hydra) reads as booleans when they are not quoted.
_YAML_BOOLEANS = {True: ("yes", "true", "on"), False: ("no", "false", "off")}


class RulesValidator:
    """Checks a table against column rules, cross-column rules, a key and freshness from config.

    The constructor validates the whole configuration (consistency expressions included), so a
    misspelt rule fails when the plugin is built, before any data is read, instead of silently
    checking nothing.
    """

    def __init__(
        self,
        columns: Mapping[str, Mapping[str, Any]] | None = None,
        consistency: Mapping[str, str] | None = None,
        keys: Sequence[str] | None = None,
        freshness: Mapping[str, Any] | None = None,
    ) -> None:
        self.columns = _parse_columns(_plain(columns))
        self.consistency = _parse_consistency(_plain(consistency))
        self.keys = _parse_keys(_plain(keys))
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
                result = _CHECKS[rule](column, series, value)
                results.append(dataclasses.replace(result, dimension=RULE_DIMENSIONS[rule]))
        if self.keys:
            results.append(_check_keys(frame, self.keys))
        for rule in self.consistency.values():
            results.append(_check_consistency(frame, rule))
        if self.freshness is not None:
            results.append(_check_freshness(frame, **self.freshness))
        results.extend(_check_finite(frame))
        return results


# ---------------------------------------------------------------------------------------------
# Config parsing: every mistake is caught here, with the key path and a fix.
# ---------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Turn omegaconf containers into dicts and lists, so the rest only sees plain Python."""
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


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
                + did_you_mean(str(key), RULES)
            )
        parsed[key] = _parse_rule(f"{where}.{key}", key, value)
    # Rules switched off with ``false`` are kept out, so no result claims they were checked.
    parsed = {key: value for key, value in parsed.items() if value is not False}
    _check_bounds(where, parsed)
    if parsed.get("type") == "str" and any(isinstance(v, bool) for v in parsed.get("allowed", ())):
        raise ConfigError(
            f"{where}.allowed: {_show_booleans(parsed['allowed'])} were read as booleans (YAML "
            "reads unquoted yes/no/on/off/true/false that way) but the column is type str; "
            f"quote them: allowed: [{_quoted(parsed['allowed'], [])}]"
        )
    return parsed


def _parse_rule(where: str, rule: str, value: Any) -> Any:
    if rule == "type":
        if value not in TYPES:
            raise ConfigError(
                f"{where}: unknown type {value!r}; accepted types: {', '.join(TYPES)}"
                + did_you_mean(str(value), TYPES)
            )
        return value
    if rule in ("canonical", "not_null", "unique"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if rule == "max_missing":
        if not _is_number(value) or not 0 <= value <= 1:
            raise ConfigError(
                f"{where}: expected the largest share of missing values allowed, a number from "
                f"0 to 1 like 0.05, got {value!r}"
            )
        return float(value)
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


def _parse_consistency(consistency: Any) -> dict[str, DerivedFeature]:
    """Parse every cross-column rule with the derived-features parser, under our config path."""
    where = f"{CONFIG_PATH}.consistency"
    if consistency is None:
        return {}
    if not isinstance(consistency, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping of rule name to expression, got {consistency!r}; "
            "write it like {active_after_signup: last_active_at >= signup_date}"
        )
    rules: dict[str, DerivedFeature] = {}
    for name, expression in consistency.items():
        name = str(name)
        if not name.strip() or ";" in name:
            raise ConfigError(
                f"{where}: rule name {name!r} cannot be empty or hold ';' (the quarantine file "
                "separates the checks a row broke with ';'); rename it like active_after_signup"
            )
        rules[name] = parse_expression(name, expression, section=f"{CONFIG_PATH}.consistency")
    return rules


def _parse_keys(keys: Any) -> tuple[str, ...]:
    where = f"{CONFIG_PATH}.keys"
    if keys is None:
        return ()
    if (
        isinstance(keys, str | bytes)
        or not isinstance(keys, Sequence)
        or not all(isinstance(key, str) and key for key in keys)
    ):
        raise ConfigError(
            f"{where}: expected a list of column names like [customer_id, order_date], got {keys!r}"
        )
    repeated = sorted({key for key in keys if list(keys).count(key) > 1})
    if repeated:
        raise ConfigError(f"{where}: column {repeated[0]!r} is listed twice in {list(keys)}")
    return tuple(keys)


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
                + did_you_mean(str(key), FRESHNESS_KEYS)
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
    _refuse_booleans_for_text(column, series, allowed)
    failed = (~series.isin(allowed) & series.notna()).to_numpy()
    listed = ", ".join(_show(v) for v in allowed)
    return _row_result(
        column, "allowed", series, failed, f"not in [{listed}]", f"every value in [{listed}]"
    )


def _refuse_booleans_for_text(column: str, series: pd.Series, allowed: list) -> None:
    """Refuse ``allowed: [Yes, No]`` on a text column: YAML made them booleans.

    The config cannot be read back as text: YAML keeps no spelling (``Yes``, ``yes``, ``ON``
    all became ``True``), and guessing one would let spellings the user never listed pass. So
    the user is asked to quote them, with the list to write, spelt as the column spells them.
    """
    if not any(isinstance(value, bool) for value in allowed):
        return
    texts = [value for value in series.dropna().unique() if isinstance(value, str)]
    if not texts:
        return  # a boolean column: true/false are what the user meant
    raise ConfigError(
        f"{CONFIG_PATH}.columns.{column}.allowed: {_show_booleans(allowed)} were read as "
        "booleans (YAML reads unquoted yes/no/on/off/true/false that way) but column "
        f"'{column}' holds text; quote them: allowed: [{_quoted(allowed, texts)}]"
    )


def _show_booleans(allowed: list) -> str:
    return ", ".join(str(value).lower() for value in allowed if isinstance(value, bool))


def _quoted(allowed: list, texts: list[str]) -> str:
    """``allowed`` as quoted YAML, each boolean spelt as the data spells it (``'Yes'``)."""
    written = []
    for value in allowed:
        if isinstance(value, bool):
            words = _YAML_BOOLEANS[value]
            spelt = [text for text in texts if text.strip().lower() in words]
            written += spelt or [words[0]]
        else:
            written.append(str(value))
    return ", ".join(repr(text) for text in dict.fromkeys(written))


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


def _check_max_missing(column: str, series: pd.Series, max_share: float) -> CheckResult:
    # A dataset check: a column that is mostly empty is a broken feed, not a few bad rows, and
    # quarantining every row with a gap would throw away the rows the imputer is there for.
    rows = len(series)
    missing = int(series.isna().sum())
    share = missing / rows if rows else 0.0
    return CheckResult(
        name=f"{column}:max_missing",
        passed=share <= max_share,
        column=column,
        level="dataset",
        detail=(f"{_percent(share)} missing ({missing} of {rows} rows), max {_percent(max_share)}"),
    )


def _check_canonical(column: str, series: pd.Series, _: bool) -> CheckResult:
    """One spelling per category: "North" and " north" are flagged when "north" is commoner.

    Spellings that are equal after stripping whitespace and lower-casing name one category; the
    most frequent spelling is canonical (ties go to the already-normalised spelling, then to the
    first in sort order, so the choice never depends on row order). The work is done on the
    distinct values, not the rows, so a million rows cost one ``value_counts``.
    """
    import numpy as np
    import pandas as pd

    name = f"{column}:canonical"
    counts = series.value_counts(dropna=True, sort=False)
    counts = counts[counts > 0]  # a categorical column counts its unused categories as 0
    is_text = np.array([isinstance(value, str) for value in counts.index], dtype=bool)
    table = pd.DataFrame(
        {"spelling": list(counts.index[is_text]), "count": counts.to_numpy()[is_text]}
    )
    if table.empty:
        return CheckResult(name=name, passed=True, column=column, detail="no text values")
    table["key"] = table["spelling"].str.strip().str.lower()
    table["normal"] = table["spelling"] == table["key"]
    table = table.sort_values(
        ["key", "count", "normal", "spelling"], ascending=[True, False, False, True]
    )
    table["canonical"] = table.groupby("key", sort=False)["spelling"].transform("first")
    variants = table[table["spelling"] != table["canonical"]]
    if variants.empty:
        return CheckResult(
            name=name, passed=True, column=column, detail="one spelling per category"
        )
    failed = series.isin(list(variants["spelling"])).to_numpy(dtype=bool)
    positions = np.flatnonzero(failed)
    groups = sorted(
        variants.groupby("canonical", sort=True),
        key=lambda item: -int(item[1]["count"].sum()),
    )
    described = [
        " and ".join(f"{_show(v)} ({c})" for v, c in zip(g["spelling"], g["count"], strict=True))
        + f" for {_show(canonical)}"
        for canonical, g in groups[:3]
    ]
    more = f"; and {len(groups) - 3} more categories" if len(groups) > 3 else ""
    noun = "value spells its category" if len(positions) == 1 else "values spell their category"
    return CheckResult(
        name=name,
        passed=False,
        column=column,
        failed_rows=tuple(positions.tolist()),
        detail=(
            f"{len(positions)} {noun} differently from the most common spelling: "
            + "; ".join(described)
            + more
        ),
    )


def _percent(share: float) -> str:
    """A share as a short percentage: 0.072 -> '7.2%', 0.05 -> '5%', never a misleading 0%."""
    if 0 < share < 0.001:
        return "<0.1%"
    if 0.999 < share < 1:
        return ">99.9%"
    return f"{share * 100:.1f}".removesuffix(".0") + "%"


def _check_finite(frame: pd.DataFrame) -> list[CheckResult]:
    """``inf``/``-inf`` in any numeric column, configured or not, target included: those rows
    are quarantined (``"<column>:finite"``, accuracy), as the server refuses them, instead of
    reaching a model fit that fails on them. Only columns holding one are reported."""
    import numpy as np
    import pandas as pd

    results = []
    for column in frame.columns:
        series = frame[column]
        if not pd.api.types.is_float_dtype(series.dtype):
            continue
        failed = np.isinf(series.to_numpy(dtype="float64", na_value=np.nan))
        if failed.any():
            result = _row_result(
                str(column), "finite", series, failed, "infinite (inf or -inf)", "all finite"
            )
            results.append(dataclasses.replace(result, dimension="accuracy"))
    return results


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
    "canonical": _check_canonical,
    "max": _check_max,
    "max_missing": _check_max_missing,
    "min": _check_min,
    "not_null": _check_not_null,
    "type": _check_type,
    "unique": _check_unique,
}


# ---------------------------------------------------------------------------------------------
# Dataset-level checks: they fail the stage rather than quarantine rows.
# ---------------------------------------------------------------------------------------------


def _dataset_failure(
    name: str, dimension: str, detail: str, column: str | None = None
) -> CheckResult:
    """A failed dataset check: data the check cannot run on fails the stage, not its rows."""
    return CheckResult(
        name=name,
        passed=False,
        column=column,
        level="dataset",
        dimension=dimension,
        detail=detail,
    )


def _missing_column(column: str, rules: dict, frame: pd.DataFrame) -> CheckResult:
    # One result, not one per rule: the fix is the same (rename or drop the column in config).
    return _dataset_failure(
        f"{column}:present",
        "completeness",
        f"column {column!r} is not in the data, so its rules ({', '.join(rules) or 'none'}) "
        f"were not checked; the data has {_list_columns(frame)}",
        column=column,
    )


def _check_keys(frame: pd.DataFrame, keys: tuple[str, ...]) -> CheckResult:
    """Rows after the first with the same key tuple fail; a key with a missing part is skipped."""
    name = f"keys:{'+'.join(keys)}"
    shown = ", ".join(keys)
    absent = [key for key in keys if key not in frame.columns]
    if absent:
        return _dataset_failure(
            name,
            "consistency",
            f"key column {absent[0]!r} is not in the data, so the key ({shown}) was not "
            f"checked; the data has {_list_columns(frame)}",
        )
    subset = frame[list(keys)]
    failed = (subset.duplicated(keep="first") & subset.notna().all(axis=1)).to_numpy()
    if not failed.any():
        return CheckResult(
            name=name, passed=True, dimension="consistency", detail=f"no repeated ({shown})"
        )
    positions = failed.nonzero()[0]
    count = len(positions)
    example = ", ".join(_show(value) for value in subset.iloc[int(positions[0])])
    noun = "row repeats" if count == 1 else "rows repeat"
    return CheckResult(
        name=name,
        passed=False,
        failed_rows=tuple(positions.tolist()),
        dimension="consistency",
        detail=f"{count} {noun} the key ({shown}) of an earlier row, e.g. ({example})",
    )


def _check_consistency(frame: pd.DataFrame, rule: DerivedFeature) -> CheckResult:
    """A row fails when the rule's expression is false; a row it cannot judge never fails.

    A row cannot be judged when the expression gives a missing value or reads a missing value:
    missing values are ``not_null``'s and ``max_missing``'s business, and quarantining them here
    too would blame one gap on two checks.
    """
    import numpy as np

    name = f"consistency:{rule.name}"
    absent = [column for column in rule.columns if column not in frame.columns]
    if absent:
        return _dataset_failure(
            name,
            "consistency",
            f"{rule.expression!r} reads column {absent[0]!r}, which is not in the data; "
            f"the data has {_list_columns(frame)}",
        )
    read = frame[list(rule.columns)]
    try:
        values = rule.evaluate(_expression_inputs(read, rule)).to_numpy(dtype="float64")
    except BucleError as error:
        # Data the rule cannot compute on (text in arithmetic, say) is a finding, not a crash.
        return _dataset_failure(name, "consistency", str(error).split(": ", 1)[-1])
    unknown = np.isnan(values) | read.isna().any(axis=1).to_numpy(dtype=bool)
    failed = (values == 0) & ~unknown
    if not failed.any():
        return CheckResult(
            name=name, passed=True, dimension="consistency", detail=f"{rule.expression} holds"
        )
    positions = np.flatnonzero(failed)
    count = len(positions)
    row = read.iloc[int(positions[0])]
    in_order = sorted(rule.columns, key=lambda column: _first_use(rule.expression, column))
    example = ", ".join(f"{column}={_show(row[column])}" for column in in_order[:4])
    noun = "row breaks" if count == 1 else "rows break"
    return CheckResult(
        name=name,
        passed=False,
        failed_rows=tuple(positions.tolist()),
        dimension="consistency",
        detail=f"{count} {noun} {rule.expression}, e.g. {example}",
    )


def _first_use(expression: str, column: str) -> int:
    """Where ``column`` first appears, so an example lists columns as the rule reads them."""
    found = re.search(rf"\b{re.escape(column)}\b", expression)
    return found.start() if found else len(expression)


def _expression_inputs(read: pd.DataFrame, rule: DerivedFeature) -> pd.DataFrame:
    """The columns a rule reads, with dates used outside a date function as days since 1970.

    Derived features refuse arithmetic on dates; a validation rule needs to compare them
    (``last_active_at >= signup_date``). Days keep differences readable (``end - start <= 30``).
    A column passed to a date function (``days_between``) must stay a date, so one that is used
    both ways is left alone and the expression's own error explains it.
    """
    bare, dated = _name_uses(rule.expression)
    inputs = read.copy()
    for column in sorted((bare - dated) & set(rule.columns)):
        series = inputs[column]
        if _holds_dates(series):
            inputs[column] = _as_days(series)
    return inputs


def _name_uses(expression: str) -> tuple[set[str], set[str]]:
    """(columns read as values, columns passed to date functions) in an already-checked rule."""
    bare: set[str] = set()
    dated: set[str] = set()

    def walk(node: ast.AST) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            reads_dates = node.func.id in expressions.DATE_FUNCTIONS
            for argument in node.args:
                if reads_dates and isinstance(argument, ast.Name):
                    dated.add(argument.id)
                else:
                    walk(argument)
        elif isinstance(node, ast.Name):
            bare.add(node.id)
        else:
            for child in ast.iter_child_nodes(node):
                walk(child)

    walk(ast.parse(expression.strip(), mode="eval").body)
    return bare, dated


def _holds_dates(series: pd.Series) -> bool:
    """True for datetime columns, and for text columns whose every present value is an ISO date
    and not a plain number (a CSV keeps dates as text)."""
    import pandas as pd

    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
        series.dtype
    ):
        return True
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return False
    present = series.dropna()
    if present.empty or pd.to_numeric(present, errors="coerce").notna().all():
        return False
    return bool(_as_datetime(present).notna().all())


def _as_days(series: pd.Series) -> pd.Series:
    """Dates as float days since 1970-01-01; missing dates become NaN."""
    import pandas as pd

    return (_as_datetime(series) - pd.Timestamp(0)) / pd.Timedelta(days=1)


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
        return _dataset_failure(
            name,
            "timeliness",
            f"column {column!r} is not in the data; the data has {_list_columns(frame)}",
            column=column,
        )
    newest = _as_datetime(frame[column]).max()
    if pd.isna(newest):
        return _dataset_failure(
            name, "timeliness", f"column {column!r} holds no readable dates", column=column
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
        dimension="timeliness",
        detail=(
            f"newest value {_show(newest)} is {age_days:.1f} days before {_show(reference)}; "
            f"at most {_show(max_age_days)} allowed"
        ),
    )
