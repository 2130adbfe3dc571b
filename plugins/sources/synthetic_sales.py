"""The ``synthetic_sales`` source: a seeded store-day demand table, the regression example.

How many units each store will sell on a day, so that it can stock the right amount. One row per
store and day, ``n_rows`` rows over ``n_stores`` stores and consecutive days ending at ``as_of``:

- ``row_id`` (text, unique), ``store_id`` (``S01``...), ``region`` (north, south, east, west),
  ``store_size`` (m², fixed per store), ``date`` (the day), ``day_of_week`` (0 = Monday);
- ``promo`` (0/1, about one day in five), ``price`` (the unit price, around 4.00), ``holiday``
  (0/1), ``temperature`` (°C, seasonal, a few missing);
- ``units_sold``: the target, Poisson around ``base x weekday x promo x price^-1.5 x holiday x
  temperature`` where the base grows with the store's size and differs by region.

``drift`` simulates production changing (for ``bucle traffic`` and monitoring rehearsals):
``input`` raises prices by 25% and temperatures by 6 °C (inputs move, the demand rule does
not); ``concept`` keeps inputs as they were but promotions stop working and weekends sell less
than weekdays (the rule changes). ``row_offset`` starts row ids later, for new traffic.
A few rows carry a negative price or an unknown region for ``validate`` to quarantine.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from framework import hookimpl
from framework.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

REGIONS = ("north", "south", "east", "west")
REGION_FACTOR = {"north": 0.9, "south": 1.15, "east": 1.0, "west": 1.05}
WEEKDAY_FACTOR = (0.85, 0.85, 0.9, 0.95, 1.1, 1.45, 1.3)  # Monday .. Sunday
PROMO_FACTOR = 1.6
PRICE_ELASTICITY = -1.5
REFERENCE_PRICE = 4.0
HOLIDAY_FACTOR = 1.4
DRIFTS = ("none", "input", "concept")
#: The stores (region, size) are the same world whatever the run's seed: traffic drawn with
#: another seed comes from the same stores.
STORE_SEED = 2026


class SyntheticSalesSource:
    """Generates the store-day sales table; options are checked when the plugin is built."""

    def __init__(
        self,
        n_rows: int = 4000,
        n_stores: int = 20,
        as_of: str = "2026-01-01",
        missing_share: float = 0.02,
        invalid_share: float = 0.005,
        drift: str = "none",
        row_offset: int = 0,
    ) -> None:
        for key, value, lowest in (("n_rows", n_rows, 1), ("n_stores", n_stores, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
                raise ConfigError(f"data.{key}={value!r} is not allowed; set an integer >= 1")
        for key, value in (("missing_share", missing_share), ("invalid_share", invalid_share)):
            if not isinstance(value, int | float) or not 0 <= float(value) <= 0.5:
                raise ConfigError(f"data.{key}={value!r} must be a share from 0 to 0.5")
        if drift not in DRIFTS:
            raise ConfigError(
                f"data.drift={drift!r} is not allowed; use one of {', '.join(DRIFTS)}"
            )
        if isinstance(row_offset, bool) or not isinstance(row_offset, int) or row_offset < 0:
            raise ConfigError(f"data.row_offset={row_offset!r} must be an integer >= 0")
        try:
            self.as_of = date.fromisoformat(str(as_of))
        except ValueError:
            raise ConfigError(
                f"data.as_of={as_of!r} is not a date; write it as 2026-01-01"
            ) from None
        self.n_rows, self.n_stores = n_rows, n_stores
        self.missing_share, self.invalid_share = float(missing_share), float(invalid_share)
        self.drift, self.row_offset = drift, row_offset

    @hookimpl
    def load_data(self, seed: int) -> pd.DataFrame:
        return generate_sales_table(
            self.n_rows,
            self.n_stores,
            self.as_of,
            self.missing_share,
            self.invalid_share,
            seed,
            self.drift,
            self.row_offset,
        )


def generate_sales_table(
    n_rows: int,
    n_stores: int,
    as_of: date,
    missing_share: float,
    invalid_share: float,
    seed: int,
    drift: str = "none",
    row_offset: int = 0,
) -> pd.DataFrame:
    """The table the module docstring describes; every draw comes from one seeded generator."""
    import numpy as np
    import pandas as pd

    world = np.random.default_rng(STORE_SEED)
    stores = np.array([f"S{number:02d}" for number in range(1, n_stores + 1)])
    store_region = world.choice(REGIONS, n_stores)
    store_size = np.round(world.uniform(200, 1200, n_stores)).astype(np.int64)
    rng = np.random.default_rng(seed)
    days = int(np.ceil(n_rows / n_stores))
    index = np.arange(n_rows)
    store = index % n_stores
    day = days - 1 - index // n_stores  # days before as_of: the oldest rows first
    dates = np.array([as_of - timedelta(days=int(d)) for d in day], dtype="datetime64[D]")
    weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    promo = (rng.uniform(size=n_rows) < 0.2).astype(np.int64)
    price = np.round(REFERENCE_PRICE * rng.uniform(0.8, 1.2, n_rows) * np.where(promo, 0.85, 1), 2)
    holiday = (rng.uniform(size=n_rows) < 0.03).astype(np.int64)
    temperature = 14 + 10 * np.sin(2 * np.pi * (day_of_year - 110) / 365) + rng.normal(0, 3, n_rows)
    if drift == "input":
        price = np.round(price * 1.25, 2)
        temperature = temperature + 6

    weekday_factor = np.asarray(WEEKDAY_FACTOR)[weekday]
    promo_factor = np.where(promo == 1, PROMO_FACTOR, 1.0)
    if drift == "concept":
        weekday_factor = 2.0 - weekday_factor  # weekends now sell less than weekdays
        promo_factor = np.ones(n_rows)  # promotions stopped working
    base = 8 + store_size[store] / 40 * np.asarray([REGION_FACTOR[r] for r in store_region[store]])
    demand = (
        base
        * weekday_factor
        * promo_factor
        * (price / REFERENCE_PRICE) ** PRICE_ELASTICITY
        * np.where(holiday == 1, HOLIDAY_FACTOR, 1.0)
        * (1 + 0.02 * (temperature - 14))
    )
    units = rng.poisson(np.clip(demand, 0.1, None))

    frame = pd.DataFrame(
        {
            "row_id": [f"R{row_offset + number:07d}" for number in index],
            "store_id": stores[store],
            "region": store_region[store].astype(object),
            "store_size": store_size[store],
            "date": pd.to_datetime(dates),
            "day_of_week": weekday.astype(np.int64),
            "promo": promo,
            "price": price,
            "holiday": holiday,
            "temperature": np.round(temperature, 1),
            "units_sold": units.astype(np.int64),
        }
    )
    missing = rng.uniform(size=n_rows) < missing_share
    frame.loc[missing, "temperature"] = np.nan
    invalid = rng.choice(n_rows, size=round(invalid_share * n_rows), replace=False)
    for turn, row in enumerate(invalid):
        if turn % 2 == 0:
            frame.loc[row, "price"] = -frame.loc[row, "price"]
        else:
            frame.loc[row, "region"] = "atlantis"
    return frame
