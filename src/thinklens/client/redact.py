"""Keep secrets out of error messages: they end up in run.sqlite, logs and the console.

A server may echo the key it rejected ("invalid key sk-abc..."), a proxy the
Authorization header, and a URL may carry `user:password@`.
"""

from __future__ import annotations

import re

_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_SK_TOKEN = re.compile(r"\bsk-[A-Za-z0-9_-]{4,}")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")

REDACTED = "[redacted]"


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
                text = text.replace(secret, REDACTED)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        text = _SK_TOKEN.sub(f"sk-{REDACTED}", text)
        return strip_userinfo(text)
