"""`VllmBackend`: the `Backend` of `eval_type='vllm'`: vLLM's async engine in this process.

Every (sample, repeat) is its own engine request, submitted as soon as the runner has a
slot for it, and returned to the runner the moment the engine finishes it: the runner
commits it to the store at once, so `kill -9` loses only unfinished samples and a rerun
resumes exactly.  Repeats of a sample are adjacent in the plan, so they reach the engine
together and its prefix cache computes the prompt once.

The prompt is the checkpoint's chat template (with `chat_template_kwargs` from
extra_body) rendered and tokenised here exactly as vLLM's OpenAI server does
(`add_special_tokens=False`); sampling parameters follow the server too (unset fields
from generation_config.json, no max_tokens = the rest of the context) and each repeat's
seed is the API path's.  Parallelism is vLLM's own: tensor / pipeline / data parallel
sizes, and `engine_args` such as `distributed_executor_backend: ray` for several nodes.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import itertools
import time
from typing import Any

from rich.console import Console
from vllm import AsyncEngineArgs, SamplingParams
from vllm.sampling_params import RequestOutputKind
from vllm.v1.engine.async_llm import AsyncLLM

from ...config import TaskConfig
from ...errors import ConfigError, ThinklensError
from ...records import Generation, Sample
from .outputs import FinishedRequest, to_generation
from .sampling import SamplingChoice, resolve_sampling

# Requests handed to the engine at once when --eval-batch-size is not given: enough to keep
# its scheduler full (it runs max_num_seqs of them, queues the rest), few enough that the
# pending prompts cost little memory.
DEFAULT_IN_FLIGHT = 1024


class EngineFailed(ThinklensError):
    """The engine died mid-run: every later request would fail the same way, so stop."""


class VllmBackend:
    def __init__(self, config: TaskConfig, *, console: Console | None = None):
        self.config = config
        self.console = console or Console(stderr=True)
        # Bad sampling/extra_body/engine arguments fail here, before the engine starts.
        self.choice: SamplingChoice = resolve_sampling(config.generation_config)
        self.engine_args = build_engine_args(config)
        explicit = "eval_batch_size" in config.model_fields_set
        self.max_in_flight = config.eval_batch_size if explicit else DEFAULT_IN_FLIGHT
        self.endpoint = (f"vllm:tp{config.tensor_parallel_size}pp{config.pipeline_parallel_size}"
                         f"dp{config.data_parallel_size}")
        self.engine: AsyncLLM | None = None
        self.tokenizer: Any = None
        self.max_model_len: int | None = None
        self.close_ids: frozenset[int] = frozenset()
        self._request_ids = itertools.count()

    # ---- Backend protocol ----------------------------------------------------------
    async def check(self) -> list[str]:
        if self.engine is None:
            await self._start()
        return self._warnings()

    async def generate(self, sample: Sample, repeat: int = 0) -> Generation:
        if self.engine is None:
            await self._start()
        assert self.engine is not None
        try:
            text = self.tokenizer.apply_chat_template(
                sample.messages, tokenize=False, add_generation_prompt=True, **self.choice.chat_template_kwargs
            )
            prompt_ids = list(self.tokenizer.encode(text, add_special_tokens=False))
        except Exception as exc:  # a template that rejects the messages (roles, content types)
            return Generation(error=f"chat template failed: {type(exc).__name__}: {exc}", endpoint=self.endpoint)
        if self.max_model_len and len(prompt_ids) >= self.max_model_len:
            return Generation(error=f"the prompt is {len(prompt_ids)} tokens; the model's context is "
                              f"{self.max_model_len}", endpoint=self.endpoint)
        params = SamplingParams(
            **self.choice.for_repeat(repeat, len(prompt_ids), self.max_model_len),
            n=1, output_kind=RequestOutputKind.FINAL_ONLY,  # one message per request: least overhead
        )
        start, t0 = time.time(), time.perf_counter()
        final = None
        try:
            async for out in self.engine.generate({"prompt_token_ids": prompt_ids}, params,
                                                  request_id=f"thinklens-{next(self._request_ids)}"):
                final = out
        except Exception as exc:
            if type(exc).__name__ == "EngineDeadError" or getattr(self.engine, "errored", False):
                raise EngineFailed(f"the vLLM engine died: {exc}; stored samples are kept, rerun to resume") from None
            return Generation(error=f"vLLM generation failed: {type(exc).__name__}: {exc}", endpoint=self.endpoint)
        e2e = time.perf_counter() - t0
        if final is None or not final.outputs:
            return Generation(error="vLLM returned no output", endpoint=self.endpoint)
        completion = final.outputs[0]
        metrics = getattr(final, "metrics", None)
        ttft = getattr(metrics, "first_token_latency", None) or None
        done = FinishedRequest(
            text=completion.text, token_ids=list(completion.token_ids), prompt_tokens=len(prompt_ids),
            finish_reason=completion.finish_reason, start=start, e2e=e2e, ttft=ttft,
        )
        prefilled = self.config.reasoning_prefilled or _opens_reasoning(text, self.config.think_tags)
        return to_generation(done, prefilled=prefilled, think_tags=self.config.think_tags,
                             close_ids=self.close_ids, endpoint=self.endpoint)

    async def close(self) -> None:
        if self.engine is not None:
            self.engine.shutdown()
            self.engine = None

    # ---- internals -------------------------------------------------------------------
    async def _start(self) -> None:
        try:
            # Blocks while the engine process loads the model (nothing else runs before it).
            engine = AsyncLLM.from_engine_args(self.engine_args)
        except Exception as exc:
            raise ConfigError(f"vLLM could not start {self.config.model}: {type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:800]}") from None
        self.engine = engine
        tokenizer = engine.get_tokenizer()
        self.tokenizer = await tokenizer if inspect.isawaitable(tokenizer) else tokenizer
        model_config = engine.model_config
        self.max_model_len = getattr(model_config, "max_model_len", None)
        self.choice = resolve_sampling(self.config.generation_config, model_config.get_diff_sampling_param())
        self.close_ids = frozenset(_single_token_ids(self.tokenizer, [close for _, close in self.config.think_tags]))
        self.console.print(f"[dim]vllm backend: {self.config.model} ({self.endpoint}, context "
                           f"{self.max_model_len}); {_describe(self.choice)}[/]")

    def _warnings(self) -> list[str]:
        warnings = []
        if self.choice.ignored_extra:
            warnings.append(f"extra_body keys ignored by the vllm backend: {', '.join(self.choice.ignored_extra)}")
        if self.choice.params.get("max_tokens") is None:
            warnings.append(f"no max_tokens: each generation runs until EOS or the context limit "
                            f"({self.max_model_len} tokens); set --max-tokens")
        if self.choice.chat_template_kwargs:
            template = str(getattr(self.tokenizer, "chat_template", "") or "")
            unused = [k for k in self.choice.chat_template_kwargs if k not in template]
            if unused:
                warnings.append(f"the chat template never reads chat_template_kwargs {unused}: they change nothing")
        return warnings


def build_engine_args(config: TaskConfig) -> AsyncEngineArgs:
    """AsyncEngineArgs from the run's fields; unknown engine_args are a ConfigError."""
    known = {f.name for f in dataclasses.fields(AsyncEngineArgs)}
    unknown = sorted(set(config.engine_args) - known)
    if unknown:
        hints = [f"{k} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(k, known, n=1)) else k
                 for k in unknown]
        raise ConfigError(f"unknown vLLM engine_args: {', '.join(hints)}")
    base: dict[str, Any] = {
        "model": config.model,
        "tensor_parallel_size": config.tensor_parallel_size,
        "pipeline_parallel_size": config.pipeline_parallel_size,
        "data_parallel_size": config.data_parallel_size,
    }
    if config.dtype:
        base["dtype"] = config.dtype
    clash = sorted(k for k in set(base) & set(config.engine_args) if config.engine_args[k] != base[k])
    if clash:
        raise ConfigError(f"give {', '.join(clash)} once: as a flag/field or in engine_args, not both")
    defaults: dict[str, Any] = {}
    if config.generation_config.seed is not None and _on_cpu():
        # vLLM's CPU backend (0.32) kills the engine when a seeded request's prompt is split by
        # chunked prefill ("CPU Generator does not use offset"), as soon as the prompts in flight
        # exceed one step's token budget: with --seed on CPU, prefill whole prompts.
        defaults["enable_chunked_prefill"] = False
    try:
        return AsyncEngineArgs(**{**defaults, **config.engine_args, **base})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid vLLM engine_args: {exc}") from None


def _on_cpu() -> bool:
    try:
        from vllm.platforms import current_platform

        return bool(current_platform.is_cpu())
    except Exception:  # platform detection failing here is reported by the engine itself
        return False


def _single_token_ids(tokenizer: Any, tags: list[str]) -> list[int]:
    """Ids of the tags that are one token in this vocabulary (the reasoning's exact end)."""
    ids = []
    for tag in tags:
        encoded = tokenizer.encode(tag, add_special_tokens=False)
        if len(encoded) == 1:
            ids.append(int(encoded[0]))
    return ids


def _opens_reasoning(prompt: str, think_tags: list[tuple[str, str]]) -> bool:
    """The template ends the prompt inside an open reasoning block (`...<think>\\n`)."""
    tail = prompt.rstrip()
    return any(tail.endswith(open_tag) for open_tag, _ in think_tags)


def _describe(choice: SamplingChoice) -> str:
    shown = {k: v for k, v in choice.params.items() if k != "logit_bias"}
    text = "sampling " + " ".join(f"{k}={v}" for k, v in shown.items())
    if choice.seed is not None:
        text += f" seed={choice.seed}+repeat"
    if choice.from_checkpoint:
        text += " (from generation_config.json: " + ", ".join(f"{k}={v}" for k, v in choice.from_checkpoint.items()) + ")"
    return text
