"""The one secret classifier: what in a config is a credential, and how it is kept out of files.

A config holds credentials where a plugin needs them (``store.storage_options.secret``,
``registry.tracking_uri`` with a password, ``alert.webhook.headers.Authorization``). They are
written in ``conf/`` as environment references, ``${oc.env:NAME}``, which ``params.yaml`` keeps
unresolved; only the process that runs a stage or a server reads the variable.

Everything that records or prints a config (trackers, run manifests, ``bucle runs show`` and
``compare``, model cards, webhook alert errors, the Docker build context) goes through
:func:`redacted`, so a value is hidden by the same two rules everywhere (monitor reports and
server logs carry no config values):

- by its key: a key one of whose words names a credential (:func:`is_secret_name`:
  ``secret``, ``aws_secret_access_key``, ``X-API-Key``, ``Cookie``, ``account_key``, ``apiKey``,
  but not ``max_tokens``, ``tokenizer`` or ``author``);
- by its value: a URL's password, secret query values and webhook token
  (:mod:`framework.urls`, which owns the URL rules), and ``Bearer …``/``Basic …`` credentials.

A run whose config held secrets is reproduced with the same environment variables set:
``bucle runs reproduce`` re-reads them through the project's config, never from the record.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

HIDDEN = "***"

#: Words that name a credential wherever they appear in a key.
SECRET_WORDS = frozenset(
    {
        "pass",
        "passwd",
        "password",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "credential",
        "credentials",
        "apikey",
        "auth",
        "authorization",
        "cookie",
        "cookies",
        "bearer",
        "sas",
    }
)
#: Two consecutive words that name a credential together (``api_key``, ``X-Api-Key``, …).
SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("account", "key"),
        ("secret", "key"),
        ("signing", "key"),
        ("master", "key"),
        ("connection", "string"),
        ("conn", "str"),
    }
)

#: A whole value that is an HTTP credential: ``Bearer eyJ…``, ``Basic dXNlcjpwYXNz``.
_SCHEME_CREDENTIAL = re.compile(r"^(\s*(?:Bearer|Basic)) +([^\s]+)\s*$", re.IGNORECASE)
#: ``Name=value;`` pairs of a connection string that hold a credential (Azure, ODBC).
_CONNECTION_CREDENTIAL = re.compile(
    r"(?<![A-Za-z])(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)=([^;]+)",
    re.IGNORECASE,
)
#: An OmegaConf interpolation, innermost first (no braces inside).
_INTERPOLATION = re.compile(r"\$\{[^{}]*\}")
_PLACEHOLDER = "bucleref"


def key_words(key: str) -> list[str]:
    """``key`` split into lower-case words: ``X-API-Key`` → x, api, key; ``apiKey`` → api, key."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(key))
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if word]


def is_secret_name(key: str) -> bool:
    """Whether a config key, header or query parameter named ``key`` holds a credential."""
    words = key_words(key)
    if any(word in SECRET_WORDS for word in words):
        return True
    return any(pair in SECRET_PAIRS for pair in itertools.pairwise(words))


def masked_value(text: str) -> str:
    """``text`` with every credential it carries itself (URL secrets, ``Bearer x``) hidden."""
    from framework.urls import masked_text

    text = _CONNECTION_CREDENTIAL.sub(rf"\g<1>={HIDDEN}", masked_text(text))
    return _SCHEME_CREDENTIAL.sub(rf"\g<1> {HIDDEN}", text)


def redacted(config: Any) -> Any:
    """A copy of a plain config with secret values replaced by ``***`` and URLs masked."""
    if isinstance(config, dict):
        return {
            key: HIDDEN
            if is_secret_name(str(key)) and config[key] not in (None, "", {}, [])
            else redacted(value)
            for key, value in config.items()
        }
    if isinstance(config, list | tuple):
        return [redacted(value) for value in config]
    if isinstance(config, str):
        return masked_value(config)
    return config


def redacted_params(params: dict[str, Any]) -> dict[str, Any]:
    """Flat params (``alert.webhook.headers.Authorization``) as :func:`redacted` shows them.

    A dotted key is secret when any of its words is, as a nested key under a secret is.
    """
    return {
        key: HIDDEN
        if is_secret_name(str(key)) and value not in (None, "", {}, [])
        else redacted(value)
        for key, value in params.items()
    }


def literal_secrets(config: Any, path: str = "") -> Iterator[str]:
    """The dotted key of every secret written as a value rather than an environment reference.

    ``config`` is unresolved (as in ``conf/`` or ``params.yaml``): a secret key's value must hold
    an interpolation (``${oc.env:NAME}``, or one of another key), and a URL's password, secret
    query value or webhook token must be one (``https://u:${oc.env:P}@host``).
    """
    if isinstance(config, dict):
        for key, value in config.items():
            where = f"{path}{key}"
            if is_secret_name(str(key)):
                yield from _literal_leaves(value, where)
            else:
                yield from literal_secrets(value, f"{where}.")
    elif isinstance(config, list | tuple):
        for index, value in enumerate(config):
            yield from literal_secrets(value, f"{path}{index}.")
    elif isinstance(config, str) and _has_literal_credential(config):
        yield path.rstrip(".")


def _literal_leaves(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _literal_leaves(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _literal_leaves(item, f"{where}.{index}")
    elif value in (None, "") or isinstance(value, bool):
        return
    elif not (isinstance(value, str) and _only_references(value)):
        yield where


#: What may stand beside the references in a secret's value: an HTTP scheme, as in
#: ``Authorization: Bearer ${oc.env:TOKEN}``.
_SCHEME_ONLY = re.compile(r"\s*(?:(?:Bearer|Basic|Token)\s+)?", re.IGNORECASE)


def _only_references(text: str) -> bool:
    """Whether ``text`` is interpolations and nothing else (bar an HTTP scheme before them):
    ``abc${oc.env:X}`` carries part of its secret in clear."""
    if "${" not in text:
        return False
    plain = text
    while _INTERPOLATION.search(plain):  # innermost first, so nested ones go too
        plain = _INTERPOLATION.sub("", plain)
    return bool(_SCHEME_ONLY.fullmatch(plain))


def _has_literal_credential(text: str) -> bool:
    """Whether ``text`` carries a credential that is not (only) an interpolation."""
    from framework.urls import secret_parts, urls_in

    plain = text
    while _INTERPOLATION.search(plain):  # innermost first, so nested ones go too
        plain = _INTERPOLATION.sub(_PLACEHOLDER, plain)
    references = re.compile(_PLACEHOLDER)
    for url in urls_in(plain):
        for part in secret_parts(url):
            if references.sub("", part).strip("/"):
                return True
    found = [*_SCHEME_CREDENTIAL.finditer(plain), *_CONNECTION_CREDENTIAL.finditer(plain)]
    return any(references.sub("", match.group(2)).strip() for match in found)


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
            if value == HIDDEN and is_secret_name(str(key)):
                if here.get(key) in (None, HIDDEN):
                    raise ConfigError(
                        f"the recorded config hides the secret {where}; set it in the project's "
                        "config (or the environment variable it reads) and reproduce again"
                    )
                restored[key] = here[key]
            elif isinstance(value, str) and HIDDEN in value and isinstance(here.get(key), str):
                restored[key] = here[key]  # a URL whose credential was masked: the project's
            else:
                restored[key] = restore_secrets(value, here.get(key), f"{where}.")
        return restored
    if isinstance(recorded, list):
        return [restore_secrets(value, None, path) for value in recorded]
    return recorded
