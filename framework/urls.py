"""URLs as they may be shown: a password in ``user:password@host`` never reaches a message."""

from __future__ import annotations

import re
import urllib.parse


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages, logs and records."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


#: ``scheme://user:password@`` anywhere in a text: the password part is group 2.
_CREDENTIALS = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")


def masked_text(text: str) -> str:
    """Every ``user:password@`` in ``text`` with the password replaced by ``***``.

    For messages that quote a URL themselves (a library's exception naming the URI it was
    given), where :func:`masked` cannot reach.
    """
    return _CREDENTIALS.sub(r"\1***\3", text)
