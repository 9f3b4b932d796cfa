"""What of a secret may be written to disk or printed: nothing.

API keys live in their own fields (replaced by `REDACTED` in stored configs); a key can
also hide in an endpoint URL (`http://user:key@host/v1`, `?api_key=...`), which is why
every URL that is stored or shown goes through `redact_url`.  Error messages are the
third way out: a server may echo the key it rejected ("invalid key sk-abc..."), a proxy
the Authorization header; the client passes each through a `Redactor`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"
REDACTED_IN_TEXT = "[redacted]"  # inside a message, where "***" could pass for content

_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_SK_TOKEN = re.compile(r"\bsk-[A-Za-z0-9_-]{4,}")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")

# Query parameters that carry a credential (Azure `api-key`, `?key=` gateways, signed URLs).
_SECRET_PARAM = re.compile(r"(key|token|secret|password|passwd|pwd|sig|signature|auth|authorization|credential)s?$",
                           re.IGNORECASE)


def redact_url(url: str | None) -> str | None:
    """`http://user:key@host/v1?api_key=k` -> `http://***@host/v1?api_key=***`: what may be
    written to disk or printed.  The request itself still uses the full URL."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # not a URL we can take apart: show nothing of it
        return REDACTED


def strip_userinfo(url: str) -> str:
    """`http://user:key@host/v1` -> `http://host/v1` (for messages, never for requests)."""
    return _URL_USERINFO.sub(r"\1", url)


class Redactor:
    """Removes the configured secrets and anything token-shaped from a message."""

    def __init__(self, *secrets: str | None):
        # Secrets shorter than 4 characters would blank out ordinary words.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED_IN_TEXT)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED_IN_TEXT}", text)
        text = _SK_TOKEN.sub(f"sk-{REDACTED_IN_TEXT}", text)
        return strip_userinfo(text)
