"""``bucle models promote`` and ``bucle models rollback`` through the real CLI."""

from __future__ import annotations

from pathlib import Path

from plugins.registries.local import LocalRegistry


def production(project: Path) -> int | None:
    found = LocalRegistry(str(project / ".bucle" / "registry.db")).get_model_alias(
        name="churn", alias="production"
    )
    return None if found is None else found.version


def test_promote_then_rollback_returns_production_to_the_previous_version(
    project_copy: Path, run
) -> None:
    first = run(["bucle", "models", "promote", "1"], project_copy)
    assert first.stdout.strip() == "churn v1 is now production"
    second = run(["bucle", "models", "promote", "2", "--alias", "production"], project_copy)
    assert second.stdout.strip() == "churn v2 is now production (was v1)"

    back = run(["bucle", "models", "rollback"], project_copy)

    assert back.stdout.strip() == "churn production rolled back to v1 (was v2)"
    assert production(project_copy) == 1
    # A second rollback undoes the first, like `kubectl rollout undo`.
    run(["bucle", "models", "rollback"], project_copy)
    assert production(project_copy) == 2


def test_rollback_skips_repeated_promotions_of_the_same_version(project_copy: Path, run) -> None:
    for version in ("1", "2", "2"):
        run(["bucle", "models", "promote", version], project_copy)

    run(["bucle", "models", "rollback"], project_copy)

    assert production(project_copy) == 1


def test_alias_mistakes_are_one_line_errors(project_copy: Path, run) -> None:
    nothing = run(["bucle", "models", "rollback"], project_copy, check=False)
    assert nothing.returncode == 1
    assert "no production version to roll back" in nothing.stderr
    misspelt = run(
        ["bucle", "models", "promote", "1", "--alias", "prod"], project_copy, check=False
    )
    assert "unknown alias 'prod'" in misspelt.stderr and "production" in misspelt.stderr
    missing = run(["bucle", "models", "promote", "9"], project_copy, check=False)
    assert "has no version 9" in missing.stderr
    run(["bucle", "models", "promote", "1"], project_copy)
    alone = run(["bucle", "models", "rollback"], project_copy, check=False)
    assert "only ever been v1" in alone.stderr
    for result in (nothing, misspelt, missing, alone):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    # The candidate alias set by the register stage has its own history.
    run(["bucle", "models", "promote", "1", "--alias", "candidate"], project_copy)
    assert production(project_copy) == 1
