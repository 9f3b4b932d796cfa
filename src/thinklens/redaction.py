"""What of a secret may be written to disk or printed: nothing.

API keys live in their own fields (replaced by `REDACTED` in stored configs); a key can
also hide in an endpoint URL (`http://user:key@host/v1`, `?api_key=...`), which is why
every URL that is stored or shown goes through `redact_url`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"

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
