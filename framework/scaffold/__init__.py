"""``bucle init``: new projects and new plugin packages, ready to run and to test.

The templates are files in this package (``project/``, ``plugin/``) with ``{{placeholders}}``;
they are shipped with Bucle, so ``bucle init`` works from an installed wheel.
"""

from __future__ import annotations

import re
from pathlib import Path

from framework.errors import BucleError

TEMPLATES = Path(__file__).resolve().parent
NAME = re.compile(r"[a-z][a-z0-9_]*")


def check_name(name: str, what: str) -> str:
    """A project or plugin name: lower case letters, digits and ``_``, starting with a letter."""
    if not NAME.fullmatch(name):
        raise BucleError(
            f"{what} name {name!r} is not allowed; use lower-case letters, digits and _, "
            "starting with a letter (e.g. churn_model)"
        )
    return name


def empty_target(path: Path) -> Path:
    """``path`` if it does not exist or is an empty directory; refuse to overwrite anything."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BucleError(f"{path} already exists and is not empty; choose another name")
    return path


def fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text
