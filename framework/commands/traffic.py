"""``bucle traffic``: send a data source's rows to a running server as production traffic.

For rehearsing the loop without real users: the configured source (``data``) generates or
reads rows, with any overrides (``data.drift=input``, ``data.n_rows=2000``,
``data.path=next_week.csv``), and they are posted to ``/predict`` in batches like a client
would, without the target. With ``--feedback SHARE`` the true labels of that share of the rows
are then posted to ``/feedback``, as ground truth arriving later, with the write token of the
config (``serve.token``, else ``BUCLE_SERVE_TOKEN``); ``/predict`` gets the predict token when
there is one. The seed defaults to one past the config's, so the traffic is not the training
data itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from framework.errors import BucleError


def traffic(
    overrides: Sequence[str] = (),
    rows: int | None = None,
    batch: int = 50,
    feedback: float = 0.0,
    url: str | None = None,
    seed: int | None = None,
) -> int:
    from framework.commands.serve import command_config
    from framework.hooks.host import build_host
    from framework.httpclient import request_json
    from framework.serving.auth import client_headers

    if batch < 1 or not 0.0 <= feedback <= 1.0 or (rows is not None and rows < 1):
        raise BucleError(
            f"--batch {batch}, --feedback {feedback}, --rows {rows}: batch and rows must be at "
            "least 1 and feedback a share between 0 and 1"
        )
    cfg = command_config(overrides)
    # The tokens of the server's config (or BUCLE_SERVE_TOKEN / BUCLE_PREDICT_TOKEN).
    predict_headers = client_headers(cfg.serve)
    write_headers = client_headers(cfg.serve, write=True)
    if feedback > 0 and not write_headers:
        raise BucleError(
            "--feedback needs the server's write token: set serve.token or the environment "
            "variable BUCLE_SERVE_TOKEN to the token the server was started with"
        )
    host = build_host(cfg, ["source", "deployer"])
    base = server_url(host.hook, url)
    seed = int(cfg.seed) + 1 if seed is None else seed
    table = host.hook.load_data(seed=seed)
    if rows is not None:
        table = table.head(rows)
    target = str(cfg.data.target)
    if target not in table.columns:
        raise BucleError(f"data.target={target!r} is not a column of the source's rows")
    labels = table[target].tolist()
    records = json.loads(table.drop(columns=[target]).to_json(orient="records", date_format="iso"))
    answered: list[tuple[str, Any]] = []
    refused = 0
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        status, body = request_json(
            "POST",
            base + "/predict",
            {"records": chunk},
            {"X-Request-ID": f"traffic-{seed}-{start // batch}", **predict_headers},
            timeout=60,
        )
        if status is None:
            raise BucleError(
                f"the server at {base} does not answer; start it with `bucle deploy` or check --url"
            )
        if status != 200:
            refused += len(chunk)
            detail = body.get("detail") if isinstance(body, dict) else body
            print(f"batch {start // batch}: HTTP {status}: {detail}")
            continue
        for offset, answer in enumerate(body["predictions"]):
            answered.append((answer["request_id"], labels[start + offset]))
    print(f"sent {len(records)} rows to {base}: {len(answered)} answered, {refused} refused")
    if feedback > 0 and answered:
        count = round(feedback * len(answered))
        items = [
            {"request_id": request_id, "label": plain(label), "source": "bucle traffic"}
            for request_id, label in answered[:count]
        ]
        stored = 0
        for start in range(0, len(items), batch * 10):
            status, body = request_json(
                "POST",
                base + "/feedback",
                {"items": items[start : start + batch * 10]},
                write_headers,
            )
            if status != 200:
                raise BucleError(f"POST /feedback answered HTTP {status}: {body}")
            stored += int(body["stored"])
        print(f"sent ground truth for {stored} of them")
    return 0 if answered else 1


def server_url(hook: Any, url: str | None) -> str:
    if url:
        return url.rstrip("/")
    status = hook.deployment_status()
    if not (status and status.get("alive") and status.get("url")):
        raise BucleError(
            "no running server to send traffic to: start one with `bucle deploy`, or name one "
            "with --url"
        )
    return str(status["url"])


def plain(value: Any) -> Any:
    """A numpy or pandas scalar as the JSON value it holds."""
    return value.item() if hasattr(value, "item") else value
