"""CPU per streamed chunk in the client's parser (`_StreamAccumulator.feed`).

Feeds realistic vLLM-shaped chunk payloads (reasoning tokens, then content tokens,
a finish chunk and a usage chunk) through the accumulator, best of several rounds.

    python bench/bench_client_feed.py            # prints ns per chunk
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from thinklens.client.http import _StreamAccumulator  # noqa: E402

HEAD = b'{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{'
TAIL = b'},"logprobs":null,"finish_reason":null}]}'


def payloads(reasoning: int = 800, content: int = 200) -> list[bytes]:
    out = [HEAD + b'"role":"assistant","content":""' + TAIL]
    out += [HEAD + b'"reasoning_content":" wait"' + TAIL for _ in range(reasoning)]
    out += [HEAD + b'"content":" 42"' + TAIL for _ in range(content)]
    out.append(HEAD + b'"content":"."},"logprobs":null,"finish_reason":"stop"}]}')
    out.append(b'{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],'
               b'"usage":{"prompt_tokens":10,"completion_tokens":1001,"total_tokens":1011}}')
    return out


def main(rounds: int = 7, streams: int = 200) -> None:
    data = payloads()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(streams):
            acc = _StreamAccumulator(0.0, None)
            feed = acc.feed
            for p in data:
                feed(p, 1.0)
        best = min(best, time.perf_counter() - t0)
    n = streams * len(data)
    print(f"feed: {best / n * 1e9:.0f} ns per chunk ({n} chunks per round, best of {rounds})")


if __name__ == "__main__":
    main()
