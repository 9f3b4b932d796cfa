"""Sampling parameters -> logits processors, with one random stream per (sample, repeat).

transformers' own sampling draws every row of a batch from one global RNG, so a
sample's output would depend on which other samples shared its batch.  Here each row
gets its own `torch.Generator`, seeded from (seed, messages, repeat): with `--seed` a
sample's generation is reproducible whatever the batch size or order.  `generate()`
runs in greedy mode and `RowSampler`, the last processor, makes the draw: it leaves
only the drawn token finite, so the greedy argmax picks exactly it.

Semantics follow vLLM's OpenAI server: temperature 0 is greedy, top_k -1 or 0 is off,
presence/frequency penalties count generated tokens, repetition_penalty counts prompt
and generated tokens; fields the request leaves unset come from the checkpoint's
generation_config.json (as vLLM and SGLang do by default), else greedy.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList
from transformers.generation.logits_process import (
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from ..config import GenerationConfig


@dataclass(frozen=True)
class SamplingPlan:
    greedy: bool
    temperature: float = 1.0
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    max_new_tokens: int | None = None  # None: until EOS or the context is full
    seed: int | None = None
    stop: tuple[str, ...] = ()
    from_checkpoint: dict[str, Any] = field(default_factory=dict)  # defaults taken from generation_config.json

    def describe(self) -> str:
        if self.greedy:
            text = "greedy"
        else:
            parts = [f"T={self.temperature:g}"]
            parts += [f"{name}={value:g}" for name, value in (
                ("top_p", self.top_p), ("top_k", self.top_k), ("min_p", self.min_p)) if value is not None]
            text = "sampling " + " ".join(parts) + (f" seed={self.seed}" if self.seed is not None else "")
        text += f", max_new_tokens={self.max_new_tokens or 'context limit'}"
        if self.from_checkpoint:
            text += " (from generation_config.json: " + ", ".join(f"{k}={v}" for k, v in self.from_checkpoint.items()) + ")"
        return text


def resolve_sampling(gen: GenerationConfig, checkpoint_defaults: dict[str, Any] | None = None) -> SamplingPlan:
    """The request's parameters, with unset ones taken from the checkpoint's defaults."""
    ckpt = dict(checkpoint_defaults or {})
    used: dict[str, Any] = {}

    def pick(name: str, ckpt_name: str | None = None) -> Any:
        value = getattr(gen, name)
        if value is not None:
            return value
        value = ckpt.get(ckpt_name or name)
        if value is not None:
            used[ckpt_name or name] = value
        return value

    temperature = gen.temperature
    if temperature is None:
        # The checkpoint samples only when it says so (do_sample); its temperature alone is inert.
        if ckpt.get("do_sample"):
            temperature = float(ckpt.get("temperature", 1.0))
            used["do_sample"] = True
            used["temperature"] = temperature
        else:
            temperature = 0.0
    greedy = temperature == 0.0
    top_k = pick("top_k")
    if top_k is not None and top_k <= 0:
        top_k = None
    top_p = pick("top_p")
    if top_p is not None and top_p >= 1.0:
        top_p = None
    min_p = pick("min_p")
    if min_p is not None and min_p <= 0.0:
        min_p = None
    repetition = pick("repetition_penalty")
    if repetition is not None and repetition == 1.0:
        repetition = None
    if greedy:  # sampling filters change nothing under argmax: drop them (and their note)
        top_k = top_p = min_p = None
        for name in ("top_k", "top_p", "min_p"):
            used.pop(name, None)
    max_new = pick("max_tokens", "max_new_tokens")
    return SamplingPlan(
        greedy=greedy,
        temperature=float(temperature) if not greedy else 1.0,
        top_p=top_p,
        top_k=top_k,
        min_p=min_p,
        repetition_penalty=repetition,
        presence_penalty=gen.presence_penalty or 0.0,
        frequency_penalty=gen.frequency_penalty or 0.0,
        max_new_tokens=int(max_new) if max_new else None,
        seed=gen.seed,
        stop=tuple(s for s in (gen.stop or []) if s),
        from_checkpoint=used,
    )


def row_seed(seed: int | None, messages: list[dict[str, Any]], repeat: int) -> int:
    """The random stream of one (sample, repeat): fixed for a given --seed, fresh otherwise."""
    if seed is None:
        return secrets.randbits(63)
    h = hashlib.sha256()
    h.update(str(seed).encode())
    h.update(b"\x00")
    h.update(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode())
    h.update(b"\x00")
    h.update(str(repeat).encode())
    return int.from_bytes(h.digest()[:8], "big") & ((1 << 63) - 1)


class OpenAIPenalties(LogitsProcessor):
    """presence/frequency penalties over the generated tokens (the OpenAI definition)."""

    def __init__(self, presence: float, frequency: float, prompt_length: int):
        self.presence = presence
        self.frequency = frequency
        self.prompt_length = prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids[:, self.prompt_length:]
        if generated.shape[1] == 0:
            return scores
        counts = torch.zeros_like(scores).scatter_add_(1, generated, torch.ones_like(generated, dtype=scores.dtype))
        return scores - self.frequency * counts - self.presence * (counts > 0).to(scores.dtype)


class RowSampler(LogitsProcessor):
    """Draw each row's next token from its own generator; leave only that token finite."""

    def __init__(self, seeds: list[int], device: torch.device):
        self.generators = []
        for seed in seeds:
            g = torch.Generator(device=device)
            g.manual_seed(seed)
            self.generators.append(g)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = torch.softmax(scores.float(), dim=-1)
        picks = torch.cat([
            torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(self.generators)
        ])
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(1, picks[:, None], 0.0)


def build_processors(plan: SamplingPlan, seeds: list[int], prompt_length: int, device: torch.device) -> LogitsProcessorList:
    """Penalties, then temperature, top-k, top-p, min-p (vLLM's order), then the draw."""
    processors = LogitsProcessorList()
    if plan.repetition_penalty is not None:
        processors.append(RepetitionPenaltyLogitsProcessor(plan.repetition_penalty))
    if plan.presence_penalty or plan.frequency_penalty:
        processors.append(OpenAIPenalties(plan.presence_penalty, plan.frequency_penalty, prompt_length))
    if plan.greedy:
        return processors
    if plan.temperature != 1.0:
        processors.append(TemperatureLogitsWarper(plan.temperature))
    if plan.top_k is not None:
        processors.append(TopKLogitsWarper(plan.top_k))
    if plan.top_p is not None:
        processors.append(TopPLogitsWarper(plan.top_p))
    if plan.min_p is not None:
        processors.append(MinPLogitsWarper(plan.min_p))
    processors.append(RowSampler(seeds, device))
    return processors
