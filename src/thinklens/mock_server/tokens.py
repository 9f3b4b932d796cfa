"""The mock server's tokenization: simple, lossless and documented.

A token is optional leading whitespace followed by either a run of Latin letters
or one single other non-space character (a digit, a punctuation mark, a CJK
character...).  Whitespace at the very end of a text is one more token.  So
``" x = \\frac{12}{5}."`` is ``[" x", " =", " \\", "frac", "{", "1", "2", "}", "{",
"5", "}", "."]``: close to what BPE tokenizers of reasoning models produce for
English and LaTeX (digits split one by one as in Qwen2/Llama-3), and exact to
count: joining the tokens gives the text back, so every piece the server streams
is one token and clients can check counts against `usage`.
"""

from __future__ import annotations

import re
from functools import lru_cache

TOKEN_RE = re.compile(r"\s*(?:[A-Za-z\u00C0-\u024F]+|\S)|\s+")

_REASONING_SENTENCE = "Let me think about this step by step and check each part of the problem carefully."
_CONTENT_SENTENCE = "Here is the answer, worked out briefly and checked once more."


def tokenize(text: str) -> list[str]:
    """Split `text` into the mock's tokens; `"".join(tokenize(t)) == t`."""
    return TOKEN_RE.findall(text) if text else []


# Every token holds exactly one of these, except whitespace at the very end: counting
# them is the same count as len(tokenize(text)), about a third faster.
_CORE_RE = re.compile(r"[A-Za-z\u00C0-\u024F]+|\S")


@lru_cache(maxsize=1024)  # system prompts and benchmark prompts repeat
def count_tokens(text: str) -> int:
    if not text:
        return 0
    return len(_CORE_RE.findall(text)) + (1 if text[-1].isspace() else 0)


# Cached: every synthetic request asks for the same lists.  Callers never mutate them.
@lru_cache(maxsize=256)
def _filler(sentence: str, n: int) -> list[str]:
    if n <= 0:
        return []
    first = tokenize(sentence)
    again = tokenize(" " + sentence)  # later sentences carry their separating space
    out = list(first)
    while len(out) < n:
        out.extend(again)
    return out[:n]


def reasoning_filler(n: int) -> list[str]:
    """`n` tokens of plausible-looking reasoning text (re-tokenizes to exactly `n`)."""
    return _filler(_REASONING_SENTENCE, n)


def content_filler(n: int) -> list[str]:
    return _filler(_CONTENT_SENTENCE, n)


@lru_cache(maxsize=64)
def synthetic_content(n: int, answer: str | None) -> list[str]:
    """`n` content tokens ending with `answer` when given.

    The answer is never cut: when it alone has more than `n` tokens the content is
    just the answer.
    """
    if not answer:
        return content_filler(n)
    spaced = tokenize(" " + answer)  # the separating space joins the answer's first token
    filler_n = n - len(spaced)
    if filler_n <= 0:
        return tokenize(answer)
    return content_filler(filler_n) + spaced
