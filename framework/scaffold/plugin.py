"""``bucle init --plugin ROLE NAME``: a plugin package whose role contract already passes.

It writes ``bucle-NAME/`` with the plugin class (a small working implementation to replace),
the config option it ships, both entry points (the role's group and ``bucle.config``) and a
test module that runs the role's contract from :mod:`framework.testing`.
"""

from __future__ import annotations

from pathlib import Path

from framework.errors import BucleError
from framework.hooks.host import ROLES
from framework.scaffold import TEMPLATES, check_name, empty_target, fill

#: Roles with a contract in framework.testing and a template here: (contract, class suffix).
SCAFFOLDED = {
    "source": ("SourceContract", "Source"),
    "validator": ("ValidatorContract", "Validator"),
    "tracker": ("TrackerContract", "Tracker"),
    "store": ("StoreContract", "Store"),
    "registry": ("RegistryContract", "Registry"),
    "monitor": ("MonitorContract", "Monitor"),
    "alerter": ("AlerterContract", "Alerter"),
}
#: How a project selects a plugin of each role once it is installed.
SELECTORS = {
    "source": "data={name}",
    "validator": "'validate=[rules,{name}]'",
    "tracker": "'tracker=[local,{name}]'",
    "store": "store={name}",
    "registry": "registry={name}",
    "monitor": "'monitor=[drift,quality,performance,service,{name}]'",
    "alerter": "'alert=[log,{name}]'",
}

#: What a package of each role needs to say beyond the common README (Markdown, may be empty).
NOTES = {
    "source": (
        "\n## Its data file and DVC\n\n"
        "With `data.path` set, the source reads that CSV. Keep the file in your project's\n"
        "`data/input/` and version it with `dvc add data/input/{name}.csv`: the `ingest` stage\n"
        "of a `bucle init` project depends on `data/input/`, so a new version of the file reruns\n"
        "the pipeline on `dvc repro`. A file kept elsewhere must be added under `deps` of\n"
        "`ingest` in `dvc.yaml`:\n\n"
        "```yaml\nstages:\n  ingest:\n    cmd: bucle stage ingest\n    deps:\n"
        "      - data/input\n"
        "      - /mnt/exports/{name}.csv   # a file outside data/input/\n```\n\n"
        "`data.target` (the column to predict) is read by Bucle itself; the class receives it\n"
        "because its constructor takes a `target` parameter.\n"
    ),
    "alerter": (
        "\n## When it is called\n\n"
        "`send_on` in its section (`alert.{name}.send_on`) is read by `bucle monitor`, not by\n"
        "the class: `findings` (the default: a monitor says warning or drift), `drift` or\n"
        "`always`.\n"
    ),
}


def init_plugin(role: str, name: str, parent: Path) -> Path:
    """Write the package ``bucle-<name>`` under ``parent`` and return its path."""
    if role not in SCAFFOLDED:
        raise BucleError(
            f"`bucle init --plugin` has no template for role {role!r}; choose one of "
            f"{', '.join(SCAFFOLDED)} (see docs/plugins.md for the others)"
        )
    check_name(name, "plugin")
    contract, suffix = SCAFFOLDED[role]
    package = f"bucle_{name}"
    values = {
        "name": name,
        "role": role,
        "Class": "".join(part.capitalize() for part in name.split("_")) + suffix,
        "package": package,
        "dist": f"bucle-{name.replace('_', '-')}",
        "group": ROLES[role].group,
        "section": ROLES[role].section,
        "contract": contract,
        "selector": SELECTORS[role].format(name=name),
        "notes": NOTES.get(role, "").format(name=name),
    }
    target = empty_target(parent / values["dist"])
    plugin_dir = TEMPLATES / "plugin"
    files = {
        "pyproject.toml": plugin_dir / "pyproject.toml.tmpl",
        "README.md": plugin_dir / "README.md.tmpl",
        f"{package}/__init__.py": plugin_dir / "roles" / f"{role}.py.tmpl",
        f"{package}/conf/__init__.py": None,
        f"{package}/conf/{values['section']}/{name}.yaml": plugin_dir
        / "roles"
        / f"{role}.yaml.tmpl",
        f"tests/test_{name}.py": plugin_dir / "roles" / f"{role}_test.py.tmpl",
    }
    for relative, template in files.items():
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        text = template.read_text() if template else '"""Config options this plugin ships."""\n'
        destination.write_text(fill(text, values))
    return target
