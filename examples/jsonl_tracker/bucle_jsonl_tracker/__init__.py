"""A Bucle tracker that appends every run event to a JSON Lines file, one JSON object a line.

An example of a third-party plugin: it lives outside Bucle, declares the entry point ``jsonl`` in
the ``bucle.trackers`` group, and is selected by config (``+tracker.jsonl.path=runs.jsonl``) next
to any other tracker (`tracker=[local,jsonl]`, from the config option this package ships in
``conf/tracker/jsonl.yaml``). Each event is one line, written with a single ``O_APPEND`` write and
fsynced, so concurrent runs never interleave inside a line and a killed process loses at most
the event it was writing.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework import hookimpl

if TYPE_CHECKING:
    from framework.records import RunInfo

__version__ = "0.1.0"


class JsonlTracker:
    """Appends run events to ``tracker.jsonl.path`` (created with its parent directories).

    Every line holds ``event`` (the hook's name), ``run_id``, ``logged_at`` (UTC) and the hook's
    arguments: ``project``/``started_at``/``tags``, ``params``, ``metrics``,
    ``name``/``path``/``sha256`` or ``status``/``manifest``.
    """

    def __init__(self, path: str = "runs.jsonl") -> None:
        self.path = Path(path)

    @hookimpl
    def start_run(self, run: RunInfo) -> None:
        fields = dataclasses.asdict(run)
        run_id = fields.pop("run_id")
        self._append("start_run", run_id, **fields)

    @hookimpl
    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        self._append("log_params", run_id, params=params)

    @hookimpl
    def log_metrics(self, run_id: str, metrics: dict[str, float]) -> None:
        self._append("log_metrics", run_id, metrics={k: float(v) for k, v in metrics.items()})

    @hookimpl
    def log_artifact(self, run_id: str, name: str, path: Path, sha256: str) -> None:
        self._append("log_artifact", run_id, name=name, path=str(path), sha256=sha256)

    @hookimpl
    def end_run(self, run_id: str, status: str, manifest: dict[str, Any]) -> None:
        self._append("end_run", run_id, status=status, manifest=manifest)

    def _append(self, event: str, run_id: str, **fields: Any) -> None:
        record = {
            "event": event,
            "run_id": run_id,
            "logged_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            **fields,
        }
        line = (json.dumps(record, default=str, sort_keys=True) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One unbuffered write on an O_APPEND descriptor: the kernel places the whole line at the
        # end of the file even when several processes append at once. fsync makes it durable.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
