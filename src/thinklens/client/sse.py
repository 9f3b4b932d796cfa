"""Incremental Server-Sent Events parsing for OpenAI-style streams.

Works on raw network reads (one await per read, not per line): a read may hold
several events, or half of one.
"""

from __future__ import annotations

_STRAY_LINES = 8
_STRAY_BYTES = 300


class SSEDecoder:
    """Feed bytes, get the `data:` payloads of complete lines."""

    __slots__ = ("_buf", "stray")

    def __init__(self) -> None:
        self._buf = b""
        # Lines that are not SSE (an HTML page, a JSON error body, `event: error`): kept,
        # a little of them, to show what the server said when the stream breaks off.
        self.stray: list[bytes] = []

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
            elif line and line[:1] != b":" and len(self.stray) < _STRAY_LINES:
                self._keep_stray(line)
            # comments (":keep-alive"), "id:", blank separators: nothing to do
        return out

    def _keep_stray(self, line: bytes) -> None:
        line = line.strip()
        if not line or line.startswith((b"id:", b"retry:")):
            return
        if line.startswith(b"event:") and b"error" not in line:
            return
        self.stray.append(line[:_STRAY_BYTES])

    def stray_text(self) -> str:
        return " ".join(line.decode("utf-8", "replace") for line in self.stray)

    def flush(self) -> list[bytes]:
        """Whatever remains when the stream closes without a final newline."""
        rest, self._buf = self._buf, b""
        if rest[:5] == b"data:" and rest[5:].strip():
            return [rest[5:].strip()]
        if rest and len(self.stray) < _STRAY_LINES:
            self._keep_stray(rest)
        return []
