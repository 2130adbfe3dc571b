"""Drift of a large window: Bucle from the reference profile, against per-column scipy on the raw
reference rows and, when it is installed, Evidently's data drift preset, all in one run.

    .venv/bin/python benchmarks/drift.py [--rows N] [--window-rows N] [--columns C]
        [--categorical K] [--repeat R] [--evidently-rows N] [--seed S]

The script writes a reference table and a window (every second column shifted) as Parquet in a
temporary directory, then measures each method in its own subprocess, so their peaks do not
mix: it loads the data the method needs, resets the process's peak RSS (``/proc/self/
clear_refs``), runs the method ``R`` times and reads the peak back (``VmHWM``). "work" is the
peak above the memory held after loading, "total" the whole process peak (interpreter,
libraries, data and work). Bucle's process loads the window and the profile only: its drift
never needs the reference rows, so its memory follows the window, not the history.

The temporary directory is deleted at the end. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULT = "RESULT "
P_VALUE = 0.05


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def column_names(columns: int, categorical: int) -> tuple[list[str], list[str]]:
    numeric = columns - categorical
    return [f"num_{i:02d}" for i in range(numeric)], [f"cat_{i:02d}" for i in range(categorical)]


def numeric_column(kind: int, rng: Any, rows: int, shifted: bool) -> Any:
    """Five shapes, each with its shift: about 0.3-0.4 reference stds of Wasserstein distance."""
    import numpy as np

    if kind == 0:
        return rng.normal(53.0 if shifted else 50.0, 10.0, size=rows)
    if kind == 1:
        return rng.lognormal(3.0, 0.8, size=rows) * (1.3 if shifted else 1.0)
    if kind == 2:
        return rng.uniform(10.0 if shifted else 0.0, 110.0 if shifted else 100.0, size=rows)
    if kind == 3:
        return rng.poisson(4.6 if shifted else 4.0, size=rows).astype(np.float64)
    values = rng.normal(0.0, 1.5 if shifted else 1.0, size=rows)
    values[rng.random(rows) < 0.02] = np.nan  # 2% missing
    return values


def categorical_column(rng: Any, rows: int, shifted: bool) -> Any:
    """Twelve categories with Zipf-like frequencies; shifted, the order of frequencies flips."""
    import numpy as np

    categories = np.array([f"c{i:02d}" for i in range(12)], dtype=object)
    weights = 1.0 / np.arange(1, 13)
    weights = (weights[::-1] if shifted else weights) / weights.sum()
    return rng.choice(categories, size=rows, p=weights)


def write_tables(directory: Path, args: argparse.Namespace, subsample: bool) -> list[str]:
    """Write reference.parquet and window.parquet (and their first ``--evidently-rows`` rows
    when ``subsample``); returns the shifted columns."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(args.seed)
    numeric, categorical = column_names(args.columns, args.categorical)
    reference, window, shifted = {}, {}, []
    for index, name in enumerate([*numeric, *categorical]):
        shift = index % 2 == 0
        if shift:
            shifted.append(name)
        if name in numeric:
            reference[name] = numeric_column(index % 5, rng, args.rows, False)
            window[name] = numeric_column(index % 5, rng, args.window_rows, shift)
        else:
            reference[name] = categorical_column(rng, args.rows, False)
            window[name] = categorical_column(rng, args.window_rows, shift)
    reference_frame, window_frame = pd.DataFrame(reference), pd.DataFrame(window)
    reference_frame.to_parquet(directory / "reference.parquet")
    window_frame.to_parquet(directory / "window.parquet")
    if subsample:
        reference_frame.iloc[: args.evidently_rows].to_parquet(
            directory / "reference_small.parquet"
        )
        window_frame.iloc[: args.evidently_rows].to_parquet(directory / "window_small.parquet")
    return shifted


# --------------------------------------------------------------------------------------------
# Methods (each runs in a worker subprocess)
# --------------------------------------------------------------------------------------------


def build_bucle_profile(data: dict[str, Any], args: argparse.Namespace) -> list[str]:
    from framework.monitoring.profile import build_profile

    numeric, categorical = column_names(args.columns, args.categorical)
    build_profile(data["reference"], numeric, categorical).save(args.data / "profile.json")
    return []


def bucle_drift(data: dict[str, Any], args: argparse.Namespace) -> list[str]:
    from framework.monitoring.drift import dataset_drift
    from framework.monitoring.profile import ReferenceProfile

    profile = ReferenceProfile.load(args.data / "profile.json")
    return dataset_drift(profile, data["window"]).drifted_columns


def scipy_drift(data: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """The plain way: ks_2samp per numeric column, chi2_contingency per categorical one, on
    the raw reference and window rows, drift when p < 0.05."""
    import pandas as pd
    from scipy import stats

    numeric, categorical = column_names(args.columns, args.categorical)
    reference, window = data["reference"], data["window"]
    drifted = []
    for name in numeric:
        result = stats.ks_2samp(reference[name].dropna(), window[name].dropna())
        if result.pvalue < P_VALUE:
            drifted.append(name)
    for name in categorical:
        counts = pd.concat([reference[name].value_counts(), window[name].value_counts()], axis=1)
        if stats.chi2_contingency(counts.fillna(0).to_numpy().T).pvalue < P_VALUE:
            drifted.append(name)
    return drifted


def evidently_drift(data: dict[str, Any], args: argparse.Namespace) -> list[str]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric, categorical = column_names(args.columns, args.categorical)
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(data["window"], data_definition=definition),
        reference_data=Dataset.from_pandas(data["reference"], data_definition=definition),
    )
    drifted = []
    for metric in snapshot.dict()["metrics"]:
        name = str(metric.get("metric_name", ""))
        if not name.startswith("ValueDrift("):
            continue
        fields = dict(part.split("=", 1) for part in name[len("ValueDrift(") : -1].split(","))
        value, threshold = float(metric["value"]), float(fields["threshold"])
        is_p_value = "p_value" in fields["method"]
        if (value < threshold) if is_p_value else (value >= threshold):
            drifted.append(fields["column"])
    return drifted


#: method -> (function, tables it loads). Bucle's drift loads the window only.
METHODS = {
    "profile": (build_bucle_profile, ("reference",)),
    "bucle": (bucle_drift, ("window",)),
    "scipy": (scipy_drift, ("reference", "window")),
    "evidently": (evidently_drift, ("reference", "window")),
}


def memory_kib(field: str) -> int | None:
    """A ``/proc/self/status`` field (VmRSS, VmHWM) in KiB, or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def release_free_memory() -> None:
    """Hand memory freed while reading Parquet back to the system (glibc only), so that the
    resident size after loading is the tables, not the reader's leftovers."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run_worker(args: argparse.Namespace) -> None:
    """Load what the method needs, reset the peak, run it ``repeat`` times, print a result."""
    import resource

    import numpy  # noqa: F401  (libraries load before the baseline, so "data" is the tables)
    import pandas as pd
    import pyarrow
    import pyarrow.parquet
    import scipy.stats  # noqa: F401

    sys.path.insert(0, str(ROOT))
    function, tables = METHODS[args.worker]
    if args.worker == "evidently":
        import evidently.presets  # noqa: F401
    else:
        import framework.monitoring.drift
        import framework.monitoring.profile
        import framework.monitoring.stats  # noqa: F401

    # malloc rather than Arrow's pooling allocator, which would keep the Parquet decoding
    # buffers resident and count them as data.
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    before = memory_kib("VmRSS")
    suffix = "_small" if args.small else ""
    data = {name: pd.read_parquet(args.data / f"{name}{suffix}.parquet") for name in tables}
    release_free_memory()
    loaded = memory_kib("VmRSS")
    exact_peak = reset_peak()
    times, drifted = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        drifted = function(data, args)
        times.append(time.perf_counter() - start)
    peak = memory_kib("VmHWM") if exact_peak else None
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "seconds": statistics.median(times),
        "window_rows": len(data.get("window", data.get("reference"))),
        "data_mib": None if before is None or loaded is None else (loaded - before) / 1024,
        "work_mib": None if not exact_peak or loaded is None else (peak - loaded) / 1024,
        "total_mib": peak / 1024,
        "drifted": drifted,
    }
    print(RESULT + json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def measure(method: str, args: argparse.Namespace, directory: Path, small: bool = False) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        method,
        "--data",
        str(directory),
        "--repeat",
        str({"profile": 1, "evidently": args.evidently_repeat}.get(method, args.repeat)),
        "--columns",
        str(args.columns),
        "--categorical",
        str(args.categorical),
    ]
    if small:
        command.append("--small")
    env = {**os.environ, "DO_NOT_TRACK": "1", "DVC_NO_ANALYTICS": "1"}
    completed = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT)]
    if completed.returncode != 0 or not lines:
        raise SystemExit(
            f"{method} worker failed (exit {completed.returncode}):\n{completed.stderr}"
        )
    return json.loads(lines[-1][len(RESULT) :])


def evidently_installed() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import evidently"], capture_output=True)
    return probe.returncode == 0


def mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} MiB"


def ratio(value: float | None, baseline: float | None) -> str:
    if value is None or not baseline:
        return "n/a"
    return f"{value / baseline:.2f}x"


def print_table(title: str, results: dict[str, dict], shifted: list[str], columns: int) -> None:
    print(f"\n{title}")
    header = (
        f"{'method':<10} {'window':>10} {'time':>9} {'/scipy':>7} {'data':>10} {'work':>10} "
        f"{'/scipy':>7} {'total':>10} {'/scipy':>7} {'found':>6} {'false':>6}"
    )
    print(header)
    print("-" * len(header))
    base = results.get("scipy", {})
    for method, r in results.items():
        found = len(set(r["drifted"]) & set(shifted))
        false = len(set(r["drifted"]) - set(shifted))
        print(
            f"{method:<10} {r['window_rows']:>10,} {r['seconds']:>8.2f}s "
            f"{ratio(r['seconds'], base.get('seconds')):>7} {mib(r['data_mib']):>10} "
            f"{mib(r['work_mib']):>10} {ratio(r['work_mib'], base.get('work_mib')):>7} "
            f"{mib(r['total_mib']):>10} {ratio(r['total_mib'], base.get('total_mib')):>7} "
            f"{found:>3}/{len(shifted):<2} {false:>3}/{columns - len(shifted):<2}"
        )


def run_driver(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    numeric = args.columns - args.categorical
    print(
        f"drift benchmark: reference {args.rows:,} rows, window {args.window_rows:,} rows, "
        f"{args.columns} columns ({numeric} numeric, {args.categorical} categorical), every "
        f"second column shifted; median of {args.repeat} run(s) per method, "
        f"{args.evidently_repeat} of Evidently"
    )
    with tempfile.TemporaryDirectory(prefix="bucle-drift-bench-") as temporary:
        directory = Path(temporary)
        has_evidently = evidently_installed()
        small = args.evidently_rows < max(args.rows, args.window_rows)
        start = time.perf_counter()
        shifted = write_tables(directory, args, subsample=has_evidently and small)
        print(f"data written in {time.perf_counter() - start:.1f} s")

        profile = measure("profile", args, directory)
        size = (directory / "profile.json").stat().st_size
        print(
            f"profile: built once from the {args.rows:,}-row reference in "
            f"{profile['seconds']:.2f} s (work {mib(profile['work_mib'])} above the reference's "
            f"{mib(profile['data_mib'])}); {size / 1024:.0f} KiB of JSON"
        )

        results = {method: measure(method, args, directory) for method in ("bucle", "scipy")}
        if has_evidently and not small:
            results["evidently"] = measure("evidently", args, directory)
        print_table("full size", results, shifted, args.columns)

        if not has_evidently:
            print("\nevidently: not installed, skipped")
        elif small:
            subsample = {
                method: measure(method, args, directory, small=True)
                for method in ("bucle", "scipy", "evidently")
            }
            print_table(
                f"evidently on the first {args.evidently_rows:,} rows of both tables only "
                "(--evidently-rows; it takes minutes at a million), bucle and scipy re-run on "
                "the same rows for the ratios (bucle's profile is still the full reference's)",
                subsample,
                shifted,
                args.columns,
            )
    print(
        "\nwindow: rows checked (scipy and evidently also hold the reference rows, bucle only "
        "the profile); time: median wall time of one drift check (data loading excluded); "
        "data: memory the loaded tables take; work: peak above that while checking; total: "
        "whole process peak. found: shifted columns flagged; false: unshifted columns flagged."
    )
    print(f"benchmark took {time.perf_counter() - started:.0f} s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="reference rows")
    parser.add_argument("--window-rows", type=int, default=None, help="window rows (= --rows)")
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--categorical", type=int, default=10, help="how many are categorical")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method; median shown")
    parser.add_argument(
        "--evidently-rows",
        type=int,
        default=100_000,
        help="rows of each table given to Evidently (it takes minutes at 1M); bucle and scipy "
        "run at both sizes",
    )
    parser.add_argument(
        "--evidently-repeat", type=int, default=1, help="runs of Evidently (it takes a while)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--small", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.window_rows is None:
        args.window_rows = args.rows
    if not 0 <= args.categorical <= args.columns or min(args.repeat, args.evidently_repeat) < 1:
        parser.error("need 0 <= --categorical <= --columns and repeats >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
    else:
        run_driver(args)


if __name__ == "__main__":
    main()
