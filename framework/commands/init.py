"""``bucle init``: a new project, or with ``--plugin ROLE`` a new plugin package."""

from __future__ import annotations

from pathlib import Path


def init_command(name: str, role: str | None) -> int:
    if role is not None:
        from framework.scaffold.plugin import init_plugin

        path = init_plugin(role, name, Path.cwd())
        print(f"wrote the {role} plugin package {path}")
        print(f"  cd {path.name} && pip install -e . && pytest    # the {role} contract passes")
        return 0
    from framework.scaffold.project import init_project

    path, committed = init_project(name, Path.cwd())
    print(f"wrote project {path} (git and DVC initialised)")
    if not committed:
        print("  not committed: git has no user.name/user.email; commit it yourself")
    print(
        f"  cd {path.name} && dvc repro    # runs the whole pipeline on the synthetic churn table"
    )
    return 0
