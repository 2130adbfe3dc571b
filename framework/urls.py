"""URLs as they may be shown: the credentials a URL can carry never reach a message or a record.

A URL carries a secret in three places, and each has one rule here:

- its user info: the password of ``https://user:…@host`` (also with an empty user), and a user
  that is itself a token (``https://<40 characters>@host``, as Git hosts take);
- its query string: ``?token=…``, ``&sig=…`` (Azure SAS), ``X-Amz-Signature=…`` (S3 presigned),
  ``api_key=…``: a parameter whose name :func:`framework.secrets.is_secret_name` calls secret,
  plus the few names only URLs use (:data:`QUERY_SECRETS`);
- its path, for webhooks whose URL *is* the credential: Slack's
  ``hooks.slack.com/services/T…/B…/XXXX``, Discord's ``/api/webhooks/ID/TOKEN``, and any long
  token after a ``hooks``/``webhooks`` segment;
- its fragment, where OAuth's implicit flow puts ``#access_token=…``: the query rule again.

Each becomes ``***``; the scheme, host and the rest stay, so a message still says where.
"""

from __future__ import annotations

import re
import urllib.parse

HIDDEN = "***"

#: Query parameters that hold a credential although their name is not a secret word elsewhere.
QUERY_SECRETS = frozenset(
    {
        "sig",  # Azure SAS signature
        "signature",
        "key",  # Google APIs' ?key=
        "code",  # Azure Functions' ?code=
        "x-amz-signature",
        "x-amz-credential",
        "x-goog-signature",
        "x-goog-credential",
    }
)

#: Hosts whose webhook URLs keep the credential in the path: everything after the prefix.
WEBHOOK_PATHS = {
    "hooks.slack.com": "/services/",
    "discord.com": "/api/webhooks/",
    "discordapp.com": "/api/webhooks/",
}

#: A path segment after which a long token is a webhook's credential (Slack behind a proxy,
#: Mattermost, Teams, …).
_HOOK_SEGMENTS = frozenset({"hooks", "services", "webhook", "webhooks", "incomingwebhook"})
_TOKEN_SEGMENT = re.compile(r"[A-Za-z0-9_@-]{16,}")
#: A URL's user that is a token rather than a name: long, one run of token characters, and
#: not a name with separators (``oauth2-deploy-user``).
_TOKEN_USER = re.compile(r"(?=[A-Za-z0-9_]*[0-9])[A-Za-z0-9_]{20,}")

#: A URL inside a longer text: scheme, ``://``, then up to whitespace or a quote.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")


def masked(url: str) -> str:
    """``url`` with its password, secret query values and webhook token replaced by ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: mask what the plain rules can
        return _masked_userinfo(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{HIDDEN}@{hostport}"
        elif _TOKEN_USER.fullmatch(userinfo):
            netloc = f"{HIDDEN}@{hostport}"
    path = _masked_path(parts.hostname or "", parts.path)
    query = _masked_query(parts.query)
    fragment = _masked_query(parts.fragment)
    if (netloc, path, query, fragment) == (parts.netloc, parts.path, parts.query, parts.fragment):
        return url
    return urllib.parse.urlunsplit(
        parts._replace(netloc=netloc, path=path, query=query, fragment=fragment)
    )


def masked_text(text: str) -> str:
    """Every URL in ``text`` masked as :func:`masked` does.

    For messages that quote a URL themselves (a library's exception naming the URI it was
    given), where :func:`masked` cannot be applied to the URL alone.
    """
    return _URL_IN_TEXT.sub(lambda found: masked(found.group(0)), text)


def secret_parts(url: str) -> list[str]:
    """The substrings of ``url`` that :func:`masked` hides, in order (empty: nothing secret).

    Lets a caller ask *what* is secret, e.g. whether it is only an environment reference.
    """
    found: list[str] = []
    parts = _split(url)
    if parts is None:
        return found
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    elif _TOKEN_USER.fullmatch(userinfo):
        found.append(userinfo)
    for text in (parts.query, parts.fragment):
        for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
            if value and _secret_query_name(name):
                found.append(value)
    hidden = _masked_path(parts.hostname or "", parts.path)
    if hidden != parts.path:
        found.append(_path_secret(parts.path, hidden))
    return found


def urls_in(text: str) -> list[str]:
    """Every URL in ``text``."""
    return _URL_IN_TEXT.findall(text)


def _split(url: str) -> urllib.parse.SplitResult | None:
    try:
        return urllib.parse.urlsplit(url)
    except ValueError:
        return None


def _secret_query_name(name: str) -> bool:
    from framework.secrets import is_secret_name

    return name.lower() in QUERY_SECRETS or is_secret_name(name)


def _masked_query(query: str) -> str:
    if not query:
        return query
    pieces = []
    for piece in query.split("&"):
        name, equals, value = piece.partition("=")
        if equals and value and _secret_query_name(urllib.parse.unquote_plus(name)):
            piece = f"{name}={HIDDEN}"
        pieces.append(piece)
    return "&".join(pieces)


def _masked_path(host: str, path: str) -> str:
    host = host.lower()
    for known, prefix in WEBHOOK_PATHS.items():
        if (host == known or host.endswith("." + known)) and path.startswith(prefix):
            rest = path[len(prefix) :]
            if known == "hooks.slack.com" or "/" not in rest.strip("/"):
                return prefix + HIDDEN if rest else path
            webhook_id = rest.split("/", 1)[0]  # Discord: the id is public, the token is not
            return f"{prefix}{webhook_id}/{HIDDEN}"
    if host.endswith(".webhook.office.com"):
        return "/" + HIDDEN if path.strip("/") else path
    segments = path.split("/")
    after_hook = False
    for index, segment in enumerate(segments):
        if after_hook and _TOKEN_SEGMENT.fullmatch(segment) and _has_digit_and_letter(segment):
            segments[index] = HIDDEN
        if segment.lower() in _HOOK_SEGMENTS:
            after_hook = True
    return "/".join(segments)


def _has_digit_and_letter(text: str) -> bool:
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def _path_secret(path: str, hidden: str) -> str:
    """What :func:`_masked_path` took out of ``path``: the segments it replaced, joined."""
    prefix = 0
    while prefix < min(len(path), len(hidden)) and path[prefix] == hidden[prefix]:
        prefix += 1
    return path[prefix:]


#: ``scheme://user:password@`` (user may be empty) when a text is no parseable URL.
_USERINFO = re.compile(r"(://[^:/@\s]*:)([^@\s/]+)(@)")


def _masked_userinfo(text: str) -> str:
    return _USERINFO.sub(rf"\g<1>{HIDDEN}\g<3>", text)
