"""Where generations come from: an OpenAI-compatible service, or a local checkpoint
(transformers for tiny models and debugging, vLLM in-process for evaluation at scale).

The rest of the pipeline (grading, store, resume, report, efficiency, viewer) sees
only `Generation` records and never knows which backend produced them.
"""

from __future__ import annotations

from typing import Protocol

from .client import ChatClient, ChatRequest, ClientPolicy
from .config import TaskConfig
from .errors import ConfigError
from .records import Generation, Sample


class Backend(Protocol):
    async def check(self) -> list[str]:
        """Fail fast (raise) when generation cannot work; return warnings."""

    async def generate(self, sample: Sample, repeat: int = 0) -> Generation:
        """One generation of repeat `repeat`; failures are returned as Generation(error=...)."""

    async def close(self) -> None: ...


def repeat_seed(seed: int | None, repeat: int) -> int | None:
    """The seed of one repeat.  A fixed seed would make every repeat identical (vLLM honours it
    per request), and avg@n / pass@k meaningless: each repeat gets its own, reproducible seed.
    Shared by the API and the vLLM backends, so both draw the same streams."""
    return None if seed is None else seed + repeat


class ServiceBackend:
    """Chat completions over HTTP, one request per (sample, repeat)."""

    def __init__(self, config: TaskConfig):
        self.config = config
        self.params = config.generation_config.request_params()
        self.client = ChatClient(
            config.api_url,
            api_key=config.resolved_api_key(),
            policy=ClientPolicy(
                timeout_connect=config.timeout_connect,
                timeout_first_token=config.timeout_first_token,
                timeout_idle=config.timeout_idle,
                timeout_total=config.timeout_total,
                max_retries=config.max_retries,
                retry_backoff=config.retry_backoff,
                # Every sample refused the same way (bad key, unknown model): stop the run.
                refusals_to_stop=3,
            ),
            think_tags=config.think_tags,
            reasoning_prefilled=config.reasoning_prefilled,
        )

    async def check(self) -> list[str]:
        return await self.client.check(self.config.model)

    def params_for(self, repeat: int) -> dict:
        params = self.params
        if repeat and "seed" in params:
            params = {**params, "seed": repeat_seed(params["seed"], repeat)}
        return params

    async def generate(self, sample: Sample, repeat: int = 0) -> Generation:
        request = ChatRequest(self.config.model, sample.messages, self.params_for(repeat), stream=self.config.stream)
        return await self.client.chat(request)

    async def close(self) -> None:
        await self.client.close()


def make_backend(config: TaskConfig) -> Backend:
    if config.eval_type == "service":
        if config.thinking_budget:
            from .budget.forcing import ForcingBackend

            return ForcingBackend(ServiceBackend(config))
        return ServiceBackend(config)
    if config.eval_type == "vllm":
        try:
            from .engines.vllm import backend_class  # the [vllm] extra

            vllm_backend = backend_class()
        except ImportError as exc:  # its message carries the install hint
            raise ConfigError(f"eval_type 'vllm' needs vLLM: {exc}") from None
        return vllm_backend(config)
    try:
        from .local import CheckpointBackend  # the [local] extra: torch + transformers
    except ImportError as exc:  # its message carries the install hint
        raise ConfigError(f"eval_type 'checkpoint' needs the local backend: {exc}") from None
    return CheckpointBackend(config)
