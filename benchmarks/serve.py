"""Throughput and latency of ``bucle serve``'s /predict against a bare FastAPI endpoint.

Both servers run in the same benchmark, on the same machine, as uvicorn subprocesses with the
same settings (one worker, access log off) and the same model artifact. The bare endpoint does
only what any FastAPI wrapper around the model must: parse the JSON body, build the model's
inputs with :func:`~framework.features.serving.model_inputs`, call ``predict_proba`` and return
the probabilities. No validation, no inference log, no metrics. What ``bucle serve`` costs on top
of that is the ratio this script prints.

Absolute numbers depend on the machine and on what else runs on it; the ratios are measured in
one run, with the servers taking turns (ABAB...) and the median of the repeats reported, so
they are what to compare across runs.

Run from the repository root::

    .venv/bin/python benchmarks/serve.py [--requests N] [--concurrency C] [--batch B]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

#: What a project needs to run the pipeline, as in tests/conftest.py.
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

#: The baseline: the same model behind the thinnest FastAPI endpoint, run like ``bucle serve``.
BARE_APP = '''\
"""A bare FastAPI endpoint over the same artifact: no validation, no log, no metrics."""

import json
import os
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from framework.features.serving import model_inputs
from framework.modeling.artifact import load_model

bundle = load_model(Path(os.environ["BENCH_ARTIFACT"]))
classes = [str(value) for value in bundle.classes]
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


def score(records):
    proba = bundle.pipeline.predict_proba(model_inputs(records, bundle.schema))
    return [dict(zip(classes, map(float, row))) for row in proba]


@app.post("/predict")
async def predict(request: Request):
    records = json.loads(await request.body())["records"]
    return JSONResponse({"probabilities": await run_in_threadpool(score, records)})


@app.get("/health")
async def health():
    return JSONResponse({"status": "alive"})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
'''


def run(args: list[str], cwd: Path) -> str:
    result = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout + result.stderr


def trained_project(base: Path, n_rows: int) -> tuple[Path, Path, Path]:
    """The example project trained once, v1 promoted: (project, artifact, test rows)."""
    project = base / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        destination = project / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, destination)
        else:
            shutil.copy2(ROOT / name, destination)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in CODE_DIRS:
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    run(["git", "init", "-q", "-b", "main"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-q", "-m", "project"], project)
    output = run([str(BIN / "bucle"), "run", f"data.n_rows={n_rows}"], project)
    line = next(line for line in output.splitlines() if "outputs in" in line)
    work = Path(line.split("outputs in ", 1)[1].strip())
    run([str(BIN / "bucle"), "models", "promote", "1", "--alias", "production"], project)
    shown = json.loads(run([str(BIN / "bucle"), "models", "show", "1"], project))
    artifact = Path(shown["lineage"]["artifact_uri"].removeprefix("file://"))
    return project, artifact, work / "data" / "test.parquet"


def client_records(test_rows: Path, artifact: Path) -> list[dict[str, Any]]:
    """Test rows as a client sends them: no target, no derived columns, dates as ISO text."""
    import pandas as pd

    from framework.modeling.artifact import load_model

    schema = load_model(artifact).schema
    frame = pd.read_parquet(test_rows)
    raw = frame.drop(columns=[schema.target, *[c for c in schema.derived if c in frame.columns]])
    return json.loads(raw.to_json(orient="records", date_format="iso"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A server subprocess on a free loopback port, its output in a file; always stopped."""

    def __init__(self, label: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.label = label
        self.port = free_port()
        self.args = [part.replace("{port}", str(self.port)) for part in args]
        self.cwd = cwd
        self.env = env
        self.log_path = cwd.parent / f"{label}-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Server:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.args, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/ready" if self.label == "bucle" else "/health")
                if connection.getresponse().status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        log = self.log_path.read_text(errors="replace")
        raise SystemExit(f"{self.label} server did not become ready:\n{log}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Result:
    seconds: float
    latencies: list[float]
    failures: int
    requests: int
    records: int


def load(port: int, bodies: list[bytes], requests: int, concurrency: int, per_body: int) -> Result:
    """POST to /predict from ``concurrency`` threads, one keep-alive connection per thread."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures = [0] * concurrency
    counter = iter(range(requests))
    lock = threading.Lock()
    headers = {"Content-Type": "application/json"}

    def worker(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                body = bodies[index % len(bodies)]
                started = time.perf_counter()
                try:
                    connection.request("POST", "/predict", body, headers)
                    response = connection.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                latencies[slot].append(time.perf_counter() - started)
                failures[slot] += not ok
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    flat = [value for part in latencies for value in part]
    return Result(seconds, flat, sum(failures), requests, requests * per_body)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(results: list[Result]) -> dict[str, float]:
    """Medians over the repeats of each repeat's throughput and latency percentiles."""
    return {
        "req/s": statistics.median(r.requests / r.seconds for r in results),
        "records/s": statistics.median(r.records / r.seconds for r in results),
        "p50 ms": statistics.median(percentile(r.latencies, 0.50) * 1000 for r in results),
        "p99 ms": statistics.median(percentile(r.latencies, 0.99) * 1000 for r in results),
        "non-200": sum(r.failures for r in results),
    }


def report(title: str, bucle: dict[str, float], bare: dict[str, float]) -> None:
    print(f"\n{title}")
    print(f"  {'':<10} {'bucle':>10} {'bare':>10} {'bucle/bare':>11}")
    for key in ("req/s", "records/s", "p50 ms", "p99 ms"):
        ratio = bucle[key] / bare[key] if bare[key] else float("nan")
        print(f"  {key:<10} {bucle[key]:>10.1f} {bare[key]:>10.1f} {ratio:>11.2f}")
    print(f"  {'non-200':<10} {bucle['non-200']:>10d} {bare['non-200']:>10d}")
    verdict = "meets" if bucle["req/s"] / bare["req/s"] >= 0.8 else "MISSES"
    print(f"  throughput ratio {bucle['req/s'] / bare['req/s']:.2f} {verdict} the 0.8 goal")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="requests per single run")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--batch", type=int, default=100, help="records per batched request")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per server")
    parser.add_argument("--rows", type=int, default=2000, help="data.n_rows to train with")
    options = parser.parse_args(argv)
    # Batched requests carry many records each; fewer of them keep the run short.
    batched_requests = max(options.concurrency, options.requests // 4)

    base = Path(tempfile.mkdtemp(prefix="bucle-bench-"))
    servers: list[Server] = []
    try:
        print(f"training the example project (data.n_rows={options.rows}) in {base} ...")
        project, artifact, test_rows = trained_project(base, options.rows)
        records = client_records(test_rows, artifact)
        (base / "bare_app.py").write_text(BARE_APP)
        bucle = Server("bucle", [str(BIN / "bucle"), "serve", "--port", "{port}"], project, ENV)
        bare_env = {**ENV, "BENCH_ARTIFACT": str(artifact), "PYTHONPATH": str(project)}
        bare = Server(
            "bare", [sys.executable, str(base / "bare_app.py"), "{port}"], project, bare_env
        )
        servers += [bucle, bare]
        for server in servers:
            server.start()

        singles = [json.dumps({"records": [record]}).encode() for record in records]
        batches = [
            json.dumps(
                {"records": [records[(i + j) % len(records)] for j in range(options.batch)]}
            ).encode()
            for i in range(0, len(records), max(1, len(records) // 16))
        ]
        scenarios = [
            ("single record per request", singles, options.requests, 1),
            (f"{options.batch} records per request", batches, batched_requests, options.batch),
        ]
        print(
            f"{len(records)} test records; concurrency {options.concurrency}; "
            f"{options.repeats} alternating repeats per server; medians shown"
        )
        for title, bodies, requests, per_body in scenarios:
            for server in servers:  # warm-up: imports, first predict, connection set-up
                load(server.port, bodies, max(2 * options.concurrency, requests // 10), 4, 1)
            results: dict[str, list[Result]] = {server.label: [] for server in servers}
            for repeat in range(options.repeats):
                order = servers if repeat % 2 == 0 else servers[::-1]
                for server in order:
                    results[server.label].append(
                        load(server.port, bodies, requests, options.concurrency, per_body)
                    )
            title = f"{title}: {requests} requests x {options.repeats} repeats"
            report(title, summary(results["bucle"]), summary(results["bare"]))
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
