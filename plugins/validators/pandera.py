"""The ``pandera`` validator: a pandera ``DataFrameSchema`` declared in config, its failures
reported and quarantined like the built-in rules.

Teams that already write pandera schemas keep their vocabulary: each column takes pandera's own
``Column`` arguments (``dtype``, ``nullable``, ``unique``, ``required``, ``coerce``) and
``checks``, a mapping from a built-in ``pandera.Check`` name to its argument (``ge: 18``,
``isin: [basic, premium]``, ``in_range: {min_value: 0, max_value: 1}``). Every declared check
becomes one :class:`~framework.records.CheckResult` filed under a data-quality dimension: value
checks and types under accuracy, ``nullable: false`` and required columns under completeness,
uniqueness under consistency. A failure pandera pins to rows quarantines those rows; one it
cannot (a whole column of the wrong type, a missing column) fails the stage, as a dataset-level
check of the rules validator does.

``str_matches`` and ``str_contains`` run on RE2 (``google-re2``), a linear-time engine, instead
of pandera's own checks on Python's backtracking ``re``: a pattern in config is data, and
``(a+)+$`` against a near miss would otherwise stall the stage for ever. RE2 has no
backreferences or lookaround; a pattern that uses them is a config error naming the check.

pandera is an optional extra (``pip install bucle[pandera]``), imported when this plugin is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from framework import hookimpl
from framework.errors import ConfigError, PluginError, did_you_mean
from framework.records import CheckResult

COLUMN_KEYS = ("dtype", "nullable", "unique", "required", "coerce", "checks", "description")
#: pandera's built-in checks by the names its ``Check`` class gives them (aliases included).
CHECKS = (
    "eq",
    "equal_to",
    "ne",
    "not_equal_to",
    "gt",
    "greater_than",
    "ge",
    "greater_than_or_equal_to",
    "lt",
    "less_than",
    "le",
    "less_than_or_equal_to",
    "in_range",
    "between",
    "isin",
    "notin",
    "str_matches",
    "str_contains",
    "str_startswith",
    "str_endswith",
    "str_length",
    "unique_values_eq",
)
SAMPLE = 5  # failure cases quoted in a check's detail
#: Checks whose argument is a regular expression, run on RE2: name -> the pattern method used.
PATTERN_CHECKS = {"str_matches": "match", "str_contains": "search"}


class PanderaValidator:
    """Validates the ingested table against the schema in ``validate.pandera``."""

    def __init__(
        self,
        columns: Mapping[str, Mapping[str, Any]] | None = None,
        unique: list[str] | None = None,
        strict: bool = False,
        coerce: bool = False,
    ) -> None:
        try:
            import pandera.pandas as pa
        except ImportError as error:
            raise PluginError(
                f"validator 'pandera' needs pandera, which is not installed ({error.name}); "
                "install it with `pip install bucle[pandera]`"
            ) from None
        self.columns = {str(name): dict(spec or {}) for name, spec in (columns or {}).items()}
        self.unique = [str(column) for column in unique] if unique else None
        self.declared: list[tuple[str, str | None, str, str]] = []  # name, column, key, dimension
        schema_columns = {name: self._column(pa, name, spec) for name, spec in self.columns.items()}
        if self.unique:
            self.declared.append(("keys:unique", None, "unique", "consistency"))
        self.schema = pa.DataFrameSchema(
            schema_columns,
            strict=bool(strict),
            coerce=bool(coerce),
            unique=self.unique,
            report_duplicates="exclude_first",
        )

    def _column(self, pa: Any, name: str, spec: dict[str, Any]) -> Any:
        where = f"validate.pandera.columns.{name}"
        unknown = [key for key in spec if key not in COLUMN_KEYS]
        if unknown:
            raise ConfigError(
                f"{where}.{unknown[0]} is not a pandera column argument; use one of "
                f"{', '.join(COLUMN_KEYS)}{did_you_mean(str(unknown[0]), COLUMN_KEYS)}"
            )
        checks = []
        for check_name, argument in dict(spec.get("checks") or {}).items():
            checks.append(self._check(pa, where, str(check_name), argument))
            self.declared.append((f"{name}:{check_name}", name, str(check_name), "accuracy"))
        if spec.get("dtype") is not None:
            self.declared.append((f"{name}:dtype", name, "dtype", "accuracy"))
        if not spec.get("nullable", False):
            self.declared.append((f"{name}:not_null", name, "not_nullable", "completeness"))
        if spec.get("unique", False):
            self.declared.append((f"{name}:unique", name, "field_uniqueness", "consistency"))
        if spec.get("required", True):
            self.declared.append((f"{name}:present", name, "column_in_dataframe", "completeness"))
        try:
            return pa.Column(
                spec.get("dtype"),
                checks=checks,
                nullable=bool(spec.get("nullable", False)),
                unique=bool(spec.get("unique", False)),
                report_duplicates="exclude_first",  # the first of a repeated value is kept
                required=bool(spec.get("required", True)),
                coerce=bool(spec.get("coerce", False)),
                description=spec.get("description"),
            )
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{where}: {error}; see docs/pandera.md") from None

    @staticmethod
    def _check(pa: Any, where: str, name: str, argument: Any) -> Any:
        if name not in CHECKS:
            raise ConfigError(
                f"{where}.checks.{name} is not a built-in pandera check; use one of "
                f"{', '.join(CHECKS)}{did_you_mean(name, CHECKS)}"
            )
        if name in PATTERN_CHECKS:
            return _pattern_check(pa, f"{where}.checks.{name}", name, argument)
        factory = getattr(pa.Check, name)
        try:
            if isinstance(argument, Mapping):
                return factory(**dict(argument))
            if isinstance(argument, list | tuple):
                return factory(list(argument))
            return factory(argument)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{where}.checks.{name}={argument!r}: {error}") from None

    @hookimpl
    def validate_data(self, frame: Any, target: str) -> list[CheckResult]:
        import pandera.pandas as pa

        failures: dict[str, list[tuple[Any, Any]]] = {name: [] for name, *_ in self.declared}
        try:
            self.schema.validate(frame.reset_index(drop=True), lazy=True)
        except pa.errors.SchemaErrors as errors:
            for case in errors.failure_cases.to_dict("records"):
                name = self._declared_name(case)
                failures.setdefault(name, []).append((case.get("index"), case.get("failure_case")))
        results = []
        dimensions = {name: dimension for name, _, _, dimension in self.declared}
        columns = {name: column for name, column, _, _ in self.declared}
        for name, cases in failures.items():
            rows = sorted({int(index) for index, _ in cases if _present(index)})
            whole = any(not _present(index) for index, _ in cases)
            shown = ", ".join(repr(value) for _, value in cases[:SAMPLE])
            more = f" and {len(cases) - SAMPLE} more" if len(cases) > SAMPLE else ""
            results.append(
                CheckResult(
                    name=name,
                    passed=not cases,
                    column=columns.get(name),
                    failed_rows=tuple(rows),
                    detail=f"failure cases: {shown}{more}" if cases else "",
                    level="dataset" if whole else "row",
                    dimension=dimensions.get(name, "consistency"),
                )
            )
        return results

    def _declared_name(self, case: dict[str, Any]) -> str:
        """The declared check a pandera failure case belongs to."""
        column, check = case.get("column"), str(case.get("check"))
        if case.get("schema_context") == "DataFrameSchema":
            if check == "column_in_dataframe":
                return f"{case.get('failure_case')}:present"
            if check == "multiple_fields_uniqueness":
                return "keys:unique"
            return f"schema:{check.split('(')[0]}"  # strict: a column not in the schema
        if check.startswith(("dtype(", "coerce_dtype(")):
            return f"{column}:dtype"
        if check == "not_nullable":
            return f"{column}:not_null"
        if check == "field_uniqueness":
            return f"{column}:unique"
        number = case.get("check_number")
        names = list(dict(self.columns.get(str(column), {}).get("checks") or {}))
        if _present(number) and int(number) < len(names):
            return f"{column}:{names[int(number)]}"
        return f"{column}:{check.split('(')[0]}"


def _pattern_check(pa: Any, where: str, name: str, pattern: Any) -> Any:
    """pandera's ``str_matches``/``str_contains`` with the same meaning, evaluated by RE2."""
    import re2

    if not isinstance(pattern, str):
        raise ConfigError(f"{where}={pattern!r}: expected a regular expression as text")
    options = re2.Options()
    options.log_errors = False  # RE2 would print its parse error to stderr as well
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as error:
        raise ConfigError(f"{where}={pattern!r}: {_pattern_problem(pattern, error)}") from None
    find = getattr(compiled, PATTERN_CHECKS[name])

    def check(values: Any) -> Any:
        return values.map(lambda value: isinstance(value, str) and find(value) is not None)

    return pa.Check(check, name=name, error=f"{name}('{pattern}')")


def _pattern_problem(pattern: str, error: Exception) -> str:
    """Why RE2 refused a pattern, in the words of the fix."""
    import re

    try:
        re.compile(pattern)
    except re.error as invalid:
        return f"not a valid pattern ({invalid}); fix the regular expression"
    feature = "backreferences" if re.search(r"\\[1-9]|\(\?P=", pattern) else None
    if feature is None and re.search(r"\(\?<?[=!]", pattern):
        feature = "lookaround"
    reason = error.args[0] if error.args else error
    if isinstance(reason, bytes):
        reason = reason.decode(errors="replace")
    return (
        f"uses {feature or 'a construct'}, which RE2 (the linear-time engine Bucle runs config "
        f"patterns on) does not support ({reason}); rewrite it without {feature or 'it'}"
    )


def _present(value: Any) -> bool:
    """False for pandera's missing row index (None or NaN): a failure of the whole column."""
    return value is not None and value == value
