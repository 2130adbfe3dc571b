"""``bucle plugins``: every installed plugin per role, its distribution, and whether it imports."""

from __future__ import annotations

from framework.commands.project import table
from framework.errors import PluginError
from framework.hooks.host import ROLES, distribution_of, installed, load_class, shadowed


def list_plugins() -> int:
    for role in ROLES.values():
        many = "many at once" if role.many else "one at a time"
        print(f"{role.name} ({role.group}; config '{role.section}', {many})")
        plugins = installed(role)
        if not plugins:
            print("  (none installed)\n")
            continue
        rows = []
        for name, entry_point in plugins.items():
            try:
                load_class(role, name)
                status = "ok"
            except PluginError as error:
                status = f"error: {str(error).split(': ', 1)[-1]}"
            rows.append([name, distribution_of(entry_point), status])
        print(
            "\n".join("  " + line for line in table(rows, ["name", "from", "import"]).split("\n"))
        )
        for name, dists in shadowed(role).items():
            print(f"  note: '{name}' is declared by {', '.join(dists)}; the first one is used")
        print()
    return 0
