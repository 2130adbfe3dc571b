"""False alarms of the ``drift`` monitor on clean traffic, and its detection of input drift.

Clean traffic is new customers from the same world as training (the churn source with
``drift="none"``); every alarm on it is a false one. The script trains the example project once
(``bucle run`` in a temporary copy), loads the registered model and its reference profile, then,
for each window size, judges many independent clean windows exactly as ``bucle monitor`` would:

1. ``generate_churn_table(..., drift="none", seed=10_000 + i, id_offset=1_000_000)``, the target
   dropped;
2. the rows sent as a client sends them (JSON records, dates as ISO text) and their model inputs
   rebuilt with :func:`~framework.features.serving.model_inputs`, as ``bucle monitor`` rebuilds
   them from the inference log (``--inputs frame`` skips the JSON round trip; the first window
   of every size is checked to give the same inputs both ways);
3. the answers the server would give: ``pipeline.predict_proba`` and ``bundle.decide``;
4. the real :class:`plugins.monitors.drift.DriftMonitor` (default thresholds, as in
   ``params.yaml``) on a :class:`~framework.monitoring.window.MonitorWindow` holding those
   inputs, predictions and probabilities; its status is the window's verdict.

Detection power on the same model: ``--drifted`` windows with ``drift="input"`` (every row from
the moved world) and as many with only a ``--mix`` share of such rows (10%), the rest clean.
Per size the first table gives the share of clean windows whose status is ``drift`` (false
alarms, with a 95% Wilson interval) or ``warning``, the per-column false-positive rate, how often
each prediction test fired, and the detection rates. The second re-reads the same test results
under other rules for prediction drift (what-if; no code changes): a Bonferroni level, the
probability test alone, a p-value and a distance together. ``--raw-ks`` adds scipy's
``ks_2samp`` against the training rows themselves, to separate what the profile's summary does
to KS from what the reference sample does.

The false-alarm rate on small windows depends on the trained model's reference sample, which
stays fixed for the model's life: ``--override seed=K`` trains another one,
``--override data.n_rows=20000`` one with a four times larger reference.

Run from the repository root::

    .venv/bin/python benchmarks/false_alarms.py [--windows N] [--sizes 500 2000 10000]
        [--drifted K] [--mix SHARE] [--inputs json|frame] [--raw-ks] [--override KEY=VALUE]
        [--keep]

The temporary directory is deleted at the end (unless ``--keep``). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: What a project needs to run the pipeline, as in tests/conftest.py and benchmarks/serve.py.
PROJECT_FILES = ("conf", "dvc.yaml", "params.yaml", ".dvc/config", ".dvcignore", ".gitignore")
CODE_DIRS = ("framework", "plugins")

ENV = {
    **os.environ,
    "DO_NOT_TRACK": "1",
    "DVC_NO_ANALYTICS": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GIT_AUTHOR_NAME": "Bucle Benchmark",
    "GIT_AUTHOR_EMAIL": "benchmark@bucle.invalid",
    "GIT_COMMITTER_NAME": "Bucle Benchmark",
    "GIT_COMMITTER_EMAIL": "benchmark@bucle.invalid",
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
}

AS_OF = date(2026, 1, 1)
CLEAN_SEED = 10_000
DRIFTED_SEED = 20_000
MIXED_SEED = 30_000
ID_OFFSET = 1_000_000
#: The two prediction tests of a binary model: the predicted class and the positive probability.
CLASS_TEST = "class"
PROBABILITY_TEST = "probability"


# --------------------------------------------------------------------------------------------
# The trained project
# --------------------------------------------------------------------------------------------


def run(args: list[str], cwd: Path) -> str:
    result = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout + result.stderr


def trained_project(base: Path, overrides: list[str]) -> tuple[Path, str]:
    """Copy the example project, run ``bucle run`` there; the run's output dir and its summary."""
    project = base / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        source, destination = ROOT / name, project / name
        if not source.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copy2(source, destination)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in CODE_DIRS:
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    run(["git", "init", "-q", "-b", "main"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-q", "-m", "project"], project)
    output = run([str(BIN / "bucle"), "run", *overrides], project)
    lines = output.splitlines()
    work = next(line for line in lines if "outputs in" in line).split("outputs in ", 1)[1]
    finished = next((line for line in lines if "finished:" in line), "").strip()
    return Path(work.strip()), finished


# --------------------------------------------------------------------------------------------
# One window
# --------------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """What the drift monitor said about one window, and the test results behind it."""

    status: str
    dataset_drift: bool
    prediction_drift: bool
    drifted_inputs: list[str]
    #: Per prediction test (CLASS_TEST, PROBABILITY_TEST): its p-value (None when a distance
    #: decided) and whether it fired.
    p_values: dict[str, float | None] = field(default_factory=dict)
    fired: dict[str, bool] = field(default_factory=dict)
    #: Per prediction test: the distance (Jensen-Shannon, normalised Wasserstein) and whether
    #: it reaches its threshold, computed whatever the window size.
    distances: dict[str, float | None] = field(default_factory=dict)
    far: dict[str, bool] = field(default_factory=dict)
    #: With --raw-ks, the numeric inputs scipy's two-sample KS on the training rows themselves
    #: flags (p < p_value), for windows of at most small_sample rows.
    raw_ks: list[str] = field(default_factory=list)


class Judge:
    """The registered model, its reference profile and the drift monitor, ready for windows."""

    def __init__(self, work: Path, target: str, inputs_mode: str, raw_ks: bool = False) -> None:
        from framework.modeling.artifact import load_model
        from framework.monitoring.drift import DriftThresholds
        from framework.monitoring.profile import ReferenceProfile
        from plugins.monitors.drift import DriftMonitor

        self.profile = ReferenceProfile.load(work / "reports" / "profile.json")
        self.bundle = load_model(work / "models" / "model.skops")
        self.monitor = DriftMonitor()  # the defaults, the same as params.yaml's monitor.drift
        thresholds = self.monitor.thresholds.to_dict()
        # The same thresholds with distances at every size: the what-if rules read them.
        self.distance_only = DriftThresholds(**{**thresholds, "small_sample": 0})
        self.target = target
        self.inputs_mode = inputs_mode
        self.checked_sizes: set[int] = set()
        self.training: dict[str, Any] = {}
        if raw_ks:
            from framework.modeling.schema import prepare_inputs
            from framework.tables import read_table

            train = prepare_inputs(read_table(work / "data" / "train.parquet"), self.bundle.schema)
            self.training = {
                name: train[name].dropna().to_numpy(dtype=float)
                for name in self.bundle.schema.numeric
            }

    def table(self, size: int, seed: int, drift: str, mix: float = 1.0) -> Any:
        """A window of ``size`` new customers; with ``drift`` != none and ``mix`` < 1, only that
        share of the rows comes from the moved world, the rest from the clean one."""
        import pandas as pd

        from plugins.sources.synthetic_churn import generate_churn_table

        def generate(n_rows: int, drift: str, seed: int, id_offset: int) -> Any:
            return generate_churn_table(
                n_rows=n_rows,
                as_of=AS_OF,
                missing_share=0.03,
                invalid_share=0.0,
                seed=seed,
                drift=drift,
                id_offset=id_offset,
            )

        moved = size if drift == "none" else round(mix * size)
        parts = [generate(moved, drift, seed, ID_OFFSET)] if moved else []
        if moved < size:
            parts.append(generate(size - moved, "none", seed + 500_000, 2 * ID_OFFSET))
        return pd.concat(parts, ignore_index=True).drop(columns=[self.target])

    def inputs(self, raw: Any) -> Any:
        """Model inputs as the server and ``bucle monitor`` build them (collect.rebuild_inputs):
        from the JSON records a client sends, dates as ISO 8601 text."""
        from framework.features.serving import model_inputs

        schema = self.bundle.schema
        columns = [*schema.numeric, *schema.categorical]
        if self.inputs_mode == "frame" and len(raw) in self.checked_sizes:
            return model_inputs(raw, schema)[columns].reset_index(drop=True)
        records = json.loads(raw.to_json(orient="records", date_format="iso"))
        inputs = model_inputs(records, schema)[columns].reset_index(drop=True)
        if len(raw) not in self.checked_sizes:
            import pandas as pd

            self.checked_sizes.add(len(raw))
            direct = model_inputs(raw, schema)[columns].reset_index(drop=True)
            pd.testing.assert_frame_equal(inputs, direct, check_dtype=False)
        return inputs

    def judge(self, raw: Any) -> Verdict:
        import pandas as pd

        from framework.monitoring.drift import column_drift
        from framework.monitoring.window import MonitorWindow

        inputs = self.inputs(raw)
        proba = self.bundle.pipeline.predict_proba(inputs)
        classes = [str(label) for label in self.bundle.classes]
        # As the server answers and collect_window reads them back from the inference log: the
        # class as a JSON value, the probabilities with the classes as text.
        predictions = pd.Series([label.item() for label in self.bundle.decide(proba)], dtype=object)
        probabilities = pd.DataFrame(proba, columns=classes, dtype=float)
        window = MonitorWindow(
            model=None,  # type: ignore[arg-type]  # the drift monitor never reads it
            profile=self.profile,
            baseline={},
            log=pd.DataFrame(),
            inputs=inputs,
            predictions=predictions,
            probabilities=probabilities,
            labels=pd.Series([None] * len(inputs), dtype=object),
            unreadable=0,
            start=None,
            end=None,
        )
        result = self.monitor.check_window(window)
        verdict = Verdict(
            status=result.status,
            dataset_drift=bool(result.metrics.get("dataset_drift")),
            prediction_drift=bool(result.metrics.get("prediction_drift")),
            drifted_inputs=list(result.metrics.get("drifted_columns") or []),
        )
        for row in result.details:
            if row["group"] != "prediction":
                continue
            key = CLASS_TEST if row["column"] == "prediction" else PROBABILITY_TEST
            verdict.p_values[key] = row["p_value"]
            verdict.fired[key] = bool(row["drifted"])
        references = {CLASS_TEST: (self.profile.predictions, predictions)}
        for label, column in self.profile.probabilities.items():
            references[PROBABILITY_TEST] = (column, probabilities[label])
        for key, (column, values) in references.items():
            if column is not None:
                distance = column_drift(column, values, self.distance_only)
                verdict.distances[key] = distance.statistic
                verdict.far[key] = distance.drifted
        if self.training:
            from scipy.stats import ks_2samp

            for name, reference in self.training.items():
                values = inputs[name].dropna().to_numpy(dtype=float)
                if values.size > self.monitor.thresholds.small_sample:
                    continue  # the monitor decides by distance here
                p_value = ks_2samp(reference, values, method="asymp").pvalue
                if p_value < self.monitor.thresholds.p_value:
                    verdict.raw_ks.append(name)
        return verdict


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------


def share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else math.nan


def pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f}%"


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a binomial share."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def with_interval(flags: list[bool]) -> str:
    low, high = wilson(sum(flags), len(flags))
    return f"{pct(share(flags))} [{100 * low:.1f}-{100 * high:.1f}]"


def by_p(verdict: Verdict, test: str, level: float) -> bool:
    """The test at another significance level; a distance test (large window) as it was."""
    p = verdict.p_values.get(test)
    return verdict.fired.get(test, False) if p is None else p < level


def status_under(verdict: Verdict, prediction_drifted: bool) -> str:
    """The monitor's status rule (plugins/monitors/drift.py) with another prediction verdict."""
    if verdict.dataset_drift or prediction_drifted:
        return "drift"
    return "warning" if verdict.drifted_inputs else "ok"


def what_if_rules(p_value: float) -> dict[str, Callable[[Verdict], bool]]:
    """Other rules for prediction drift, on the test results already computed. Above
    small_sample the monitor decides both prediction tests by distance, and the p-value rules
    keep that verdict."""
    half = p_value / 2
    tests = (CLASS_TEST, PROBABILITY_TEST)
    return {
        f"as shipped: Bonferroni, either test p < {p_value:g}/2": lambda v: v.prediction_drift,
        f"Bonferroni: either test p < {half:g}": lambda v: any(by_p(v, t, half) for t in tests),
        f"probability test only, p < {p_value:g}": lambda v: by_p(v, PROBABILITY_TEST, p_value),
        "either test p < 0.05 and its distance >= threshold": lambda v: any(
            by_p(v, t, p_value) and v.far.get(t, False) for t in tests
        ),
        "predictions never alarm on their own": lambda v: False,
    }


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(value for value in values if value is not None)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        first = f"{cells[0]:<{widths[0]}}"
        rest = (f"{cell:>{width}}" for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def per_column_rates(verdicts: list[Verdict], columns: list[str]) -> dict[str, float]:
    return {c: share([c in verdict.drifted_inputs for verdict in verdicts]) for c in columns}


@dataclass
class SizeResults:
    clean: list[Verdict]
    drifted: list[Verdict]  # every row from the moved world
    mixed: list[Verdict]  # a --mix share of the rows from the moved world
    seconds: float


def report(results: dict[int, SizeResults], columns: list[str], args: Any, judge: Judge) -> None:
    thresholds = judge.monitor.thresholds
    mixed = f"{100 * args.mix:g}% rows"
    print()
    print("Clean windows (drift=none): every drift and every warning is a false alarm.")
    print(
        f"Detection: share with status drift among {args.drifted} windows of drift=input "
        f"(all rows) and {args.drifted} with {mixed} from drift=input."
    )
    headers = [
        "rows",
        "windows",
        "tests",
        "status drift [95% CI]",
        "warning",
        "ok",
        "column FPR mean",
        "column FPR max",
        "dataset drift",
        "pred class",
        "pred proba",
        "pred either",
        "detected input",
        f"detected {mixed}",
    ]
    rows = []
    for size, result in results.items():
        clean = result.clean
        rates = per_column_rates(clean, columns)
        worst = max(rates, key=lambda column: rates[column])
        rows.append(
            [
                str(size),
                str(len(clean)),
                "KS/chi2" if clean[0].p_values.get(PROBABILITY_TEST) is not None else "W1/JS",
                with_interval([v.status == "drift" for v in clean]),
                pct(share([v.status == "warning" for v in clean])),
                pct(share([v.status == "ok" for v in clean])),
                pct(sum(rates.values()) / len(rates)),
                f"{pct(rates[worst])} {worst}",
                pct(share([v.dataset_drift for v in clean])),
                pct(share([v.fired.get(CLASS_TEST, False) for v in clean])),
                pct(share([v.fired.get(PROBABILITY_TEST, False) for v in clean])),
                pct(share([v.prediction_drift for v in clean])),
                pct(share([v.status == "drift" for v in result.drifted])),
                pct(share([v.status == "drift" for v in result.mixed])),
            ]
        )
    print(format_table(headers, rows))

    print()
    print(
        "What-if rules for prediction drift, on the same test results: status drift on clean "
        f"windows / detected with drift=input / detected with {mixed} moved"
    )
    headers = ["prediction drift when", *[f"{size} rows" for size in results]]
    rows = []
    for name, rule in what_if_rules(thresholds.p_value).items():
        cells = [name]
        for result in results.values():
            rates = [
                share([status_under(v, rule(v)) == "drift" for v in verdicts])
                for verdicts in (result.clean, result.drifted, result.mixed)
            ]
            cells.append(" / ".join(pct(rate) for rate in rates))
        rows.append(cells)
    print(format_table(headers, rows))

    print()
    print(
        "Prediction distances (class: Jensen-Shannon, probability: normalised Wasserstein; "
        f"threshold {thresholds.jensen_shannon:g} / {thresholds.wasserstein:g}): clean p95 and "
        f"max, median with {mixed} moved and with drift=input"
    )
    headers = ["rows", "class clean p95/max", "class mixed/input", "proba clean p95/max",
               "proba mixed/input"]  # fmt: skip
    rows = []
    for size, result in results.items():
        cells = [str(size)]
        for test in (CLASS_TEST, PROBABILITY_TEST):
            clean = [v.distances.get(test) for v in result.clean]
            moved = [
                quantile([v.distances.get(test) for v in verdicts], 0.5)
                for verdicts in (result.mixed, result.drifted)
            ]
            cells.append(f"{quantile(clean, 0.95):.3f} / {quantile(clean, 1.0):.3f}")
            cells.append(" / ".join(f"{value:.3f}" for value in moved))
        rows.append(cells)
    print(format_table(headers, rows))

    print()
    print("Per-column false-positive rate on clean windows")
    raw = {
        size: {
            column: share([column in v.raw_ks for v in result.clean]) for column in judge.training
        }
        for size, result in results.items()
        if judge.training and size <= thresholds.small_sample
    }
    if raw:
        print("(beside it, scipy's ks_2samp on the training rows themselves)")
    headers = ["column", "kind"]
    for size in results:
        headers.append(f"{size} rows")
        if size in raw:
            headers.append("scipy raw")
    rates_by_size = {size: per_column_rates(r.clean, columns) for size, r in results.items()}
    profile = judge.profile.columns
    rows = []
    for column in columns:
        kind = profile[column].kind + (" (discrete)" if profile[column].discrete else "")
        cells = [column, kind]
        for size in results:
            cells.append(pct(rates_by_size[size][column]))
            if size in raw:
                cells.append(pct(raw[size][column]) if column in raw[size] else "")
        rows.append(cells)
    print(format_table(headers, rows))

    if not args.drifted:
        return
    print()
    print("Windows with drift=input (all rows): share of windows flagging each column")
    for size, result in results.items():
        rates = per_column_rates(result.drifted, columns)
        named = ", ".join(f"{c} {pct(r)}" for c, r in rates.items() if r > 0)
        print(
            f"  {size} rows: dataset drift {pct(share([v.dataset_drift for v in result.drifted]))}"
            f", prediction drift {pct(share([v.prediction_drift for v in result.drifted]))}; "
            f"{named or 'no column'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=100, help="clean windows per size (100)")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[500, 2000, 10000], help="window sizes in rows"
    )
    parser.add_argument(
        "--drifted",
        type=int,
        default=20,
        help="windows per size with drift=input, and as many with --mix of it (20)",
    )
    parser.add_argument(
        "--mix",
        type=float,
        default=0.1,
        help="share of drift=input rows in the mixed windows, the rest clean (0.1)",
    )
    parser.add_argument(
        "--inputs",
        choices=("json", "frame"),
        default="json",
        help="rebuild model inputs from JSON records, as the server receives them (json), or "
        "from the frame (faster; both give the same inputs, checked on each size's first window)",
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a `bucle run` override for the model trained first, e.g. seed=7 (repeatable)",
    )
    parser.add_argument(
        "--raw-ks",
        action="store_true",
        help="also run scipy's ks_2samp against the training rows on windows of at most "
        "small_sample rows: what KS says without the profile's summary",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.windows < 1 or args.drifted < 0 or any(size < 1 for size in args.sizes):
        parser.error("--windows and --sizes must be at least 1, --drifted at least 0")
    if not 0 < args.mix <= 1:
        parser.error("--mix must be in (0, 1]")

    started = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="bucle-false-alarms-"))
    try:
        work, finished = trained_project(base, args.override)
        trained = time.perf_counter() - started
        from omegaconf import OmegaConf

        target = str(OmegaConf.load(work / ".hydra" / "config.yaml").data.target)
        judge = Judge(work, target, args.inputs, args.raw_ks)
        profile, thresholds = judge.profile, judge.monitor.thresholds
        held_out = profile.predictions.count if profile.predictions is not None else 0
        print(f"trained in {trained:.0f} s: {finished}")
        print(
            f"reference: {profile.rows} training rows for {len(profile.columns)} model inputs, "
            f"{held_out} held-out rows for the predictions; drift thresholds: "
            + ", ".join(f"{key}={value:g}" for key, value in thresholds.to_dict().items())
        )
        results: dict[int, SizeResults] = {}
        for size in args.sizes:
            begun = time.perf_counter()
            clean = [
                judge.judge(judge.table(size, CLEAN_SEED + i, "none")) for i in range(args.windows)
            ]
            drifted = [
                judge.judge(judge.table(size, DRIFTED_SEED + i, "input"))
                for i in range(args.drifted)
            ]
            mixed = [
                judge.judge(judge.table(size, MIXED_SEED + i, "input", args.mix))
                for i in range(args.drifted)
            ]
            results[size] = SizeResults(clean, drifted, mixed, time.perf_counter() - begun)
            print(
                f"size {size}: {len(clean) + len(drifted) + len(mixed)} windows in "
                f"{results[size].seconds:.1f} s",
                file=sys.stderr,
            )
        report(results, list(profile.columns), args, judge)
        windows = sum(result.seconds for result in results.values())
        print()
        print(
            f"took {time.perf_counter() - started:.0f} s: training {trained:.0f} s, windows "
            f"{windows:.0f} s (inputs from {args.inputs})"
        )
    finally:
        if args.keep:
            print(f"kept {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
