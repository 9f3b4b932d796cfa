"""`CheckpointBackend`: the `Backend` of `eval_type='checkpoint'` (a model in this process).

Same interface as the HTTP backend: `check()` loads the model (in the worker thread)
and fails fast with a ConfigError; `generate(sample)` returns a `Generation`, failures
included as `Generation(error=...)`.  Concurrent calls are batched (`eval_batch_size`
rows, left padded) by `MicroBatcher`; torch runs in one worker thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from rich.console import Console

from ..config import TaskConfig
from ..errors import ConfigError
from ..records import Generation, Sample
from .batching import MicroBatcher
from .device import choose_placement
from .engine import GenerationRequest, LocalEngine
from .loading import LoadedCheckpoint, load_checkpoint
from .sampling import resolve_sampling

# extra_body keys that mean something here (the rest are server options: reported, ignored).
_UNDERSTOOD_EXTRA = {"chat_template_kwargs", "ignore_eos", "skip_special_tokens"}


class CheckpointBackend:
    def __init__(self, config: TaskConfig, *, loaded: LoadedCheckpoint | None = None, console: Console | None = None):
        """`loaded`: a checkpoint already in memory (notebooks, tests: load once, evaluate many
        configurations); by default `config.model` is loaded by `check()` or the first batch."""
        self.config = config
        self._preloaded = loaded
        self.console = console or Console(stderr=True)
        # Bad --device/--dtype fail here, before any loading.
        self.placement = loaded.placement if loaded is not None else choose_placement(config.device, config.dtype)
        extra = dict(config.generation_config.extra_body)
        kwargs = extra.get("chat_template_kwargs") or {}
        if not isinstance(kwargs, dict):
            raise ConfigError("extra_body.chat_template_kwargs must be a mapping, e.g. {\"enable_thinking\": true}")
        self.chat_template_kwargs: dict[str, Any] = dict(kwargs)
        self.ignore_eos = bool(extra.get("ignore_eos", False))
        self.skip_special_tokens = bool(extra.get("skip_special_tokens", True))
        self.ignored_extra = sorted(set(extra) - _UNDERSTOOD_EXTRA)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="thinklens-local")
        self._load_lock = threading.Lock()
        self._engine: LocalEngine | None = None
        self._load_error: ConfigError | None = None
        self._repeats: Counter[str] = Counter()
        self.batcher: MicroBatcher[GenerationRequest, Generation] = MicroBatcher(
            self._run_batch, max_batch=config.eval_batch_size, executor=self._executor
        )

    # ---- Backend protocol ----------------------------------------------------------
    async def check(self) -> list[str]:
        loop = asyncio.get_running_loop()
        engine = await loop.run_in_executor(self._executor, self._engine_or_raise)
        return self._warnings(engine)

    async def generate(self, sample: Sample, repeat: int | None = None) -> Generation:
        request = GenerationRequest(sample.messages, self._repeat_of(sample, repeat))
        try:
            return await self.batcher.submit(request)
        except ConfigError as exc:
            return Generation(error=str(exc))
        except Exception as exc:  # never raise to the runner: a failure is data
            return Generation(error=f"local generation failed: {type(exc).__name__}: {exc}")

    async def close(self) -> None:
        await self.batcher.close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._executor.shutdown, True)  # let a running batch end
        if self._engine is not None and self.batcher.batch_sizes:
            sizes = self.batcher.batch_sizes
            self.console.print(
                f"[dim]local backend: {sum(sizes)} generations in {len(sizes)} batches "
                f"(largest {max(sizes)}){f', {self._engine.oom_splits} split(s) after out-of-memory' if self._engine.oom_splits else ''}[/]"
            )
        self._engine = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # ---- internals -------------------------------------------------------------------
    @property
    def engine(self) -> LocalEngine | None:
        return self._engine

    def _repeat_of(self, sample: Sample, repeat: int | None) -> int:
        """Which repeat this call is, for its random stream.  The runner's repeat when known
        (argument, or sample.meta['repeat']); else the count of identical calls so far."""
        if repeat is not None:
            return repeat
        meta_repeat = sample.meta.get("repeat") if isinstance(sample.meta, dict) else None
        if isinstance(meta_repeat, int):
            return meta_repeat
        key = json.dumps([sample.dataset, sample.id, sample.messages], sort_keys=True, ensure_ascii=False)
        seen = self._repeats[key]
        self._repeats[key] += 1
        return seen

    def _engine_or_raise(self) -> LocalEngine:
        with self._load_lock:
            if self._engine is not None:
                return self._engine
            if self._load_error is not None:
                raise self._load_error
            try:
                loaded = self._preloaded or load_checkpoint(self.config.model, self.placement)
                plan = resolve_sampling(self.config.generation_config, loaded.generation_defaults)
                self._engine = LocalEngine(
                    loaded,
                    plan,
                    chat_template_kwargs=self.chat_template_kwargs,
                    think_tags=self.config.think_tags,
                    reasoning_prefilled=self.config.reasoning_prefilled,
                    skip_special_tokens=self.skip_special_tokens,
                    ignore_eos=self.ignore_eos,
                )
            except ConfigError as exc:
                self._load_error = exc
                raise
            self.console.print(f"[dim]local backend: {loaded.describe()}; {plan.describe()}[/]")
            return self._engine

    def _run_batch(self, requests: list[GenerationRequest]) -> list[Generation]:
        return self._engine_or_raise().generate_batch(requests)

    def _warnings(self, engine: LocalEngine) -> list[str]:
        loaded, plan = engine.loaded, engine.plan
        warnings = []
        if self.ignored_extra:
            warnings.append(f"extra_body keys ignored by the checkpoint backend: {', '.join(self.ignored_extra)}")
        if plan.max_new_tokens is None:
            limit = f"the context limit ({loaded.context_length} tokens)" if loaded.context_length else "EOS"
            warnings.append(f"no max_tokens: each generation runs until EOS or {limit}; set --max-tokens")
        if self.chat_template_kwargs:
            template = str(getattr(loaded.tokenizer, "chat_template", "") or "")
            unused = [k for k in self.chat_template_kwargs if k not in template]
            if unused:
                warnings.append(f"the chat template never reads chat_template_kwargs {unused}: they change nothing")
        memory = _kv_cache_warning(loaded, plan.max_new_tokens, self.config.eval_batch_size)
        if memory:
            warnings.append(memory)
        return warnings


def _kv_cache_warning(loaded: LoadedCheckpoint, max_new_tokens: int | None, batch: int) -> str | None:
    """Warn when a full batch's KV cache alone may not fit (on CPU the OS kills the process)."""
    config = loaded.model.config
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    layers = getattr(text, "num_hidden_layers", None)
    heads = getattr(text, "num_attention_heads", None)
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None) or (getattr(text, "hidden_size", 0) // heads if heads else None)
    tokens = max_new_tokens or loaded.context_length
    if not (layers and kv_heads and head_dim and tokens):
        return None
    element = torch.tensor([], dtype=loaded.model.dtype).element_size()
    need = batch * tokens * layers * 2 * kv_heads * head_dim * element
    available = _device_memory(loaded.placement.device)
    if available is None or need < 0.8 * available:
        return None
    return (
        f"a full batch ({batch} x {tokens} new tokens) needs ~{need / 2**30:.1f} GiB of KV cache, "
        f"the device has ~{available / 2**30:.1f} GiB: lower --eval-batch-size or --max-tokens"
    )


def _device_memory(device: str) -> int | None:
    try:
        if device.startswith("cuda"):
            free, _total = torch.cuda.mem_get_info(torch.device(device))
            return int(free)
        if device == "cpu":
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, RuntimeError, AttributeError):
        return None
    return None
