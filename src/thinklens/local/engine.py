"""One batch of chat requests through `model.generate`: render, left-pad, generate, split.

Runs synchronously (the backend calls it in its worker thread).  A batch is static:
it lasts until its last row stops, rows that stopped early wait (their timings do not
count the wait).  Out of memory, the batch is split in halves and retried.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import GenerationConfig as HFGenerationConfig
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.stopping_criteria import StopStringCriteria

from ..records import Generation
from .decode import Detokenizer, build_generation, end_of_row
from .loading import LoadedCheckpoint
from .sampling import SamplingPlan, build_processors, row_seed


@dataclass(frozen=True)
class GenerationRequest:
    messages: list[dict[str, Any]]
    repeat: int = 0


@dataclass
class _Prompt:
    index: int  # position in the batch the caller gave
    request: GenerationRequest
    text: str
    prefilled: bool  # the rendered prompt opens the reasoning itself (Qwen3/QwQ/R1 templates)


class StepClock(StoppingCriteria):
    """Never stops anything: records when each new token of the batch was chosen.

    On CUDA the first step synchronises, so time to first token is exact; later steps
    are stamped when the host issues them, which with transformers' deferred stop
    checks is at most a step ahead of the GPU (no per-step synchronisation: it would
    slow every batch down).
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.times: list[float] = []

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        if not self.times and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.times.append(time.perf_counter())
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def _is_out_of_memory(exc: BaseException) -> bool:
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom is not None and isinstance(exc, oom):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


class LocalEngine:
    def __init__(
        self,
        loaded: LoadedCheckpoint,
        plan: SamplingPlan,
        *,
        chat_template_kwargs: dict[str, Any] | None = None,
        think_tags: Sequence[tuple[str, str]] = (("<think>", "</think>"),),
        reasoning_prefilled: bool = False,
        skip_special_tokens: bool = True,
        ignore_eos: bool = False,
    ):
        self.loaded = loaded
        self.plan = plan
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.think_tags = [tuple(t) for t in think_tags]
        self.reasoning_prefilled = reasoning_prefilled
        self.ignore_eos = ignore_eos
        tags = [tag for pair in self.think_tags for tag in pair]
        self.detok = Detokenizer(loaded.tokenizer, keep=tags, skip_special_tokens=skip_special_tokens)
        self.eos_ids = frozenset() if ignore_eos else frozenset(loaded.eos_token_ids)
        # Built once: it scans the whole vocabulary (~1 s for Qwen's 151k tokens).
        self._stop_criteria = StopStringCriteria(loaded.tokenizer, list(plan.stop)) if plan.stop else None
        self.endpoint = f"local:{loaded.placement.device}"
        self.oom_splits = 0

    # ---- prompts -----------------------------------------------------------------
    def render(self, messages: list[dict[str, Any]]) -> str:
        return self.loaded.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **self.chat_template_kwargs
        )

    def opens_reasoning(self, prompt: str) -> bool:
        """The template ends the prompt inside an open reasoning block (`...<think>\\n`)."""
        tail = prompt.rstrip()
        return any(tail.endswith(open_tag) for open_tag, _ in self.think_tags)

    # ---- generation --------------------------------------------------------------
    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """One Generation per request, in order; failures are Generation(error=...)."""
        results: list[Generation | None] = [None] * len(requests)
        prompts: list[_Prompt] = []
        for i, request in enumerate(requests):
            try:
                text = self.render(request.messages)
            except Exception as exc:  # a template that rejects the messages (roles, content types)
                results[i] = Generation(error=f"chat template failed: {type(exc).__name__}: {exc}", endpoint=self.endpoint)
                continue
            prompts.append(_Prompt(i, request, text, self.reasoning_prefilled or self.opens_reasoning(text)))
        if prompts:
            for prompt, gen in zip(prompts, self._run(prompts)):
                results[prompt.index] = gen
        return [r if r is not None else Generation(error="not generated") for r in results]

    def _run(self, prompts: list[_Prompt]) -> list[Generation]:
        try:
            return self._generate(prompts)
        except Exception as exc:
            if not _is_out_of_memory(exc):
                message = f"generation failed: {type(exc).__name__}: {' '.join(str(exc).split())[:500]}"
                return [Generation(error=message, endpoint=self.endpoint) for _ in prompts]
            self._free_cache()
            if len(prompts) == 1:
                return [Generation(
                    error="out of memory for a single sample: lower --max-tokens, use a smaller --dtype, or a bigger device",
                    endpoint=self.endpoint,
                )]
            self.oom_splits += 1
            half = len(prompts) // 2
            return self._run(prompts[:half]) + self._run(prompts[half:])

    def _free_cache(self) -> None:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        mps = getattr(torch, "mps", None)
        if mps is not None and hasattr(mps, "empty_cache") and self.loaded.placement.device == "mps":
            mps.empty_cache()

    def _generate(self, prompts: list[_Prompt]) -> list[Generation]:
        loaded = self.loaded
        tok = loaded.tokenizer
        enc = tok([p.text for p in prompts], add_special_tokens=False, padding=True, return_tensors="pt")
        prompt_lengths = enc["attention_mask"].sum(dim=1).tolist()
        padded = int(enc["input_ids"].shape[1])
        context = loaded.context_length
        out: list[Generation | None] = [None] * len(prompts)
        runnable = []
        for j, length in enumerate(prompt_lengths):
            if context is not None and length >= context:
                out[j] = Generation(
                    error=f"the prompt is {length} tokens; the model's context is {context}", endpoint=self.endpoint
                )
            else:
                runnable.append(j)
        if len(runnable) < len(prompts):  # re-pad without the rejected rows
            done = self._generate([prompts[j] for j in runnable]) if runnable else []
            for j, gen in zip(runnable, done):
                out[j] = gen
            return [g for g in out if g is not None]

        max_new = self.plan.max_new_tokens
        if context is not None:
            room = context - padded
            max_new = room if max_new is None else min(max_new, room)
        if max_new is None:  # no max_tokens and a config without max_position_embeddings
            message = "set --max-tokens: the model's config gives no context length to bound generation"
            return [Generation(error=message, endpoint=self.endpoint) for _ in prompts]
        device = loaded.input_device
        input_ids = enc["input_ids"].to(device)
        attention_mask = enc["attention_mask"].to(device)
        seeds = [] if self.plan.greedy else [row_seed(self.plan.seed, p.request.messages, p.request.repeat) for p in prompts]
        processors = build_processors(self.plan, seeds, padded, device)
        clock = StepClock(device)
        criteria = StoppingCriteriaList([clock])
        if self._stop_criteria is not None:
            criteria.append(self._stop_criteria)
        config = HFGenerationConfig(
            max_new_tokens=max_new,
            do_sample=False,  # the draw happens in RowSampler (one generator per row)
            num_beams=1,
            eos_token_id=sorted(self.eos_ids) or None,
            pad_token_id=loaded.pad_token_id,
        )
        start_wall = time.time()
        start = time.perf_counter()
        with torch.inference_mode():
            sequences = loaded.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                generation_config=config,
                logits_processor=processors,
                stopping_criteria=criteria,
            )
        generated = sequences[:, padded:].tolist()
        finished_at = time.perf_counter()
        steps = len(generated[0]) if generated else 0
        results = []
        for prompt, length, row in zip(prompts, prompt_lengths, generated):
            end = end_of_row(
                row,
                eos_ids=self.eos_ids,
                pad_id=loaded.pad_token_id,
                stop=self.plan.stop,
                decode=self.detok,
                reached_cap=steps >= max_new,
            )
            results.append(build_generation(
                end,
                prompt_tokens=int(length),
                prefilled=prompt.prefilled,
                think_tags=self.think_tags,
                detok=self.detok,
                start_wall=start_wall,
                start=start,
                step_times=clock.times,
                finished_at=finished_at,
                endpoint=self.endpoint,
            ))
        return results
