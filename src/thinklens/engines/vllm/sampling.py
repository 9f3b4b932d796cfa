"""GenerationConfig -> vLLM SamplingParams arguments, exactly as vLLM's OpenAI server builds them.

Pure (no vLLM import), so it is tested without the engine.  Fields the run leaves unset come
from the checkpoint's generation_config.json, as the server does by default
(`--generation-config auto`); the seed of each repeat is the API path's (`repeat_seed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...backend import repeat_seed
from ...config import GenerationConfig
from ...errors import ConfigError

# GenerationConfig fields that are SamplingParams fields of the same name and meaning.
_DIRECT = ("temperature", "top_p", "top_k", "min_p", "presence_penalty", "frequency_penalty",
           "repetition_penalty", "max_tokens")
# extra_body keys the server also forwards to SamplingParams (vLLM's "extra parameters").
_EXTRA_SAMPLING = frozenset({
    "ignore_eos", "skip_special_tokens", "min_tokens", "stop_token_ids", "include_stop_str_in_output",
    "spaces_between_special_tokens", "logit_bias", "bad_words", "allowed_token_ids",
})
# extra_body keys the backend itself uses (not sampling parameters).
_EXTRA_RENDER = frozenset({"chat_template_kwargs"})


@dataclass(frozen=True)
class SamplingChoice:
    """What one run asks of the engine: SamplingParams kwargs (without the per-repeat seed and
    max_tokens left to the prompt's room when unset), template kwargs, and what was ignored."""

    params: dict[str, Any]
    seed: int | None
    chat_template_kwargs: dict[str, Any] = field(default_factory=dict)
    ignored_extra: tuple[str, ...] = ()
    from_checkpoint: dict[str, Any] = field(default_factory=dict)

    def for_repeat(self, repeat: int, prompt_tokens: int, max_model_len: int | None) -> dict[str, Any]:
        """The SamplingParams kwargs of one (sample, repeat)."""
        params = dict(self.params)
        seed = repeat_seed(self.seed, repeat)
        if seed is not None:
            params["seed"] = seed
        if params.get("max_tokens") is None and max_model_len:
            # As the server: no max_tokens means the rest of the context (SamplingParams says 16).
            params["max_tokens"] = max(1, max_model_len - prompt_tokens)
        return params


def resolve_sampling(gen: GenerationConfig, checkpoint_defaults: dict[str, Any] | None = None) -> SamplingChoice:
    defaults = dict(checkpoint_defaults or {})
    params: dict[str, Any] = {}
    used: dict[str, Any] = {}
    for name in _DIRECT:
        value = getattr(gen, name)
        if value is None and defaults.get(name) is not None:
            value = used[name] = defaults[name]
        if value is not None:
            params[name] = value
    if gen.stop:
        params["stop"] = list(gen.stop)
    extra = dict(gen.extra_body)
    kwargs = extra.get("chat_template_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise ConfigError("extra_body.chat_template_kwargs must be a mapping, e.g. {\"enable_thinking\": true}")
    for key in sorted(set(extra) & _EXTRA_SAMPLING):
        params[key] = extra[key]
    if "logit_bias" in params:  # JSON keys are strings; SamplingParams wants token ids
        try:
            params["logit_bias"] = {int(k): float(v) for k, v in dict(params["logit_bias"]).items()}
        except (TypeError, ValueError):
            raise ConfigError("extra_body.logit_bias must map token ids to numbers, e.g. {\"151668\": 5}") from None
    ignored = tuple(sorted(set(extra) - _EXTRA_SAMPLING - _EXTRA_RENDER))
    return SamplingChoice(params, gen.seed, dict(kwargs), ignored, used)
