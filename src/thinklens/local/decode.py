"""From one row of generated token ids to a `Generation`: where it ended, and why.

Pure post-processing (no model): the answer/reasoning split is the API client's
(`split_reasoning`), so a checkpoint's results read exactly like a server's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..client.reasoning import split_reasoning
from ..records import Generation, Timings, Usage


class Detokenizer:
    """Token ids -> text, dropping special tokens (like vLLM's skip_special_tokens) but never
    the reasoning tags, even where a tokenizer marks `<think>` as special."""

    def __init__(self, tokenizer: Any, keep: Sequence[str] = (), skip_special_tokens: bool = True):
        self.tokenizer = tokenizer
        skip: set[int] = set()
        if skip_special_tokens:
            skip.update(int(i) for i in (tokenizer.all_special_ids or []))
            decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
            skip.update(int(i) for i, tok in decoder.items() if getattr(tok, "special", False))
            for text in keep:
                tid = tokenizer.convert_tokens_to_ids(text)
                if isinstance(tid, int) and tid != tokenizer.unk_token_id:
                    skip.discard(tid)
        self.skip = frozenset(skip)

    def __call__(self, ids: Sequence[int]) -> str:
        kept = [i for i in ids if i not in self.skip] if self.skip else list(ids)
        return self.tokenizer.decode(kept, skip_special_tokens=False, clean_up_tokenization_spaces=False)


@dataclass(frozen=True)
class RowEnd:
    """How many generated tokens count, the text they make, and why generation stopped."""

    n_tokens: int  # completion tokens (an EOS token counts, as in vLLM's usage)
    kept: tuple[int, ...]  # the tokens whose text is the output (no EOS, no padding)
    text: str  # stop string (and whatever followed it) removed
    finish_reason: str  # "stop" | "length"


def _first_prefix(n: int, predicate: Callable[[int], bool]) -> int:
    """Smallest k in 1..n with predicate(k) true (predicate monotone, true at n)."""
    lo, hi = 1, n
    while lo < hi:
        mid = (lo + hi) // 2
        if predicate(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def end_of_row(
    generated: Sequence[int],
    *,
    eos_ids: frozenset[int],
    pad_id: int,
    stop: Sequence[str],
    decode: Callable[[Sequence[int]], str],
    reached_cap: bool,
) -> RowEnd:
    """Find where one row ended.  `reached_cap`: the batch ran all max_new_tokens steps."""
    generated = list(generated)
    eos_at = next((i for i, t in enumerate(generated) if t in eos_ids), None)
    if eos_at is not None:
        kept, n_tokens, reason = generated[:eos_at], eos_at + 1, "stop"
    elif reached_cap:
        kept, n_tokens, reason = generated, len(generated), "length"
    else:
        # The batch ended early, so this row was stopped (a stop string seen at token level);
        # what follows its last token is padding.
        end = len(generated)
        while end > 0 and generated[end - 1] == pad_id:
            end -= 1
        kept, n_tokens, reason = generated[:end], end, "stop"
    text = decode(kept)
    if stop:
        hits = [at for at in (text.find(s) for s in stop) if at >= 0]
        if hits:
            cut = min(hits)

            def contains_stop(k: int) -> bool:
                prefix = decode(kept[:k])
                return any(s in prefix for s in stop)

            n_tokens = _first_prefix(len(kept), contains_stop)
            kept, text, reason = kept[:n_tokens], text[:cut], "stop"
    return RowEnd(n_tokens, tuple(kept), text, reason)


def token_index_of_char(kept: Sequence[int], char_index: int, decode: Callable[[Sequence[int]], str]) -> int:
    """0-based index of the token whose text reaches `char_index` of decode(kept)."""
    return _first_prefix(len(kept), lambda k: len(decode(kept[:k])) > char_index) - 1


def reasoning_token_count(end: RowEnd, source: str, answer_offset: int, decode: Callable[[Sequence[int]], str]) -> int:
    """Generated tokens spent reasoning, exactly, from the token ids (not re-encoded text,
    which can differ): every token up to and including the closing tag; all of them when
    the reasoning never closed."""
    if source == "none" or not end.kept:
        return 0
    if answer_offset >= len(end.text):
        return len(end.kept)
    return _first_prefix(len(end.kept), lambda k: len(decode(end.kept[:k])) >= answer_offset)


def build_generation(
    end: RowEnd,
    *,
    prompt_tokens: int,
    prefilled: bool,
    think_tags: Sequence[tuple[str, str]],
    detok: Detokenizer,
    start_wall: float,
    start: float,
    step_times: Sequence[float],
    finished_at: float,
    endpoint: str,
) -> Generation:
    """The Generation of one row.  Times are perf_counter() seconds; `step_times[i]` is when
    the i-th new token of the batch was chosen."""
    split = split_reasoning(end.text, tuple(tuple(t) for t in think_tags), prefilled=prefilled)

    def at_token(index: int) -> float:
        return (step_times[index] if 0 <= index < len(step_times) else finished_at) - start

    ttft = at_token(0) if end.n_tokens else None
    e2e = at_token(end.n_tokens - 1) if end.n_tokens else finished_at - start
    ttfat = None
    if split.content:
        first = split.answer_offset
        while first < len(end.text) and end.text[first].isspace():
            first += 1
        if first < len(end.text) and end.kept:
            ttfat = at_token(token_index_of_char(end.kept, first, detok))
    usage = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=end.n_tokens,
        reasoning_tokens=reasoning_token_count(end, split.source, split.answer_offset, detok),
        reasoning_tokens_estimated=False,
    )
    return Generation(
        content=split.content,
        reasoning=split.reasoning,
        reasoning_source=split.source,  # type: ignore[arg-type]
        finish_reason=end.finish_reason,
        usage=usage,
        timings=Timings(start=start_wall, ttft=ttft, ttfat=ttfat, e2e=e2e),
        endpoint=endpoint,
    )
