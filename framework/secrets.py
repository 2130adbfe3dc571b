"""Secrets stay out of what Bucle records: tracked params, run manifests, model lineage.

A config holds credentials where a plugin needs them (``store.storage_options.secret``,
``registry.tracking_uri`` with a password, ``alert.webhook.headers.Authorization``), usually
interpolated from the environment. Trackers, manifests and registries keep what they are given
for good, so before a config is recorded every value under a key that names a secret becomes
``***`` and every ``user:password@`` in a text is masked. A run whose config held secrets is
reproduced with the same environment variables set: ``bucle runs reproduce`` re-reads them
through the project's config, never from the record.
"""

from __future__ import annotations

import re
from typing import Any

from framework.urls import masked_text

#: A key naming a credential (a whole word of it: ``secret``, ``aws_secret_access_key``, but not
#: ``max_tokens``): its value is never recorded.
SECRET_KEY = re.compile(
    r"(^|[_.-])(pass|passwd|password|secret|token|credentials?|api_?key|access_?key|"
    r"private_?key|authorization|auth|sas_?token|connection_?string)($|[_.-])",
    re.IGNORECASE,
)
HIDDEN = "***"


def redacted(config: Any) -> Any:
    """A copy of a plain config with secret values replaced by ``***`` and URLs masked."""
    if isinstance(config, dict):
        return {
            key: HIDDEN
            if SECRET_KEY.search(str(key)) and value not in (None, "", {}, [])
            else redacted(value)
            for key, value in config.items()
        }
    if isinstance(config, list):
        return [redacted(value) for value in config]
    if isinstance(config, str):
        return masked_text(config)
    return config


def restore_secrets(recorded: Any, current: Any, path: str = "") -> Any:
    """``recorded`` with each hidden secret taken from ``current`` (the project's config now).

    A recorded config is complete but for its secrets; reproducing it needs them again, from
    the same place the original run had them: the project's config and its environment.
    """
    from framework.errors import ConfigError

    if isinstance(recorded, dict):
        here = current if isinstance(current, dict) else {}
        restored = {}
        for key, value in recorded.items():
            where = f"{path}{key}"
            if value == HIDDEN and SECRET_KEY.search(str(key)):
                if here.get(key) in (None, HIDDEN):
                    raise ConfigError(
                        f"the recorded config hides the secret {where}; set it in the project's "
                        "config (or the environment variable it reads) and reproduce again"
                    )
                restored[key] = here[key]
            else:
                restored[key] = restore_secrets(value, here.get(key), f"{where}.")
        return restored
    if isinstance(recorded, list):
        return [restore_secrets(value, None, path) for value in recorded]
    return recorded
