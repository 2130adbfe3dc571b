"""The staging rehearsal: the candidate on a server of its own, and the smoke tests it must pass.

The staging server is a real ``bucle serve`` process on another port, serving the ``candidate``
alias with the basic strategy, so it is exactly what production will run. Three smoke tests:

``schema``
    ``/model`` names the candidate's version and sha256 and asks for the fields its training
    data had, and a record without one of them is refused with a 422.
``predictions``
    Sample records sent over HTTP get the predictions (and probabilities) the model makes
    offline on the same rows as the evaluate stage read them. A difference is training/serving
    skew: the feature code or the decision rule differs between the two paths.
``latency``
    One-record requests, one at a time; their p99 must stay within ``smoke_latency_ms``.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framework.errors import BucleError
from framework.httpclient import get_json, request_json
from framework.serverprocess import wait_ready


@dataclass
class SmokeResult:
    """One smoke test: passed or not, why, and the figures behind it."""

    name: str
    passed: bool
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def staging_server(
    port: int, alias: str, log_path: Path, timeout: float, overrides: Sequence[str] = ()
) -> Iterator[str]:
    """Run ``bucle serve`` for ``alias`` on ``127.0.0.1:port`` until the block ends; yields its
    base URL once ``/ready`` answers. Raises BucleError (with the server's reason) otherwise."""
    command = [
        sys.executable,
        "-m",
        "framework",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--alias",
        alias,
        "--strategy",
        "basic",
        *overrides,
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(
            process, base, log_path, timeout, "the staging server", "deploy.release.staging_timeout"
        )
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def check_schema(
    base: str,
    version: Any,
    bundle: Any,
    record: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> SmokeResult:
    """The staging server serves this version and enforces its training schema.

    ``headers`` go with every ``/predict`` (the predict token, when the config has one)."""
    from framework.features.serving import input_fields

    described = get_json(base + "/model") or {}
    expected = input_fields(bundle.schema)
    evidence = {"version": described.get("version"), "fields": len(expected)}
    if (described.get("version"), described.get("sha256")) != (version.version, version.sha256):
        return SmokeResult(
            "schema",
            False,
            f"staging serves v{described.get('version')}, not the candidate v{version.version}",
            evidence,
        )
    if described.get("fields") != expected:
        return SmokeResult(
            "schema",
            False,
            f"staging asks for fields {sorted(described.get('fields') or {})}, the model was "
            f"trained on {sorted(expected)}",
            evidence,
        )
    field_name = next(iter(expected))
    broken = {key: value for key, value in record.items() if key != field_name}
    status, _ = request_json("POST", base + "/predict", {"records": [broken]}, headers)
    if status != 422:
        return SmokeResult(
            "schema",
            False,
            f"a record without field '{field_name}' got HTTP {status}, not 422",
            evidence,
        )
    return SmokeResult(
        "schema",
        True,
        f"v{version.version} serves its {len(expected)} training fields and refuses a record "
        f"without '{field_name}'",
        evidence,
    )


def check_predictions(
    base: str,
    bundle: Any,
    sample: Any,
    records: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
) -> SmokeResult:
    """Predictions over HTTP equal the offline ones on the same rows (probabilities, or a
    regression model's numbers, to 1e-9)."""
    from framework.modeling.schema import prepare_inputs

    inputs = prepare_inputs(sample, bundle.schema)
    if bundle.regression:
        offline = [float(value) for value in bundle.pipeline.predict(inputs)]
        proba = [None] * len(offline)
    else:
        proba = bundle.pipeline.predict_proba(inputs)
        offline = bundle.decide(proba).tolist()
    status, body = request_json(
        "POST",
        base + "/predict",
        {"records": records},
        {"X-Request-ID": "smoke", **(headers or {})},
        timeout=60,
    )
    if status != 200 or not isinstance(body, dict):
        detail = (body or {}).get("detail") if isinstance(body, dict) else body
        return SmokeResult(
            "predictions", False, f"the sample got HTTP {status}: {detail}", {"rows": len(records)}
        )
    served = body["predictions"]
    classes = [str(value) for value in bundle.classes]

    def differs(answer: dict[str, Any], expected: Any, row: Any) -> bool:
        if bundle.regression:  # a number, the same to 1e-9
            return not math.isclose(answer["prediction"], expected, rel_tol=0, abs_tol=1e-9)
        return answer["prediction"] != expected or any(
            not math.isclose(answer["probabilities"][label], float(p), rel_tol=0, abs_tol=1e-9)
            for label, p in zip(classes, row, strict=True)
        )

    mismatched = [
        index
        for index, (answer, expected, row) in enumerate(zip(served, offline, proba, strict=True))
        if differs(answer, expected, row)
    ]
    evidence = {"rows": len(records), "mismatched": len(mismatched)}
    if mismatched:
        first = mismatched[0]
        return SmokeResult(
            "predictions",
            False,
            f"{len(mismatched)} of {len(records)} sample rows differ from the offline "
            f"predictions (first: row {first}, served {served[first]['prediction']!r}, offline "
            f"{offline[first]!r}): training and serving compute features differently",
            evidence,
        )
    return SmokeResult(
        "predictions",
        True,
        f"{len(records)} sample rows predicted over HTTP equal the offline predictions",
        evidence,
    )


def check_latency(
    base: str,
    records: list[dict[str, Any]],
    budget_ms: float,
    headers: dict[str, str] | None = None,
) -> SmokeResult:
    """p99 of one-record requests sent one after another, against the budget."""
    seconds = []
    for index, record in enumerate(records):
        started = time.perf_counter()
        status, _ = request_json(
            "POST",
            base + "/predict",
            {"records": [record]},
            {"X-Request-ID": f"smoke-{index}", **(headers or {})},
        )
        seconds.append(time.perf_counter() - started)
        if status != 200:
            return SmokeResult(
                "latency", False, f"sample record {index} got HTTP {status}", {"sent": index + 1}
            )
    ordered = sorted(seconds)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)] * 1000
    evidence = {"requests": len(ordered), "p50_ms": round(p50, 2), "p99_ms": round(p99, 2)}
    if p99 > budget_ms:
        return SmokeResult(
            "latency",
            False,
            f"p99 {p99:.1f} ms over {len(ordered)} requests exceeds the budget of {budget_ms:g} "
            "ms (deploy.release.smoke_latency_ms)",
            evidence,
        )
    return SmokeResult(
        "latency",
        True,
        f"p99 {p99:.1f} ms (p50 {p50:.1f} ms) over {len(ordered)} requests, within "
        f"{budget_ms:g} ms",
        evidence,
    )


def sample_records(sample: Any, schema: Any) -> list[dict[str, Any]]:
    """Rows as a client sends them: no target, no derived columns, dates as ISO text."""
    import json

    drop = [schema.target, *[column for column in schema.derived if column in sample.columns]]
    raw = sample.drop(columns=[column for column in drop if column in sample.columns])
    return json.loads(raw.to_json(orient="records", date_format="iso"))


def read_sample(path: Path, rows: int, seed: int) -> Any:
    """Up to ``rows`` rows of a CSV or Parquet table, chosen with ``seed``."""
    from framework.tables import read_table

    try:
        table = read_table(path)
    except Exception as error:
        raise BucleError(f"cannot read the smoke-test sample {path}: {error}") from None
    if table.empty:
        raise BucleError(f"the smoke-test sample {path} has no rows; pass --sample FILE")
    return table.sample(n=min(rows, len(table)), random_state=seed).reset_index(drop=True)
