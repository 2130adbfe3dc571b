"""``bucle release``: take the ``candidate`` version to production, or refuse it, with reasons.

1. **Staging.** The candidate is served by a staging server of its own on another port and must
   pass the smoke tests (:mod:`framework.release.staging`). Until then no user sees it.
2. **Strategy** (``deploy.strategy``). ``basic``: the candidate is promoted. ``canary`` and
   ``shadow``: the challenger alias (``deploy.challenger_alias``, ``staging``) is pointed at it,
   the running production server starts routing to it, and the release reads that server's
   metrics until ``deploy.release.min_requests`` challenger requests have been seen, then
   promotes the candidate or rolls it back (:mod:`framework.release.evidence`). The challenger
   alias is removed either way, so the server returns to serving production alone.

Every decision is written to the release journal with its reason and evidence as it is made;
``bucle deploy status`` shows the last release. Exit code 0 means promoted, 1 means refused or
rolled back; a precondition that fails (no candidate, no running server for a canary) is a
one-line error before anything changes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from framework.errors import BucleError
from framework.httpclient import free_port, get_json, get_text, url_host

#: Consecutive failed reads of the production server's metrics before a release gives up.
MAX_MISSED_READS = 10


def release(
    overrides: Sequence[str] = (),
    version: int | None = None,
    sample: str | None = None,
    url: str | None = None,
) -> int:
    from framework.commands.serve import serve_config
    from framework.hooks.host import build_host
    from framework.release.journal import Release
    from framework.release.policy import ReleasePolicy
    from framework.release.staging import read_sample
    from framework.serving.router import serving_strategy

    cfg = serve_config(overrides)
    strategy = serving_strategy(cfg)
    policy = ReleasePolicy.from_config(cfg.deploy)
    host = build_host(cfg, ["registry", "store", "tracker", "deployer", "hooks"])
    hook = host.hook
    name = str(cfg.project)
    served_alias = str(cfg.serve.alias)

    if version is not None:
        if hook.get_model_version(name=name, version=version) is None:
            raise BucleError(f"model '{name}' has no version {version}; see `bucle models list`")
        hook.set_model_alias(name=name, alias="candidate", version=version)
    candidate = hook.get_model_alias(name=name, alias="candidate")
    if candidate is None:
        raise BucleError(
            f"model '{name}' has no candidate version: the register stage sets it when a version "
            "passes evaluate.gate, or release one explicitly with `bucle release --version N`"
        )
    production = hook.get_model_alias(name=name, alias=served_alias)
    if production is not None and production.version == candidate.version:
        raise BucleError(
            f"{name} v{candidate.version} already is {served_alias}; nothing to release"
        )
    live = strategy.uses_challenger and production is not None
    server = production_server(hook, url) if live else None
    if live:
        check_server(server, strategy)
        if not host.manager.hook.delete_model_alias.get_hookimpls():
            raise BucleError(
                f"registry plugin '{cfg.registry.name}' cannot remove aliases "
                "(delete_model_alias), so a canary or shadow could not be ended; "
                "use deploy.strategy=basic"
            )
    sample_path = smoke_sample(cfg, hook, candidate, sample)
    table = read_sample(sample_path, max(policy.smoke_records, 1), int(cfg.seed))

    journal = Release(
        Path(str(cfg.paths.state)),
        hook,
        model=name,
        version=candidate.version,
        sha256=candidate.sha256,
        production_before=production.version if production is not None else None,
        strategy=strategy.name,
        sample=str(sample_path),
    )
    try:
        if not rehearse(cfg, host, candidate, table, policy, journal, overrides):
            journal.end("rejected")
            return 1
        if not live:
            why = (
                f"no version held {served_alias} yet"
                if production is None
                else "deploy.strategy=basic"
            )
            hook.set_model_alias(name=name, alias=served_alias, version=candidate.version)
            journal.decide(
                "promote",
                "promoted",
                f"v{candidate.version} is now {served_alias} ({why}; smoke tests passed)",
            )
            journal.end("promoted")
            return 0
        promoted = run_live(hook, name, served_alias, strategy, policy, server, candidate, journal)
        journal.end("promoted" if promoted else "rolled back")
        return 0 if promoted else 1
    except KeyboardInterrupt:
        if live:
            hook.delete_model_alias(name=name, alias=strategy.challenger_alias)
        journal.decide("release", "rolled back", "interrupted by the user; challenger removed")
        journal.end("rolled back")
        return 130
    except BucleError as error:
        journal.decide("release", "failed", str(error))
        journal.end("failed")
        raise


def production_server(hook: Any, url: str | None) -> str:
    """The base URL of the running production server: ``--url``, else the deployer's record."""
    if url:
        return url.rstrip("/")
    status = hook.deployment_status()
    if not (status and status.get("alive")):
        raise BucleError(
            "a canary or shadow release needs the production server running to send it "
            "traffic: start it with `bucle deploy`, or name it with --url"
        )
    return str(status.get("url") or f"http://{url_host(status['host'])}:{status['port']}")


def check_server(base: str, strategy: Any) -> None:
    """The running server must run the configured strategy with the same challenger alias."""
    described = get_json(base + "/model")
    if described is None:
        raise BucleError(f"the production server at {base} does not answer /model; is it up?")
    running = described.get("strategy")
    challenger = (described.get("challenger") or {}).get("alias")
    if running != strategy.name or challenger != strategy.challenger_alias:
        raise BucleError(
            f"the server at {base} runs strategy {running!r} (challenger {challenger!r}), the "
            f"config says {strategy.name!r} (challenger {strategy.challenger_alias!r}); "
            "redeploy with the same deploy.strategy, or release with it"
        )


def smoke_sample(cfg: Any, hook: Any, candidate: Any, given: str | None) -> Path:
    """The table the smoke tests send: ``--sample``, the candidate run's test split, or the
    project's ``<paths.data>/test.parquet``."""
    if given:
        path = Path(given)
        if not path.is_file():
            raise BucleError(f"--sample {given}: no such file; give a CSV or Parquet table")
        return path
    run = hook.get_run(run_id=candidate.run_id) if candidate.run_id else None
    recorded = ((run.manifest if run else {}).get("outputs") or {}).get("test") or {}
    for path in (recorded.get("path"), Path(str(cfg.paths.data)) / "test.parquet"):
        if path and Path(path).is_file():
            return Path(path)
    raise BucleError(
        f"no sample to smoke-test v{candidate.version} with: its run's test split is gone and "
        f"{cfg.paths.data}/test.parquet does not exist; pass --sample FILE (rows with the "
        "model's input columns and the target)"
    )


def rehearse(
    cfg: Any,
    host: Any,
    candidate: Any,
    table: Any,
    policy: Any,
    journal: Any,
    overrides: Sequence[str],
) -> bool:
    """Serve the candidate on a staging server and run the smoke tests; True when all pass."""
    from framework.release.staging import (
        check_latency,
        check_predictions,
        check_schema,
        sample_records,
        staging_server,
    )
    from framework.serving.auth import client_headers
    from framework.serving.models import load_version

    name = str(cfg.project)
    try:
        bundle = load_version(host, name, "candidate", candidate).bundle
    except BucleError as error:
        journal.decide("staging", "refused", f"v{candidate.version} cannot be loaded: {error}")
        return False
    records = sample_records(table, bundle.schema)
    port = policy.staging_port or free_port()
    log_path = Path(str(cfg.paths.state)) / "deploy" / f"staging-{port}.log"
    try:
        with staging_server(port, "candidate", log_path, policy.staging_timeout, overrides) as base:
            journal.decide("staging", "started", f"v{candidate.version} serving on {base}")
            headers = client_headers(cfg.serve)  # the predict token, if /predict needs one
            results = [
                check_schema(base, candidate, bundle, records[0], headers),
                check_predictions(base, bundle, table, records, headers),
                check_latency(
                    base, records[: policy.smoke_records], policy.smoke_latency_ms, headers
                ),
            ]
    except BucleError as error:
        journal.decide("staging", "failed", str(error))
        return False
    for result in results:
        decision = "passed" if result.passed else "failed"
        journal.decide(f"smoke {result.name}", decision, result.reason, **result.evidence)
    return all(result.passed for result in results)


def run_live(
    hook: Any,
    name: str,
    served_alias: str,
    strategy: Any,
    policy: Any,
    server: str,
    candidate: Any,
    journal: Any,
) -> bool:
    """Point the challenger alias at the candidate, watch live traffic, promote or roll back."""
    from framework.release.evidence import Evidence, challenger_evidence, judge

    def read() -> Evidence | None:
        text = get_text(server + "/metrics")
        return None if text is None else challenger_evidence(text, strategy.name, candidate.version)

    baseline = read()
    if baseline is None:
        raise BucleError(f"cannot read {server}/metrics; is the production server up?")
    challenger = strategy.challenger_alias
    hook.set_model_alias(name=name, alias=challenger, version=candidate.version)
    share = (
        f"{strategy.canary_fraction:.0%} of requests"
        if strategy.name == "canary"
        else "every request, in shadow"
    )
    journal.decide(
        strategy.name,
        "started",
        f"{challenger} → v{candidate.version} on {server}: the candidate takes {share}",
    )

    def end(promote: bool, reason: str, evidence: Evidence) -> bool:
        if promote:
            hook.set_model_alias(name=name, alias=served_alias, version=candidate.version)
        hook.delete_model_alias(name=name, alias=challenger)
        decision = "promoted" if promote else "rolled back"
        journal.decide(strategy.name, decision, reason, **evidence.summary())
        return promote

    deadline = time.monotonic() + policy.timeout_seconds
    missed, last_report = 0, time.monotonic()
    evidence = Evidence()
    while True:
        time.sleep(policy.poll_seconds)
        now = read()
        if now is None:
            missed += 1
            if missed >= MAX_MISSED_READS:
                return end(
                    False,
                    f"the production server at {server} stopped answering /metrics",
                    evidence,
                )
            continue
        missed = 0
        evidence = now.since(baseline)
        verdict = judge(evidence, policy, strategy.name, time.monotonic() >= deadline)
        if verdict.action != "wait":
            return end(verdict.action == "promote", verdict.reason, evidence)
        if time.monotonic() - last_report >= 10:
            print(f"{strategy.name}: {verdict.reason} so far", flush=True)
            last_report = time.monotonic()
