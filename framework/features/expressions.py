"""Derived features declared in config as small, safe arithmetic expressions.

A project writes ``features.derived`` as name: expression pairs::

    derived:
      avg_spend: "total_spend / n_orders"
      tenure_days: "days_between(signup_date, last_active_at)"
      big_spender: "where(avg_spend > 100, 1, 0)"
      age_band: "bucket(age, 30, 45, 60)"

:func:`compute_features` is the one function both training and serving call, so a model never
sees a feature computed two different ways. The same rule drives the semantics: a feature's
dtype depends only on its expression, never on the data, so a one-row serving request gets the
dtype training saw (float64, or int64 0/1 for comparisons and ``is_missing``).

Expressions are parsed with :mod:`ast` and walked against an allow-list of nodes; nothing is ever
passed to ``eval``. A config file is data, and must not be able to run code on the training or
serving machine.

pandas and numpy are imported inside the functions that compute; parsing needs neither, so
validating a config stays light.
"""

from __future__ import annotations

import ast
import difflib
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from framework.errors import ConfigError, DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CONFIG_PATH = "features.derived"

# name -> (smallest, largest) number of arguments; None means "any number from the smallest".
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "abs": (1, 1),
    "clip": (3, 3),
    "log": (1, 1),
    "log1p": (1, 1),
    "exp": (1, 1),
    "sqrt": (1, 1),
    "min": (2, None),
    "max": (2, None),
    "where": (3, 3),
    "year": (1, 1),
    "month": (1, 1),
    "day": (1, 1),
    "dayofweek": (1, 1),
    "hour": (1, 1),
    "days_between": (2, 2),
    "is_missing": (1, 1),
    "bucket": (2, None),
}
# These read dates, so their arguments must be columns: an arithmetic result is never a date.
DATE_FUNCTIONS = frozenset({"year", "month", "day", "dayofweek", "hour", "days_between"})
# bucket(x, edge1, edge2, ...): the edges are fixed numbers, so the bands mean the same thing on
# every row, in training and at serving time; a column as an edge would make them move.
BUCKET_EXAMPLE = "bucket(age, 30, 45, 60)"

ALLOWED = (
    "allowed: column names, numbers, + - * / // % **, comparisons, and, or, not, "
    f"and the functions {', '.join(FUNCTIONS)}"
)

# Size limits: a config is data, so an expression must not be able to exhaust the parser's
# recursion (Python's own limit is about 1,000 frames; each level of nesting costs a few) or make
# every request pay for a monster. Real features stay far below them.
MAX_LENGTH = 1000  # characters
MAX_DEPTH = 64  # operations nested inside one another
MAX_NODES = 256  # names, numbers, operations and calls in all
QUOTED = 80  # characters of an expression quoted in an error message

_BINARY_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)

# What a forbidden node is called in an error message, in the words of someone writing config.
_FORBIDDEN = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Slice: "slices",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.IfExp: "an if/else expression (use where(cond, a, b))",
    ast.NamedExpr: "an assignment",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.Dict: "a dict",
    ast.JoinedStr: "text strings",
    ast.Starred: "argument unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
_OPERATOR_HINTS = {
    ast.BitAnd: "the operator '&' (use 'and')",
    ast.BitOr: "the operator '|' (use 'or')",
    ast.BitXor: "the operator '^' (use ** for powers)",
    ast.Invert: "the operator '~' (use 'not')",
    ast.MatMult: "the operator '@'",
    ast.LShift: "the operator '<<'",
    ast.RShift: "the operator '>>'",
    ast.In: "the operator 'in'",
    ast.NotIn: "the operator 'not in'",
    ast.Is: "the operator 'is' (use ==, or is_missing(x) for missing values)",
    ast.IsNot: "the operator 'is not' (use !=, or is_missing(x) for missing values)",
}


@dataclass(frozen=True)
class DerivedFeature:
    """One validated derived feature: its name, its expression and the columns it reads.

    Build it with :func:`parse_expression`, which rejects anything outside the allow-list; the
    parsed tree is kept so evaluating a million rows does not re-parse.
    """

    name: str
    expression: str
    columns: tuple[str, ...]
    _tree: ast.Expression = field(repr=False, compare=False)
    #: The config section the expression is written in, for error messages.
    section: str = CONFIG_PATH

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """Compute the feature for every row of ``frame``, as a Series on ``frame``'s index.

        Results are finite or NaN: division by zero, ``log``/``sqrt`` outside their domain and
        overflow all give NaN, never inf or an exception, because one odd row must not crash a
        serving request or poison a training run with infinities.
        """
        import numpy as np
        import pandas as pd

        missing = [column for column in self.columns if column not in frame.columns]
        if missing:
            column = missing[0]
            available = [str(name) for name in frame.columns]
            raise ConfigError(
                f"{self._where}: {self.expression!r} reads column {column!r}, which is not in "
                f"the data; available columns: {_list(available)}"
                + _did_you_mean(column, available)
            )
        evaluator = _Evaluator(self, frame)
        with np.errstate(all="ignore"):
            value = evaluator.visit(self._tree.body)
        values = np.broadcast_to(np.asarray(value), (len(frame),))
        if values.dtype == bool:
            values = values.astype("int64")
        else:
            values = values.astype("float64")  # always a copy: broadcast_to returns a view
            values[~np.isfinite(values)] = np.nan
        return pd.Series(values, index=frame.index, name=self.name)

    def column_kinds(self) -> dict[str, str]:
        """What each column the expression reads must hold: ``number`` where it is used in
        arithmetic, else ``datetime`` where a date function reads it, else ``any`` (only tested
        with ``is_missing``). Serving uses it to say which raw fields a request needs.
        """
        uses: dict[str, set[str]] = {column: set() for column in self.columns}
        read_by_call: set[int] = set()
        for node in ast.walk(self._tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                read_by_call.add(id(node.func))
                for argument in node.args:
                    if isinstance(argument, ast.Name):
                        read_by_call.add(id(argument))
                        if node.func.id in DATE_FUNCTIONS:
                            uses[argument.id].add("datetime")
                        elif node.func.id == "is_missing":
                            uses[argument.id].add("any")
                        else:
                            uses[argument.id].add("number")
        for node in ast.walk(self._tree):
            if isinstance(node, ast.Name) and id(node) not in read_by_call:
                uses[node.id].add("number")
        return {
            column: next(kind for kind in ("number", "datetime", "any") if kind in kinds)
            for column, kinds in uses.items()
        }

    @property
    def _where(self) -> str:
        return f"{self.section}.{self.name}"


def parse_expression(name: str, expression: str, section: str = CONFIG_PATH) -> DerivedFeature:
    """Check ``expression`` against the allow-list and return the feature it defines.

    Raises :class:`~framework.errors.ConfigError` naming ``section.name``, the offending
    construct and what is allowed instead; ``section`` lets another config section written in
    this language (``validate.rules.consistency``) get errors that point at itself.
    """
    where = f"{section}.{name}"
    if not isinstance(expression, str) or not expression.strip():
        raise ConfigError(
            f"{where}: expected an expression like 'total_spend / n_orders', got {expression!r}"
        )
    if len(expression.strip()) > MAX_LENGTH:
        raise ConfigError(
            f"{where}: {_quoted(expression)} is longer than {MAX_LENGTH} characters; "
            "split it into several features that build on each other"
        )
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        text = expression.strip()
        place = (
            f" at character {error.offset}" if error.offset and error.offset <= len(text) else ""
        )
        raise ConfigError(
            f"{where}: {_quoted(expression)} is not a valid expression ({error.msg}{place}); "
            "write it like 'total_spend / n_orders'"
        ) from None
    except (RecursionError, MemoryError):
        raise ConfigError(
            f"{where}: {expression!r} is nested too deeply; split it into several features"
        ) from None
    _check_size(tree.body, where, expression)
    columns: set[str] = set()
    _check_node(tree.body, where, expression, columns)
    return DerivedFeature(name, expression, tuple(sorted(columns)), tree, section)


def compute_features(frame: pd.DataFrame, derived: Mapping[str, str]) -> pd.DataFrame:
    """Return a copy of ``frame`` with every derived feature added, in the order declared.

    A feature may read the features declared before it. Every expression is checked before any
    is computed, so a typo in the last one fails fast instead of after minutes of work.
    """
    features = [parse_expression(str(name), expression) for name, expression in derived.items()]
    result = frame.copy()
    for feature in features:
        if feature.name in frame.columns:
            raise ConfigError(
                f"{feature._where}: the data already has a column named {feature.name!r}; "
                "give the derived feature another name"
            )
        result[feature.name] = feature.evaluate(result)
    return result


# ---------------------------------------------------------------------------------------------
# Parsing: walk the tree and refuse anything not explicitly allowed.
# ---------------------------------------------------------------------------------------------


def _quoted(expression: str) -> str:
    """``expression`` quoted for an error message, cut short so the message stays one line."""
    text = expression.strip()
    return repr(text if len(text) <= QUOTED else text[:QUOTED] + "...")


def _refuse(where: str, expression: str, what: str) -> ConfigError:
    return ConfigError(
        f"{where}: {_quoted(expression)} uses {what}, which is not allowed; {ALLOWED}"
    )


def _check_size(tree: ast.AST, where: str, expression: str) -> None:
    """Refuse an expression nested deeper or larger than the limits, walking without recursion
    (the recursive checks and evaluation below rely on this having passed)."""
    pending, count = [(tree, 1)], 0
    while pending:
        node, depth = pending.pop()
        if isinstance(node, ast.operator | ast.unaryop | ast.boolop | ast.cmpop | ast.expr_context):
            continue  # an operator's token, not a level of nesting
        count += 1
        if depth > MAX_DEPTH:
            raise ConfigError(
                f"{where}: {_quoted(expression)} nests more than {MAX_DEPTH} operations inside "
                "one another; split it into several features that build on each other"
            )
        if count > MAX_NODES:
            raise ConfigError(
                f"{where}: {_quoted(expression)} has more than {MAX_NODES} names, numbers and "
                "operations; split it into several features that build on each other"
            )
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check_node(node: ast.AST, where: str, expression: str, columns: set[str]) -> None:
    def check(child: ast.AST) -> None:
        _check_node(child, where, expression, columns)

    if isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise _refuse(where, expression, f"the name {node.id!r}")
        columns.add(node.id)
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            what = "text strings" if isinstance(value, str | bytes) else f"the constant {value!r}"
            raise _refuse(where, expression, what)
        try:
            finite = math.isfinite(float(value))
        except OverflowError:  # an int literal beyond any float: 400 digits, say
            finite = False
        if not finite:
            digits = len(str(value))
            raise ConfigError(
                f"{where}: {_quoted(expression)} holds a number too large for a float "
                f"({digits} digits); use a smaller number"
            )
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINARY_OPERATORS):
            raise _refuse(where, expression, _describe(node.op))
        check(node.left)
        check(node.right)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.UAdd | ast.USub | ast.Not):
            raise _refuse(where, expression, _describe(node.op))
        check(node.operand)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            check(value)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if not isinstance(op, _COMPARISONS):
                raise _refuse(where, expression, _describe(op))
        check(node.left)
        for comparator in node.comparators:
            check(comparator)
    elif isinstance(node, ast.Call):
        _check_call(node, where, expression)
        for argument in node.args:
            check(argument)
    else:
        raise _refuse(where, expression, _describe(node))


def _check_call(node: ast.Call, where: str, expression: str) -> None:
    if not isinstance(node.func, ast.Name):
        raise _refuse(where, expression, _describe(node.func))
    function = node.func.id
    if function.startswith("__"):
        raise _refuse(where, expression, f"the name {function!r}")
    if function not in FUNCTIONS:
        raise ConfigError(
            f"{where}: {expression!r} calls unknown function {function!r}; allowed functions: "
            f"{', '.join(FUNCTIONS)}" + _did_you_mean(function, list(FUNCTIONS))
        )
    if node.keywords:
        raise _refuse(where, expression, f"keyword arguments in {function}()")
    for argument in node.args:
        if isinstance(argument, ast.Starred):
            raise _refuse(where, expression, "argument unpacking")
    smallest, largest = FUNCTIONS[function]
    count = len(node.args)
    if count < smallest or (largest is not None and count > largest):
        expected = (
            str(smallest)
            if smallest == largest
            else f"at least {smallest}"
            if largest is None
            else f"{smallest} to {largest}"
        )
        raise ConfigError(
            f"{where}: {expression!r} calls {function}() with {count} argument(s); "
            f"it takes {expected}"
        )
    if function == "bucket":
        _check_bucket_edges(node, where, expression)
    if function in DATE_FUNCTIONS:
        for argument in node.args:
            if not isinstance(argument, ast.Name):
                raise ConfigError(
                    f"{where}: {expression!r} passes {ast.unparse(argument)!r} to {function}(), "
                    "which reads dates; give it a date column name"
                )


def _check_bucket_edges(node: ast.Call, where: str, expression: str) -> None:
    """bucket()'s edges after the first argument must be number literals, strictly increasing."""
    edges = []
    for argument in node.args[1:]:
        edge = bucket_edge(argument)
        if edge is None:
            raise ConfigError(
                f"{where}: {expression!r} passes {ast.unparse(argument)!r} as an edge of "
                f"bucket(); edges must be numbers in increasing order, like {BUCKET_EXAMPLE}"
            )
        edges.append(edge)
    for lower, upper in itertools.pairwise(edges):
        if not lower < upper:
            shown = ", ".join(ast.unparse(argument) for argument in node.args[1:])
            raise ConfigError(
                f"{where}: {expression!r} gives bucket() the edges {shown}, which are not "
                f"strictly increasing; write them in increasing order, like {BUCKET_EXAMPLE}"
            )


def bucket_edge(node: ast.AST) -> float | None:
    """The number a bucket() edge literal stands for (``30``, ``-2.5``), or None if not one."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if not isinstance(node, ast.Constant):
        return None
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(float(value)):
        return None
    return sign * float(value)


def _describe(node: ast.AST) -> str:
    for kind, text in (_FORBIDDEN | _OPERATOR_HINTS).items():
        if isinstance(node, kind):
            return text
    return f"Python syntax ({type(node).__name__})"


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _list(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# ---------------------------------------------------------------------------------------------
# Evaluation: numpy arrays throughout. Numbers are float64; truth values are bool arrays, turned
# into 0/1 at the end (or into 0.0/1.0 when arithmetic uses them).
# ---------------------------------------------------------------------------------------------


class _Evaluator:
    """Computes a checked tree on one frame; only the node types :func:`_check_node` allows."""

    def __init__(self, feature: DerivedFeature, frame: pd.DataFrame) -> None:
        self.feature = feature
        self.frame = frame

    def visit(self, node: ast.AST) -> Any:
        return getattr(self, f"visit_{type(node).__name__}")(node)

    # Leaves ----------------------------------------------------------------------------------

    def visit_Constant(self, node: ast.Constant) -> np.float64:
        import numpy as np

        return np.float64(node.value)

    def visit_Name(self, node: ast.Name) -> np.ndarray:
        return self._number_column(node.id)

    # Operators -------------------------------------------------------------------------------

    def visit_BinOp(self, node: ast.BinOp) -> np.ndarray:
        import numpy as np

        left = self._number(node.left)
        right = self._number(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Pow):
            return np.power(left, right)
        operation = {ast.Div: np.true_divide, ast.FloorDiv: np.floor_divide, ast.Mod: np.mod}
        result = operation[type(node.op)](left, right)
        # Zero in the denominator gives NaN whatever the numerator: 0/0, 1/0 and -1/0 alike.
        return np.where(right == 0, np.nan, result)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> np.ndarray:
        if isinstance(node.op, ast.Not):
            return ~self._truth(node.operand)
        operand = self._number(node.operand)
        return -operand if isinstance(node.op, ast.USub) else +operand

    def visit_BoolOp(self, node: ast.BoolOp) -> np.ndarray:
        import numpy as np

        truths = [self._truth(value) for value in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        return combine.reduce(np.broadcast_arrays(*truths))

    def visit_Compare(self, node: ast.Compare) -> np.ndarray:
        import numpy as np

        # Comparisons with a missing value are False (so != is True), as in pandas.
        operations = {
            ast.Eq: np.equal,
            ast.NotEq: np.not_equal,
            ast.Lt: np.less,
            ast.LtE: np.less_equal,
            ast.Gt: np.greater,
            ast.GtE: np.greater_equal,
        }
        left = self._number(node.left)
        result = np.bool_(True)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self._number(comparator)
            result = result & operations[type(op)](left, right)
            left = right
        return result

    # Functions -------------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> Any:
        import numpy as np

        assert isinstance(node.func, ast.Name)  # checked at parse time
        function = node.func.id
        if function in DATE_FUNCTIONS:
            columns = [argument.id for argument in node.args if isinstance(argument, ast.Name)]
            return self._date_function(function, columns)
        if function == "is_missing":
            (argument,) = node.args
            if isinstance(argument, ast.Name):
                # Read the raw column: a text column can be tested for missing values too.
                return self.frame[argument.id].isna().to_numpy()
            return np.isnan(self._number(argument))
        if function == "bucket":
            value = np.asarray(self._number(node.args[0]), dtype="float64")
            edges = [bucket_edge(argument) for argument in node.args[1:]]
            # digitize with right=False: edges[i-1] <= x < edges[i] is band i, so an edge value
            # starts the band above it (age 30 is in band 1 of bucket(age, 30, 45, 60)).
            bands = np.digitize(value, edges).astype("float64")
            return np.where(np.isnan(value), np.nan, bands)
        if function == "where":
            condition, if_true, if_false = node.args
            known, truth = self._condition(condition)
            chosen = np.where(truth, self._number(if_true), self._number(if_false))
            return np.where(known, chosen, np.nan)
        arguments = [self._number(argument) for argument in node.args]
        if function == "abs":
            return np.abs(arguments[0])
        if function == "clip":
            value, lower, upper = arguments
            return np.minimum(np.maximum(value, lower), upper)
        if function == "min":
            return np.minimum.reduce(np.broadcast_arrays(*arguments))
        if function == "max":
            return np.maximum.reduce(np.broadcast_arrays(*arguments))
        if function == "exp":
            return np.exp(arguments[0])
        (value,) = arguments
        if function == "log":
            return np.where(value > 0, np.log(value), np.nan)
        if function == "log1p":
            return np.where(value > -1, np.log1p(value), np.nan)
        return np.where(value >= 0, np.sqrt(value), np.nan)  # sqrt

    def _date_function(self, function: str, columns: list[str]) -> np.ndarray:
        dates = [self._date_column(column) for column in columns]
        if function == "days_between":
            start, end = dates
            return ((end - start).dt.total_seconds() / 86400).to_numpy(dtype="float64")
        part = getattr(dates[0].dt, function)
        return part.to_numpy(dtype="float64", na_value=float("nan"))

    # Conversions -----------------------------------------------------------------------------

    def _number(self, node: ast.AST) -> Any:
        """A node's value as float64: truth values used in arithmetic count as 0.0 and 1.0."""
        import numpy as np

        value = self.visit(node)
        if isinstance(value, np.ndarray | np.bool_) and value.dtype == bool:
            return value.astype("float64")
        return value

    def _truth(self, node: ast.AST) -> Any:
        """A node's value as a truth value: nonzero is True, zero and missing are False."""
        known, truth = self._condition(node)
        return known & truth

    def _condition(self, node: ast.AST) -> tuple[Any, Any]:
        """(is the value known, is it true) - ``where`` gives NaN on an unknown condition."""
        import numpy as np

        value = self.visit(node)
        if isinstance(value, np.ndarray | np.bool_) and value.dtype == bool:
            return np.bool_(True), value
        return ~np.isnan(value), value != 0

    def _number_column(self, column: str) -> np.ndarray:
        import numpy as np
        import pandas as pd

        series = self.frame[column]
        if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
            return series.to_numpy(dtype="float64", na_value=np.nan)
        if _is_datetime(series):
            raise DataError(
                f"{self.feature._where}: {self.feature.expression!r} does arithmetic on "
                f"column {column!r}, which holds {series.dtype} values; turn dates into numbers "
                "with year(), month(), day(), dayofweek(), hour() or days_between()"
            )
        # Text columns holding numbers (a JSON request, a CSV read as strings) are read as
        # numbers; anything that is not a number is an error rather than a silent NaN.
        numbers = pd.to_numeric(series, errors="coerce")
        unreadable = numbers.isna() & series.notna()
        if unreadable.any():
            example = series[unreadable].iloc[0]
            raise DataError(
                f"{self.feature._where}: column {column!r} holds values that are not numbers, "
                f"e.g. {example!r}; derived features compute on numbers (use is_missing() for "
                "text columns, or drop the column from the expression)"
            )
        return numbers.to_numpy(dtype="float64", na_value=np.nan)

    def _date_column(self, column: str) -> pd.Series:
        """The column as naive-UTC datetimes; dates written as ISO 8601 text are read too."""
        import pandas as pd

        series = self.frame[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            return series.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_dtype(series.dtype):
            return series
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            raise DataError(
                f"{self.feature._where}: {self.feature.expression!r} reads column {column!r} "
                f"as dates, but it holds numbers ({series.dtype}); give a date column"
            )
        dates = pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601")
        unreadable = dates.isna() & series.notna()
        if unreadable.any():
            example = series[unreadable].iloc[0]
            raise DataError(
                f"{self.feature._where}: column {column!r} holds values that are not ISO dates, "
                f"e.g. {example!r}; write dates like '2024-01-31' or '2024-01-31T12:00:00'"
            )
        return dates.dt.tz_localize(None)


def _is_datetime(series: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_datetime64_any_dtype(series.dtype) or pd.api.types.is_timedelta64_dtype(
        series.dtype
    )
