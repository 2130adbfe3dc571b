"""The release journal: every release and each decision in it, with its reason and evidence.

Kept in ``<paths.state>/releases.json`` and rewritten atomically after each decision, so
``bucle deploy status`` run from another terminal shows a release while it happens, and a
release killed half-way leaves its decisions so far on disk.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framework.errors import BucleError
from framework.files import read_json, write_json

logger = logging.getLogger("bucle.release")

JOURNAL = "releases.json"
#: Releases kept in the journal; older ones are dropped when a new one starts.
KEEP = 50


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def journal_path(state_dir: Path | str) -> Path:
    return Path(state_dir) / JOURNAL


def read_releases(state_dir: Path | str) -> list[dict[str, Any]]:
    """Every recorded release, oldest first; an empty list before the first."""
    path = journal_path(state_dir)
    releases = read_json(path, "move the release journal aside to start a new one")
    if releases is None:
        return []
    if not isinstance(releases, list):
        raise BucleError(f"the release journal {path} is not a list; move it aside")
    return releases


def last_release(state_dir: Path | str) -> dict[str, Any] | None:
    releases = read_releases(state_dir)
    return releases[-1] if releases else None


class Release:
    """One release being made: appends decisions and saves the journal after each."""

    def __init__(self, state_dir: Path | str, hook: Any = None, **facts: Any) -> None:
        self.state_dir = Path(state_dir)
        self.hook = hook
        self.record: dict[str, Any] = {
            "id": uuid.uuid4().hex[:12],
            "started_at": _now(),
            "ended_at": None,
            "outcome": "in progress",
            **facts,
            "decisions": [],
        }
        releases = read_releases(self.state_dir)[-(KEEP - 1) :]
        self._releases = [*releases, self.record]
        self._save()

    def decide(self, step: str, decision: str, reason: str, **evidence: Any) -> None:
        """Record one decision of ``step`` (``staging``, ``smoke``, ``canary``…) and say it."""
        entry = {"at": _now(), "step": step, "decision": decision, "reason": reason}
        if evidence:
            entry["evidence"] = evidence
        self.record["decisions"].append(entry)
        self._save()
        print(f"{step}: {decision} — {reason}", flush=True)
        if self.hook is not None:
            try:
                self.hook.on_release_decision(release=dict(self.record), decision=entry)
            except Exception as error:  # a notifier failing must not decide the release
                logger.error("on_release_decision failed: %s: %s", type(error).__name__, error)

    def end(self, outcome: str) -> None:
        self.record["outcome"] = outcome
        self.record["ended_at"] = _now()
        self._save()

    def _save(self) -> None:
        write_json(journal_path(self.state_dir), self._releases)
