"""Tokens per streamed chunk from the client's tokenizer (for ITL).

When a server batches several tokens per SSE event and sends no running count, ITL
needs each chunk's token count.  Spreading the completion tokens by characters is a
rough guess (tokens are not equally long: with 4 tokens per chunk it put ITL p99 at
20 ms against a true 10 ms).  With a tokenizer, the text of the whole response is
encoded once and each token is given to the chunk holding its last character (a token
split over two chunks is complete only when the second arrives); encoding the chunks
one by one would cut tokens at chunk borders.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate
from typing import Any

ChunkTokenizer = Callable[[list[str]], list[int]]


def chunk_tokenizer(tokenizer: Any) -> ChunkTokenizer:
    """`texts -> tokens per chunk` for a `tokenizers.Tokenizer`."""

    def count(texts: list[str]) -> list[int]:
        counts = [0] * len(texts)
        if not texts:
            return counts
        ends = list(accumulate(len(t) for t in texts))  # character offset where each chunk ends
        enc = tokenizer.encode("".join(texts), add_special_tokens=False)
        last = len(texts) - 1
        for start, end in enc.offsets:
            counts[min(bisect_right(ends, max(start, end - 1)), last)] += 1
        return counts

    return count
