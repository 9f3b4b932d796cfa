"""Budget forcing: accuracy measured at a thinking budget (s1, Muennighoff et al. 2025).

For each (sample, repeat, budget B) -- one stored, resumable item, its key holding B:

1. the chat request with `max_tokens = B` (reasoning and answer share the cap);
2. if the reasoning closed and the answer finished within B, that is the result
   (`forced: false`);
3. otherwise the client writes the assistant message as the model would have
   produced it and asks the server to go on from there, with `continue_final_message:
   true, add_generation_prompt: false` and `max_tokens = budget_answer_tokens`:
   - reasoning cut (never closed): `<think>\\n` + reasoning + `\\n</think>` + cue
     (default `\\n\\n**Final Answer**\\n`): the answer is forced (`forced: true`);
   - reasoning closed, answer cut: `<think>\\n` + reasoning + `\\n</think>\\n\\n` +
     the answer so far: the answer is finished (`continued: true`, not forced).

The final Generation keeps phase 1's reasoning; its content is the answer (the forced
continuation, or the answer so far plus its continuation; the cue is the client's
text, not the model's, and is left out).  Usage sums both calls: phase 2's prompt
(which repeats the reasoning) counts as prompt, its completion as answer tokens.

Why this prefix: the server renders the messages through the model's chat template
and checks that the final message appears verbatim in the result (transformers'
`apply_chat_template(continue_final_message=True)`, which vLLM and SGLang use), then
cuts the rendered text after it.  Qwen3's template renders the assistant message of
the current turn as `<think>\\n{reasoning}\\n</think>\\n\\n{answer}`: the prefix above
is exactly that, so the model continues from its own closed reasoning.  The
templates of DeepSeek-R1(-Distill) and QwQ-32B drop everything up to `</think>` from
assistant messages; there the server answers 400 ("final message does not appear in
the chat") and the run stops with that said: serve such a model with a chat template
that keeps the final assistant message whole (vLLM `--chat-template`).

Servers: vLLM and SGLang accept `continue_final_message` / `add_generation_prompt`
on chat completions; OpenAI, Ollama and llama.cpp's server do not.  A 4xx naming
the feature stops the run at once (ServerRefused, exit 2).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..client import ChatRequest
from ..errors import ServerRefused
from ..records import Generation, Sample, Timings, Usage

if TYPE_CHECKING:  # pragma: no cover
    from ..backend import ServiceBackend
    from ..config import TaskConfig
    from .reuse import TraceReuse

# sample.meta key of the budget an item was planned for (stored with the sample)
BUDGET_META = "thinking_budget"
# sample.meta key of what forcing did (Generation.forcing, stored by the runner)
FORCING_META = "budget_forcing"

OPEN_TAG, CLOSE_TAG = "<think>", "</think>"
CONTINUE_FLAGS: dict[str, Any] = {"continue_final_message": True, "add_generation_prompt": False}

_HTTP_STATUS = re.compile(r"HTTP (\d{3}):")
_FEATURE_WORDS = ("continue_final_message", "add_generation_prompt", "final message")


def budget_fingerprint(fingerprint: str, config: TaskConfig, budget: int) -> str:
    """The generation fingerprint of one budget: what changes its output is in the key."""
    forcing = {"thinking_budget": budget, "answer_tokens": config.budget_answer_tokens, "cue": config.budget_cue}
    return fingerprint + "\x00" + json.dumps(forcing, sort_keys=True, ensure_ascii=False)


def for_budget(sample: Sample, budget: int) -> Sample:
    return replace(sample, meta={**sample.meta, BUDGET_META: budget})


def with_forcing(sample: Sample, gen: Generation) -> Sample:
    """The sample as stored: its meta gains what forcing did (budget, forced, phases)."""
    if gen.forcing is None:
        return sample
    return replace(sample, meta={**sample.meta, FORCING_META: gen.forcing})


def forced_prefix(reasoning: str, cue: str) -> str:
    """The assistant text that closes a cut reasoning and cues the answer."""
    return f"{OPEN_TAG}\n{reasoning}\n{CLOSE_TAG}{cue}"


def answer_prefix(reasoning: str, answer_so_far: str) -> str:
    """The assistant text of a closed reasoning and an answer cut by the budget."""
    return f"{OPEN_TAG}\n{reasoning}\n{CLOSE_TAG}\n\n{answer_so_far}"


def refuses_continuation(error: str) -> bool:
    """A 4xx whose message names the continue-the-assistant-message feature."""
    m = _HTTP_STATUS.match(error)
    if m is None or not (400 <= int(m.group(1)) < 500) or m.group(1) in ("408", "429"):
        return False
    text = error.lower()
    return any(word in text for word in _FEATURE_WORDS)


class ForcingBackend:
    """Wraps the service backend: one item = phase 1, and phase 2 when the budget cut it."""

    def __init__(self, inner: ServiceBackend):
        self.inner = inner
        self.config = inner.config
        self.reuse: TraceReuse | None = None
        if self.config.budget_reuse:
            from .reuse import TraceReuse

            self.reuse = TraceReuse(inner.client, self.config, inner.params_for, _warn)

    async def check(self) -> list[str]:
        return await self.inner.check()

    def plan(self, work: list[tuple[Sample, int]]) -> None:
        """The (sample, repeat) of every item still to run (the runner calls it once)."""
        if self.reuse is not None:
            self.reuse.plan(work)

    async def close(self) -> None:
        if self.reuse is not None:
            await self.reuse.close()
        await self.inner.close()

    async def generate(self, sample: Sample, repeat: int = 0) -> Generation:
        budget = sample.meta[BUDGET_META]
        params = {**self.inner.params_for(repeat), "max_tokens": budget}
        if self.reuse is None:
            first = await self.inner.client.chat(
                ChatRequest(self.config.model, sample.messages, params, stream=self.config.stream))
            return await self._answer(sample, params, budget, first)
        phase1 = await self.reuse.phase1(sample, repeat)
        gen = await self._answer(sample, params, budget, phase1.gen)
        if gen.forcing is not None:
            gen.forcing.update(phase1.detail)
            if phase1.reused_from is not None:
                gen.forcing["reused_from"] = phase1.reused_from
        return gen

    async def _answer(self, sample: Sample, params: dict[str, Any], budget: int, first: Generation) -> Generation:
        """Phase 2 where the budget cut phase 1: the forced (or finished) answer."""
        config = self.config
        client = self.inner.client
        if not first.ok:
            return first
        if first.finish_reason != "length":
            first.forcing = {"budget": budget, "forced": False, "continued": False,
                             "reasoning_finish": first.finish_reason}
            return first
        forced = not first.content.strip()  # cut inside the reasoning: it never closed
        prefix = forced_prefix(first.reasoning, config.budget_cue) if forced else answer_prefix(
            first.reasoning, first.content)
        messages = [*sample.messages, {"role": "assistant", "content": prefix}]
        second = await client.chat(ChatRequest(
            config.model, messages, {**params, "max_tokens": config.budget_answer_tokens, **CONTINUE_FLAGS},
            stream=config.stream,
        ))
        if not second.ok:
            assert second.error is not None
            if refuses_continuation(second.error):
                raise ServerRefused(
                    f"the server refused to continue the assistant message, which --thinking-budget needs "
                    f"(chat completions with continue_final_message=true, add_generation_prompt=false; vLLM and "
                    f"SGLang support it, OpenAI, Ollama and llama.cpp do not; a DeepSeek-R1 or QwQ chat template "
                    f"drops the reasoning from assistant messages: serve the model with a template that keeps "
                    f"it): {second.error}",
                    status=int(_HTTP_STATUS.match(second.error).group(1)),  # type: ignore[union-attr]
                    server_message=second.error,
                )
            return Generation(error=f"forced answer at budget {budget}: {second.error}",
                              attempts=first.attempts + second.attempts, endpoint=first.endpoint)
        return merge_phases(first, second, budget=budget, forced=forced)


def merge_phases(first: Generation, second: Generation, *, budget: int, forced: bool) -> Generation:
    """One Generation from the budget-capped reasoning and its continuation."""
    # Everything phase 2 generated follows the closed reasoning, so it is answer; a server
    # whose reasoning parser sees no </think> in it (vLLM's deepseek_r1) reports it as reasoning.
    more = second.content if second.content.strip() else second.reasoning
    content = more if forced else first.content + more
    u1, u2 = first.usage, second.usage
    usage = Usage(
        prompt_tokens=_add(u1.prompt_tokens, u2.prompt_tokens),
        completion_tokens=_add(u1.completion_tokens, u2.completion_tokens),
        reasoning_tokens=u1.reasoning_tokens,
        reasoning_tokens_estimated=u1.reasoning_tokens_estimated,
    )
    t1, t2 = first.timings, second.timings
    offset = (t2.start - t1.start) if (t1.start is not None and t2.start is not None) else None
    ttfat = t1.ttfat
    if forced or ttfat is None:
        ttfat = offset + (t2.ttfat if t2.ttfat is not None else t2.ttft) if offset is not None and (
            t2.ttfat is not None or t2.ttft is not None) else None
    e2e = offset + t2.e2e if offset is not None and t2.e2e is not None else None
    return Generation(
        content=content.strip(),
        reasoning=first.reasoning,
        reasoning_source=first.reasoning_source,
        finish_reason=second.finish_reason,
        usage=usage,
        timings=Timings(start=t1.start, ttft=t1.ttft, ttfat=ttfat, e2e=e2e),
        attempts=first.attempts + second.attempts,
        endpoint=first.endpoint,
        forcing={
            "budget": budget, "forced": forced, "continued": True, "reasoning_finish": first.finish_reason,
            "answer_finish": second.finish_reason, "reasoning_completion_tokens": u1.completion_tokens,
            "answer_completion_tokens": u2.completion_tokens,
        },
    )


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


def _warn(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"[yellow]warning:[/] {message}", highlight=False)
