"""The data rules of the validate stage, applied to served records (``serve.rules``).

A record the validate stage would quarantine (a plan outside ``allowed``, a negative tenure where
the rule says ``min: 0``) is one the model never learned from; the model still answers it, with
confidence. ``serve.rules`` says what the server does about it:

``warn`` (the default)
    answer, and flag the record: its answer carries ``"warnings": ["tenure_months: min 0"]``,
    the inference log row the same list (``rule_warnings``), and ``/metrics`` counts it in
    ``bucle_rule_violations_total{rule="tenure_months:min", action="warned"}``;
``refuse``
    answer 422 naming the record, the field and the rule, and predict nothing;
``off``
    check nothing.

The rules are ``validate.rules`` of the config the server runs with — the same definitions the
validate stage reads, so a project states once what its data must look like, and changing them
takes a server restart, like every other setting. Only the rules about one record apply: ``type``,
``min``, ``max``, ``allowed``, ``not_null`` and the cross-column ``consistency`` rules. Rules
about a table (``unique``, ``canonical``, ``max_missing``, ``keys``, ``freshness``) say nothing
about a single record, and a rule on a column the request does not carry (the target, an id the
client leaves out) is skipped.

The checks are the rules validator's own (:class:`plugins.validators.rules.RulesValidator`),
run column-wise on the request's records at once, so a 1000-record request costs one pass per
rule, not one per record.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from framework.errors import ConfigError, did_you_mean

#: What ``serve.rules`` may say.
MODES = ("off", "warn", "refuse")
#: Column rules that judge one record; the others judge a whole table.
RECORD_RULES = ("type", "min", "max", "allowed", "not_null")


@dataclass(frozen=True)
class RuleFindings:
    """What the rules found in one request: per record its warnings, per rule how many records."""

    warnings: list[list[str]]
    counts: Counter
    #: (record, field, rule text, value) of each broken rule, in record order: what a 422 names.
    problems: list[tuple[int, str | None, str, Any]]

    def __bool__(self) -> bool:
        return bool(self.problems)


class ServingRules:
    """``validate.rules`` reduced to the rules about one record, ready to check requests."""

    def __init__(self, rules: Any, mode: str = "warn") -> None:
        from omegaconf import DictConfig, OmegaConf

        from plugins.validators.rules import RulesValidator

        if mode not in MODES:
            raise ConfigError(
                f"serve.rules={mode!r} is not a mode; use one of {', '.join(MODES)}"
                + did_you_mean(str(mode), MODES)
            )
        self.mode = mode
        if isinstance(rules, DictConfig):
            rules = OmegaConf.to_container(rules, resolve=True)
        rules = rules or {}
        columns = {
            str(name): {key: value for key, value in (checks or {}).items() if key in RECORD_RULES}
            for name, checks in (rules.get("columns") or {}).items()
        }
        self.validator = RulesValidator(
            columns={name: checks for name, checks in columns.items() if checks},
            consistency=rules.get("consistency") or None,
        )
        #: The columns any rule reads: the only ones taken out of the records.
        self.reads = sorted(
            set(self.validator.columns).union(
                *(rule.columns for rule in self.validator.consistency.values())
            )
        )
        #: A rule's name -> the short text a warning shows ("tenure_months: min 0").
        self.texts = {
            f"{column}:{rule}": _describe(column, rule, value)
            for column, checks in self.validator.columns.items()
            for rule, value in checks.items()
        }
        self.texts.update(
            {
                f"consistency:{name}": f"{name}: {rule.expression}"
                for name, rule in self.validator.consistency.items()
            }
        )

    @classmethod
    def from_config(cls, cfg: Any) -> ServingRules | None:
        """The rules a server with ``cfg`` applies; None when ``serve.rules=off`` or the project
        uses no ``rules`` validator."""
        mode = str(cfg.serve.get("rules", "warn"))
        if mode == "off":
            return None
        rules = (cfg.get("validate") or {}).get("rules")
        checker = cls(rules, mode)
        return checker if checker.reads else None

    @property
    def refuses(self) -> bool:
        return self.mode == "refuse"

    def check(self, records: list[dict[str, Any]]) -> RuleFindings:
        """Every record-level rule on ``records`` (already checked against the model's schema)."""
        import pandas as pd

        present = [name for name in self.reads if any(name in record for record in records)]
        frame = pd.DataFrame({name: [record.get(name) for record in records] for name in present})
        warnings: list[list[str]] = [[] for _ in records]
        counts: Counter = Counter()
        problems: list[tuple[int, str | None, str, Any]] = []
        for result in self.validator.validate_data(frame, target=""):
            # A dataset-level result here is a rule on a column this request does not carry.
            if result.passed or result.level != "row":
                continue
            text = self.texts.get(result.name, result.name)
            counts[result.name] += len(result.failed_rows)
            for row in result.failed_rows:
                warnings[row].append(text)
                value = records[row].get(result.column) if result.column else None
                problems.append((row, result.column, text, value))
        problems.sort(key=lambda problem: problem[0])
        return RuleFindings(warnings, counts, problems)


def _describe(column: str, rule: str, value: Any) -> str:
    """A rule as one short phrase: ``age: min 18``, ``plan: allowed basic, pro``."""
    if rule == "not_null":
        return f"{column}: not_null"
    if rule == "allowed":
        shown = ", ".join(map(str, value[:10])) + (", ..." if len(value) > 10 else "")
        return f"{column}: allowed {shown}"
    if hasattr(value, "isoformat"):
        return f"{column}: {rule} {value.isoformat()}"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return f"{column}: {rule} {value}"
