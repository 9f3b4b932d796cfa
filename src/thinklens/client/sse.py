"""Incremental Server-Sent Events parsing for OpenAI-style streams.

Works on raw network reads (one await per read, not per line): a read may hold
several events, or half of one.
"""

from __future__ import annotations


class SSEDecoder:
    """Feed bytes, get the `data:` payloads of complete lines."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        buf = self._buf + chunk if self._buf else chunk
        lines = buf.split(b"\n")
        self._buf = lines.pop()  # incomplete tail (b"" when the chunk ended on a newline)
        out = []
        for line in lines:
            if line[:5] == b"data:":
                payload = line[5:].strip()
                if payload:
                    out.append(payload)
            # comments (":keep-alive"), "event:", "id:", blank separators: nothing to do
        return out

    def flush(self) -> list[bytes]:
        """Whatever remains when the stream closes without a final newline."""
        rest, self._buf = self._buf, b""
        if rest[:5] == b"data:" and rest[5:].strip():
            return [rest[5:].strip()]
        return []
