"""The ``synthetic_churn`` source: a seeded customer-churn table, Bucle's default example data.

It exists so that every stage has realistic work to do without a download: numeric, categorical
and timestamp columns, a target that is learnable but not trivial, missing values for the
featurize stage to impute, and a few deliberately broken rows for the ``validate`` stage to
catch. The same seed always gives the same frame.

Columns (one row per customer, observed at the snapshot date ``as_of``):

- ``customer_id`` (str, ``"C000123"``; 7+ digits past 999,999 rows), unique on clean rows;
  numbering starts after ``id_offset``, so traffic of new customers does not reuse the ids of
  the training table
- ``signup_date`` (datetime64[ns], a midnight between ``as_of`` minus 6 years and ``as_of``)
- ``last_active_at`` (datetime64[ns], between ``signup_date`` and ``as_of``; the newest is
  within a day of ``as_of``, so a 30-day freshness check passes)
- ``region`` (str: north 40%, south 30%, east 20%, west 10%; deliberately imbalanced)
- ``plan`` (str: basic, standard, premium)
- ``payment_method`` (str: card, bank_transfer, paypal; paypal is 10% elsewhere, 60% in west)
- ``age`` (Int64, pandas' nullable integer, 18..90)
- ``tenure_months`` (int64, whole months from ``signup_date`` to ``as_of``)
- ``monthly_charges`` (float64, the plan's price plus noise, always > 0)
- ``n_orders`` (int64 >= 0, grows with the months a customer was active)
- ``total_spend`` (float64, the value of those orders)
- ``support_tickets`` (int64 >= 0)
- ``churned`` (int64, 0/1) drawn from a logistic model: short tenure, many support tickets, the
  basic plan, charges above the plan's price and a long time since the last activity all raise
  the odds. About a quarter of customers churn.

The regional pattern (a sampling-bias study, ``conf/experiment/underrepresented_west.yaml``):
customers in ``west`` churn for a reason of their own. A regional competitor courts established,
engaged customers who pay with paypal, so there paying with paypal raises the odds a lot and the
usual warning signs point the other way; elsewhere the payment method does not matter at all::

    west logit = -3.0 + 3.4 * (payment_method == paypal) - (usual logit + 1.6)

A model that can learn interactions (``model=hist_gradient_boosting``) learns west's own rule
when it sees west's 10% of the rows, and is worst for west when training keeps only a few of
them: the per-region slices in ``reports/slices.json`` show it. A linear model cannot express a
rule that holds in one region only, so ``model=logreg`` is weak on west either way.

Missing values: ``missing_share`` of the cells of ``age``, ``monthly_charges``,
``payment_method`` and ``region`` are missing (``pd.NA``, NaN or None), independently per cell.

Invalid rows: ``round(invalid_share * n_rows)`` rows, chosen at random, get exactly one defect
each; the five kinds take turns, so with 5 or more invalid rows each kind appears:

1. ``tenure_months`` is negative (-1..-24);
2. ``age`` is 150..199;
3. ``plan`` is ``"platinum"``, not an allowed plan;
4. ``customer_id`` repeats the id of a clean row (only the id is copied);
5. ``customer_id`` is missing (None).

Every other row passes the example rules in ``conf/data/synthetic_churn.yaml``.

Production traffic that has moved (``drift``, for ``bucle traffic`` and the monitoring
scenario in docs/monitoring.md); the random draws are the same, only what they become changes:

- ``none``: the world as training saw it.
- ``input``: covariate shift. Prices rose (``monthly_charges`` x 1.35), the customer base aged
  (``age`` + 12 years) and complaints doubled (``support_tickets`` x 2); churn still follows
  the same rule of the features, so a model's accuracy holds up while its inputs drift.
- ``concept``: the same customers, a new rule. A competitor now takes long-standing customers
  (tenure raises the odds instead of lowering them) and complaints stop predicting churn (they
  come from engaged customers); inputs look as they always did, the relation to churn does not.
"""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING

from framework import hookimpl
from framework.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

REGIONS = ("north", "south", "east", "west")
REGION_SHARES = (0.40, 0.30, 0.20, 0.10)
PLANS = ("basic", "standard", "premium")
PLAN_SHARES = (0.50, 0.33, 0.17)
PLAN_PRICES = (29.0, 59.0, 99.0)
PAYMENT_METHODS = ("card", "bank_transfer", "paypal")
PAYMENT_SHARES = (0.62, 0.28, 0.10)

#: The region with its own churn rule (module docstring), its payment mix and the rule's terms.
WEST = "west"
WEST_PAYMENT_SHARES = (0.25, 0.15, 0.60)
WEST_BASE_LOGIT = -3.0
WEST_PAYPAL_EFFECT = 3.4

#: The defect kinds injected into invalid rows, in the order they take turns.
DEFECT_KINDS = (
    "negative_tenure",
    "impossible_age",
    "unknown_plan",
    "duplicate_customer_id",
    "missing_customer_id",
)

_SIGNUP_YEARS = 6
_SECONDS_PER_DAY = 86_400
_DAYS_PER_MONTH = 365.25 / 12
_MAX_INVALID_SHARE = 0.5

#: Kinds of production change the generator can simulate (module docstring).
DRIFTS = ("none", "input", "concept")


class SyntheticChurnSource:
    """Generates the churn table; options are checked here so a bad config fails before a run."""

    def __init__(
        self,
        n_rows: int = 5000,
        as_of: str = "2026-01-01",
        missing_share: float = 0.03,
        invalid_share: float = 0.01,
        seed: int | None = None,
        drift: str = "none",
        id_offset: int = 0,
    ) -> None:
        if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 1:
            raise ConfigError(f"data.n_rows={n_rows!r} is not allowed; set it to an integer >= 1")
        self.n_rows = n_rows
        self.as_of = as_of
        self.as_of_date = _parse_as_of(as_of)
        self.missing_share = _check_share("missing_share", missing_share, upper=1.0)
        self.invalid_share = _check_share("invalid_share", invalid_share, upper=_MAX_INVALID_SHARE)
        if seed is not None:
            _check_seed("data.seed", seed)
        self.seed = seed
        if drift not in DRIFTS:
            raise ConfigError(
                f"data.drift={drift!r} is not allowed; use one of {', '.join(DRIFTS)}"
            )
        self.drift = drift
        if isinstance(id_offset, bool) or not isinstance(id_offset, int) or id_offset < 0:
            raise ConfigError(f"data.id_offset={id_offset!r} must be an integer >= 0")
        self.id_offset = id_offset

    @hookimpl
    def load_data(self, seed: int) -> pd.DataFrame:
        """Generate the table from ``data.seed``, or from the run's seed when that is None."""
        effective_seed = self.seed if self.seed is not None else seed
        _check_seed("seed", effective_seed)
        return generate_churn_table(
            n_rows=self.n_rows,
            as_of=self.as_of_date,
            missing_share=self.missing_share,
            invalid_share=self.invalid_share,
            seed=effective_seed,
            drift=self.drift,
            id_offset=self.id_offset,
        )


def generate_churn_table(
    n_rows: int,
    as_of: date,
    missing_share: float,
    invalid_share: float,
    seed: int,
    drift: str = "none",
    id_offset: int = 0,
) -> pd.DataFrame:
    """Build the table described in the module docstring; every draw comes from one seeded RNG."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = n_rows

    # --- who the customers are -----------------------------------------------------------
    region = rng.choice(len(REGIONS), size=n, p=REGION_SHARES)
    plan = rng.choice(len(PLANS), size=n, p=PLAN_SHARES)
    in_west = region == REGIONS.index(WEST)
    # One uniform draw per customer, read against the payment mix of the customer's region.
    payment_shares = np.where(in_west[:, None], WEST_PAYMENT_SHARES, PAYMENT_SHARES)
    payment = (rng.random(n)[:, None] >= payment_shares.cumsum(axis=1)[:, :-1]).sum(axis=1)
    age = np.clip(np.rint(rng.normal(45.0, 15.0, size=n)), 18, 90).astype(np.int64)

    # --- when they signed up and were last seen --------------------------------------------
    as_of_day = np.datetime64(as_of.isoformat(), "D")
    span_days = (as_of - _years_before(as_of, _SIGNUP_YEARS)).days
    # Skewed towards recent sign-ups, as in a growing business.
    tenure_days = np.floor(rng.beta(1.0, 1.4, size=n) * (span_days + 1)).astype(np.int64)
    tenure_days = np.minimum(tenure_days, span_days)
    signup_day = as_of_day - tenure_days.astype("timedelta64[D]")
    tenure_months = _whole_months_between(signup_day, as_of)

    # Most customers were seen recently; a minority has gone quiet for months.
    gone_quiet = rng.random(n) < 0.3
    inactive_seconds = rng.exponential(np.where(gone_quiet, 150.0, 8.0), size=n) * _SECONDS_PER_DAY
    inactive_seconds = np.minimum(np.rint(inactive_seconds), tenure_days * _SECONDS_PER_DAY)
    # The freshest customer is seen within the last day, so the table passes a freshness check
    # whatever the seed and size; that row is kept clean below.
    freshest = int(np.argmin(inactive_seconds))
    inactive_seconds[freshest] = min(
        inactive_seconds[freshest],
        rng.integers(0, _SECONDS_PER_DAY),
        tenure_days[freshest] * _SECONDS_PER_DAY,
    )
    inactive_seconds = inactive_seconds.astype(np.int64)
    inactive_days = inactive_seconds / _SECONDS_PER_DAY
    as_of_second = as_of_day.astype("datetime64[s]")
    last_active_at = as_of_second - inactive_seconds.astype("timedelta64[s]")

    # --- what they pay, buy and complain about ---------------------------------------------
    plan_price = np.asarray(PLAN_PRICES)[plan]
    monthly_charges = np.round(
        np.maximum(plan_price * rng.lognormal(0.0, 0.12, size=n) + rng.normal(0.0, 3.0, n), 5.0), 2
    )
    active_months = np.maximum(tenure_days - inactive_days, 0.0) / _DAYS_PER_MONTH
    orders_per_month = rng.gamma(2.0, 0.35, size=n)
    n_orders = rng.poisson(active_months * orders_per_month + 0.2).astype(np.int64)
    order_value = rng.lognormal(3.4, 0.4, size=n) * (1.0 + 0.25 * plan)
    total_spend = np.round(n_orders * order_value, 2)
    support_tickets = rng.poisson(rng.gamma(2.0, 0.6, size=n) + 0.4 * (plan == 0)).astype(np.int64)
    if drift == "input":
        monthly_charges = np.round(monthly_charges * 1.35, 2)
        age = np.clip(age + 12, 18, 90)
        support_tickets = support_tickets * 2

    # --- churn: a logistic model of the true (pre-corruption) features ----------------------
    logit = (
        -1.6
        - 1.1 * (np.log1p(tenure_months) - 2.9)
        + 0.6 * (support_tickets - 1.4)
        + np.asarray([0.5, 0.0, -0.4])[plan]
        + 0.06 * (monthly_charges - plan_price)
        + 0.6 * (np.log1p(inactive_days) - 2.6)
        - 0.015 * (age - 45)
    )
    if drift == "concept":
        logit = (
            -1.6
            + 1.1 * (np.log1p(tenure_months) - 2.9)
            - 0.3 * (support_tickets - 1.4)
            + np.asarray([0.5, 0.0, -0.4])[plan]
            + 0.06 * (monthly_charges - plan_price)
            + 0.6 * (np.log1p(inactive_days) - 2.6)
            - 0.015 * (age - 45)
        )
    paypal = payment == PAYMENT_METHODS.index("paypal")
    west_logit = WEST_BASE_LOGIT + WEST_PAYPAL_EFFECT * paypal - (logit + 1.6)
    logit = np.where(in_west, west_logit, logit)
    churned = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)

    id_width = max(6, len(str(n + id_offset)))
    frame = pd.DataFrame(
        {
            # A comprehension is the fastest way to format ids (about 0.25 s per million).
            "customer_id": np.asarray(
                [f"C{i:0{id_width}d}" for i in range(id_offset + 1, id_offset + n + 1)],
                dtype=object,
            ),
            "signup_date": signup_day.astype("datetime64[ns]"),
            "last_active_at": last_active_at.astype("datetime64[ns]"),
            "region": np.asarray(REGIONS, dtype=object)[region],
            "plan": np.asarray(PLANS, dtype=object)[plan],
            "payment_method": np.asarray(PAYMENT_METHODS, dtype=object)[payment],
            "age": pd.array(age, dtype="Int64"),
            "tenure_months": tenure_months,
            "monthly_charges": monthly_charges,
            "n_orders": n_orders,
            "total_spend": total_spend,
            "support_tickets": support_tickets,
            "churned": churned,
        }
    )

    _inject_missing(frame, rng, missing_share)
    _inject_defects(frame, rng, invalid_share, keep_clean=freshest)
    return frame


def _inject_missing(frame: pd.DataFrame, rng: np.random.Generator, share: float) -> None:
    """Blank ``share`` of the cells of the four columns a real export leaves partly empty."""
    import numpy as np
    import pandas as pd

    n = len(frame)
    for column in ("age", "monthly_charges", "payment_method", "region"):
        blank = rng.random(n) < share
        if not blank.any():
            continue
        if column == "age":
            frame.loc[blank, column] = pd.NA
        elif column == "monthly_charges":
            frame.loc[blank, column] = np.nan
        else:
            frame.loc[blank, column] = None


def _inject_defects(
    frame: pd.DataFrame, rng: np.random.Generator, share: float, keep_clean: int
) -> None:
    """Give ``round(share * rows)`` random rows one defect each, the kinds taking turns."""
    import numpy as np

    n = len(frame)
    candidates = np.delete(np.arange(n), keep_clean)
    n_invalid = min(round(share * n), len(candidates))
    if n_invalid == 0:
        return
    rows = rng.choice(candidates, size=n_invalid, replace=False)
    kinds = np.arange(n_invalid) % len(DEFECT_KINDS)

    def rows_of(kind: str) -> np.ndarray:
        return rows[kinds == DEFECT_KINDS.index(kind)]

    columns = {name: frame.columns.get_loc(name) for name in frame.columns}
    negative = rows_of("negative_tenure")
    frame.iloc[negative, columns["tenure_months"]] = -rng.integers(1, 25, size=len(negative))
    impossible = rows_of("impossible_age")
    frame.iloc[impossible, columns["age"]] = rng.integers(150, 200, size=len(impossible))
    frame.iloc[rows_of("unknown_plan"), columns["plan"]] = "platinum"

    duplicates = rows_of("duplicate_customer_id")
    if len(duplicates):
        clean = np.setdiff1d(candidates, rows, assume_unique=True)
        originals = rng.choice(clean, size=len(duplicates), replace=len(clean) < len(duplicates))
        id_column = columns["customer_id"]
        frame.iloc[duplicates, id_column] = frame.iloc[originals, id_column].to_numpy()
    frame.iloc[rows_of("missing_customer_id"), columns["customer_id"]] = None


def _whole_months_between(start_days: np.ndarray, end: date) -> np.ndarray:
    """Completed calendar months from each ``start_days`` (datetime64[D]) to ``end``."""
    import numpy as np

    start_month = start_days.astype("datetime64[M]")
    months = (np.datetime64(end.isoformat(), "M") - start_month).astype(np.int64)
    start_day_of_month = (start_days - start_month.astype("datetime64[D]")).astype(np.int64) + 1
    return months - (end.day < start_day_of_month)


def _years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _parse_as_of(as_of: object) -> date:
    try:
        return date.fromisoformat(str(as_of))
    except ValueError:
        raise ConfigError(
            f"data.as_of={as_of!r} is not a date; set data.as_of to a date like '2026-01-01'"
        ) from None


def _check_share(name: str, value: object, upper: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= upper
    ):
        raise ConfigError(f"data.{name}={value!r} is out of range; set it between 0 and {upper}")
    return float(value)


def _check_seed(name: str, seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{name}={seed!r} is not a valid seed; set {name} to an integer >= 0")
