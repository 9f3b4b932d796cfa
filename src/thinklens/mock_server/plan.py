"""What one request will produce: tokens of reasoning and answer, and why it ends.

`plan_output` decides the "model's" output (replayed or synthetic, then `stop`
strings, `ignore_eos` and the `max_tokens` cap, which counts reasoning and
answer tokens together); `render` decides how it is delivered (reasoning in a
field, inside `<think>` tags, after a lone `</think>`, or dropped).  Token counts
never depend on the delivery format: tags ride on the neighbouring tokens, so a
client sees exactly one streamed event per token in every format.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import MockServerConfig
from .replay import ReplayIndex
from .request import ChatRequest
from .tokens import content_filler, reasoning_filler, synthetic_content, tokenize

OPEN_TAG, CLOSE_TAG = "<think>", "</think>"  # the tags a continued assistant prefix may hold


@dataclass(frozen=True)
class OutputPlan:
    reasoning: list[str]  # reasoning tokens generated
    content: list[str]  # answer tokens generated
    finish_reason: str  # "stop" | "length"
    reasoning_closed: bool  # the reasoning ended (so a closing tag is due in tag formats)
    matched: bool  # replay: a record was found (always True in synthetic mode)
    source: str | None = None  # replay record "file:line"

    @property
    def completion_tokens(self) -> int:
        return len(self.reasoning) + len(self.content)


@dataclass(frozen=True)
class RenderedOutput:
    """One text per token, as streamed.  Tokens before `field_split` go to the
    reasoning field, the rest to `content`; `answer_start` is the first answer token."""

    texts: list[str]
    field_split: int
    answer_start: int
    content: str  # the non-streaming message's fields
    reasoning: str | None


def _cut_at_stop(tokens: list[str], stops: tuple[str, ...]) -> tuple[list[str], bool]:
    if not stops or not tokens:
        return tokens, False
    text = "".join(tokens)
    hits = [p for p in (text.find(s) for s in stops) if p >= 0]
    if not hits:
        return tokens, False
    return tokenize(text[: min(hits)]), True  # the stop string itself is not returned


def _rest(planned: list[str], so_far: str) -> list[str]:
    """The planned tokens after the text the prefix already holds (all of them if it holds none)."""
    text = "".join(planned)
    at = text.find(so_far) if so_far else -1
    return tokenize(text[at + len(so_far):]) if at >= 0 else planned


def _continuation(prefix: str, reasoning: list[str], content: list[str]) -> tuple[list[str], list[str]]:
    """What continuing the assistant message `prefix` generates (continue_final_message).

    A prefix that closed the reasoning (budget forcing: `<think>...</think>` + a cue)
    gets no more reasoning, only the answer: the rest of the planned answer when the
    prefix holds its beginning, else the whole planned answer.  A prefix still inside
    the reasoning gets the rest of the reasoning, then the answer.
    """
    close_at = prefix.rfind(CLOSE_TAG)
    if close_at >= 0:
        return [], _rest(content, prefix[close_at + len(CLOSE_TAG):].strip())
    return _rest(reasoning, prefix.replace(OPEN_TAG, "", 1).strip()), content


def plan_output(request: ChatRequest, config: MockServerConfig, index: ReplayIndex | None) -> OutputPlan:
    source = None
    matched = True
    finish = "stop"
    if index is not None:
        record = index.lookup(request.last_user_text)
        if record is not None:
            reasoning, content = record.reasoning_tokens, record.content_tokens
            finish = record.finish_reason or "stop"
            source = record.source
        else:
            matched = False
            reasoning, content = tokenize(config.unmatched_reasoning), tokenize(config.unmatched_content)
    else:
        reasoning = reasoning_filler(config.reasoning_tokens)
        content = synthetic_content(config.tokens, config.answer)

    if config.reasoning_format == "none":
        reasoning = []  # a model that does not think: nothing generated, no time spent
    if request.assistant_prefix is not None:
        reasoning, content = _continuation(request.assistant_prefix, reasoning, content)
    closed = bool(reasoning) and (bool(content) or finish != "length")

    cap = request.max_tokens
    if request.ignore_eos and cap is not None:
        # vLLM's ignore_eos: keep generating past the natural end, up to max_tokens.
        missing = cap - len(reasoning) - len(content)
        if missing > 0:
            if not closed and reasoning:
                reasoning = reasoning + reasoning_filler(missing)
            else:
                content = content + content_filler(missing)
                closed = bool(reasoning)

    if request.stop:
        reasoning_cut, hit = _cut_at_stop(reasoning, request.stop)
        if hit:
            reasoning, content, closed, finish = reasoning_cut, [], False, "stop"
        else:
            content, hit = _cut_at_stop(content, request.stop)
            if hit:
                finish = "stop"

    total = len(reasoning) + len(content)
    if cap is not None and (total > cap or (request.ignore_eos and total >= cap)):
        finish = "length"
        if cap <= len(reasoning):
            if content or cap < len(reasoning):
                closed = False  # cut inside the reasoning: no answer, no closing tag
            reasoning, content = reasoning[:cap], []
        else:
            content = content[: cap - len(reasoning)]
    return OutputPlan(
        reasoning=reasoning, content=content, finish_reason=finish,
        reasoning_closed=closed, matched=matched, source=source,
    )


def render(plan: OutputPlan, reasoning_format: str) -> RenderedOutput:
    reasoning, content = plan.reasoning, plan.content
    n_reasoning = len(reasoning)
    if reasoning_format == "field" or not reasoning:
        return RenderedOutput(
            texts=reasoning + content if reasoning else content,
            field_split=n_reasoning,
            answer_start=n_reasoning,
            content="".join(content),
            reasoning=("".join(reasoning) or None) if reasoning_format == "field" else None,
        )
    # Tag formats: everything goes to `content`; the tags join the neighbouring tokens.
    texts = list(reasoning)
    if reasoning_format == "inline":
        texts[0] = "<think>" + texts[0]
    tail = list(content)
    if plan.reasoning_closed:
        if tail:
            tail[0] = "</think>" + tail[0]
        else:
            texts[-1] = texts[-1] + "</think>"
    texts += tail
    return RenderedOutput(
        texts=texts, field_split=0, answer_start=n_reasoning,
        content="".join(texts), reasoning=None,
    )
