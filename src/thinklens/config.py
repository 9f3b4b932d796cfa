"""Run configuration: `TaskConfig`, `GenerationConfig`, `JudgeConfig`.

Everything is validated up front (pydantic): a wrong value is a clear error and
nothing starts.  Field names follow the EvalScope best-practice guide so its users
switch by changing the import (DESIGN.md, "Compatibility").
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError, field_validator,
                      model_validator)

from .errors import ConfigError
from .redaction import REDACTED, redact_url



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _take_aliases(data: dict[str, Any], aliases: dict[str, str]) -> None:
    """Move each alias's value (in order) to its field; a value given under the field's
    own name, or under an earlier alias, wins and the later alias is dropped."""
    for alias, name in aliases.items():
        if alias in data:
            data.setdefault(name, data.pop(alias))


class GenerationConfig(_Strict):
    """Sampling parameters sent with every request (and hashed into each sample's key)."""

    max_tokens: StrictInt | None = Field(default=None, ge=1)
    temperature: StrictFloat | None = Field(default=None, ge=0, le=2)
    top_p: StrictFloat | None = Field(default=None, gt=0, le=1)
    top_k: StrictInt | None = Field(default=None, ge=-1)
    min_p: StrictFloat | None = Field(default=None, ge=0, le=1)
    presence_penalty: StrictFloat | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: StrictFloat | None = Field(default=None, ge=-2, le=2)
    repetition_penalty: StrictFloat | None = Field(default=None, gt=0)
    seed: StrictInt | None = None
    stop: list[str] | None = None
    n: StrictInt = Field(default=1, ge=1, le=1024, description="repeats per sample: separate requests, each resumable")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="merged into the request body")

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        # Names used by EvalScope / transformers users.
        _take_aliases(data, {
            "max_new_tokens": "max_tokens",
            "max_completion_tokens": "max_tokens",
            "num_return_sequences": "n",
        })
        if "do_sample" in data:  # do_sample=False means greedy
            if data.pop("do_sample") is False:
                data["temperature"] = 0.0
        if isinstance(data.get("stop"), str):
            data["stop"] = [data["stop"]]
        # `chat_template_kwargs` etc. at top level go to the request body.
        for key in ("chat_template_kwargs", "ignore_eos", "skip_special_tokens"):
            if key in data:
                data.setdefault("extra_body", {})
                data["extra_body"] = {**data["extra_body"], key: data.pop(key)}
        return data

    def request_params(self) -> dict[str, Any]:
        """Body fields for one request (n is always 1: repeats are separate requests)."""
        params = self.model_dump(exclude={"n", "extra_body"}, exclude_none=True)
        params.update(self.extra_body)
        return params


class JudgeConfig(_Strict):
    """An OpenAI-compatible model used as a judge (grading fallback, efficiency)."""

    api_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    temperature: StrictFloat = 0.0
    max_tokens: StrictInt | None = 2048

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            _take_aliases(data, {"base_url": "api_url", "model_name": "model", "model_id": "model"})
        return data


EvalType = Literal["service", "checkpoint", "vllm"]
_EVAL_TYPE_ALIASES = {
    "service": "service", "openai_api": "service", "server": "service", "api": "service",
    "checkpoint": "checkpoint", "llm_ckpt": "checkpoint", "local": "checkpoint",
    "vllm": "vllm",
}


class TaskConfig(_Strict):
    """One evaluation.  Accepts the EvalScope guide's fields (see DESIGN.md)."""

    model: str
    api_url: list[str] = Field(default_factory=list, description="one or more OpenAI-compatible base URLs")
    api_key: str | None = Field(default=None, description="falls back to $OPENAI_API_KEY; never stored")
    eval_type: EvalType = "service"
    datasets: list[str] = Field(min_length=1)
    dataset_args: dict[str, dict[str, Any]] = Field(default_factory=dict)
    dataset_hub: Literal["huggingface", "modelscope"] = "huggingface"
    eval_batch_size: StrictInt = Field(default=32, ge=1, le=100_000)
    generation_config: GenerationConfig = Field(default_factory=GenerationConfig)
    limit: StrictInt | StrictFloat | None = Field(
        default=None, description="the first N samples of each dataset, or a fraction 0 < F < 1 of each",
    )
    output: str | None = Field(default=None, description="run folder; default outputs/<timestamp>-<model>")
    stream: bool = True
    # One timeout/retry policy (DESIGN.md).  Reasoning runs for many minutes, and a busy
    # server may queue a request for long: first-token is generous, idle is not.
    timeout_connect: StrictFloat = Field(default=30.0, gt=0)
    timeout_first_token: StrictFloat = Field(default=1800.0, gt=0)
    timeout_idle: StrictFloat = Field(default=300.0, gt=0)
    timeout_total: StrictFloat | None = Field(default=None, gt=0)
    max_retries: StrictInt = Field(default=5, ge=0, le=100)
    retry_backoff: StrictFloat = Field(default=1.0, ge=0, description="first backoff (s); doubles per retry, with jitter")
    think_tags: list[tuple[str, str]] = Field(default_factory=lambda: [("<think>", "</think>")])
    reasoning_prefilled: bool = Field(
        default=False,
        description="the chat template opens <think> itself: output with no </think> is all reasoning",
    )
    grading_workers: StrictInt | None = Field(default=None, ge=1)
    grading_timeout: StrictFloat = Field(default=10.0, gt=0)
    judge_strategy: Literal["rule", "llm", "rule_then_llm"] = "rule"
    judge_config: JudgeConfig | None = None
    # USD per million tokens: the report's cost line (prompt at price_in, reasoning + answer at price_out).
    price_in: StrictFloat | None = Field(default=None, ge=0)
    price_out: StrictFloat | None = Field(default=None, ge=0)
    # Budget forcing (budget/forcing.py): each budget B caps the reasoning at B tokens; an
    # unclosed reasoning is closed by the client and the answer forced.  Every budget is a
    # stored item of its own (its key holds B, the answer tokens and the cue).
    thinking_budget: list[StrictInt] | None = Field(
        default=None, description="reasoning budgets in tokens, each measured on its own",
    )
    budget_answer_tokens: StrictInt = Field(default=256, ge=1, description="max tokens of the forced answer")
    budget_cue: str = Field(default="\n\n**Final Answer**\n", description="text after </think> that starts the answer")
    # Trace reuse (budget/reuse.py): one reasoning request per (sample, repeat) at the largest
    # budget; each smaller budget's reasoning is that trace cut at B tokens (the server's running
    # token count per streamed chunk).  An execution strategy, not part of the keys: with a seed
    # on a deterministic server it stores what independent requests would have.
    budget_reuse: bool = Field(
        default=False, description="reuse the largest budget's reasoning for the smaller ones (needs seed)",
    )
    budget_reuse_check: bool = Field(
        default=False, description="for one sample, also generate the smallest budget on its own and compare",
    )
    # checkpoint backend (dtype: the vllm backend's too)
    device: str | None = None
    dtype: str | None = None
    # vllm backend: vLLM's own parallelism (multi-node: engine_args distributed_executor_backend=ray)
    tensor_parallel_size: StrictInt = Field(default=1, ge=1)
    pipeline_parallel_size: StrictInt = Field(default=1, ge=1)
    data_parallel_size: StrictInt = Field(default=1, ge=1)
    engine_args: dict[str, Any] = Field(
        default_factory=dict, description="more vLLM engine arguments, e.g. {\"gpu_memory_utilization\": 0.9}"
    )
    progress: bool = True
    wait_lock: bool = Field(
        default=False, description="another process holds the run folder: wait for it instead of failing",
    )
    write_predictions: bool = Field(
        default=False, description="also write predictions.jsonl (one line per sample x repeat) next to report.json",
    )

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        _take_aliases(data, {"work_dir": "output", "output_dir": "output", "base_url": "api_url"})
        # Unlike the other aliases, model_id next to model is an error (extra field).
        if "model_id" in data and "model" not in data:
            data["model"] = data.pop("model_id")
        if isinstance(data.get("datasets"), str):
            data["datasets"] = [data["datasets"]]
        if isinstance(data.get("api_url"), str):
            data["api_url"] = [data["api_url"]]
        eval_type = data.get("eval_type")
        if isinstance(eval_type, str):
            if eval_type not in _EVAL_TYPE_ALIASES:
                raise ValueError(f"eval_type must be one of {sorted(set(_EVAL_TYPE_ALIASES))}, got {eval_type!r}")
            data["eval_type"] = _EVAL_TYPE_ALIASES[eval_type]
        # EvalScope's generation_config may carry stream / timeout; take them as ours.
        gen = data.get("generation_config")
        if isinstance(gen, dict):
            gen = dict(gen)
            if "stream" in gen:
                data.setdefault("stream", gen.pop("stream"))
            if "timeout" in gen:
                data.setdefault("timeout_total", gen.pop("timeout"))
            data["generation_config"] = gen
        return data

    @field_validator("api_url")
    @classmethod
    def _check_urls(cls, urls: list[str]) -> list[str]:
        out = []
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"api_url must start with http:// or https://, got {url!r}")
            url = url.rstrip("/")
            # Users paste the full endpoint from docs; accept it.
            for suffix in ("/chat/completions", "/completions"):
                if url.endswith(suffix):
                    url = url[: -len(suffix)]
            out.append(url)
        return out

    @field_validator("thinking_budget")
    @classmethod
    def _check_budget_values(cls, budgets: list[int] | None) -> list[int] | None:
        if budgets is None:
            return None
        if not budgets:
            raise ValueError("thinking_budget needs at least one budget (tokens, e.g. 1024 2048 4096)")
        bad = [b for b in budgets if b < 1]
        if bad:
            raise ValueError(f"thinking_budget values must be token counts > 0, got {bad[0]}")
        if len(set(budgets)) != len(budgets):
            raise ValueError(f"thinking_budget lists a budget twice: {budgets}")
        return sorted(budgets)  # the report and the curve read in increasing budget

    @field_validator("limit")
    @classmethod
    def _check_limit(cls, limit: int | float | None) -> int | float | None:
        # EvalScope takes a fraction of the dataset as well as a count: 0.1 is a tenth of each.
        if limit is None:
            return None
        if isinstance(limit, int):
            if limit < 1:
                raise ValueError(f"{limit} selects no sample: leave --limit out for all samples "
                                 "(or give N >= 1, or a fraction such as 0.1)")
            return limit
        if not 0 < limit < 1:
            raise ValueError(f"a fractional limit is a share of each dataset, 0 < F < 1, got {limit!r} "
                             "(a count is a whole number: 20, not 20.0)")
        return limit

    @field_validator("datasets")
    @classmethod
    def _canonical_datasets(cls, names: list[str]) -> list[str]:
        # Once, here: the runner, the store and the report all key on the canonical name
        # (`math500` and `math_500` are one dataset, stored and reported as math_500).
        out: list[str] = []
        for name in names:
            canonical = canonical_dataset(name)
            if canonical not in out:
                out.append(canonical)
        return out

    @field_validator("dataset_args")
    @classmethod
    def _canonical_dataset_args(cls, args: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, value in args.items():
            canonical = canonical_dataset(name)
            merged = dict(out.get(canonical, {}))
            for key, item in value.items():
                if key in merged and merged[key] != item:
                    raise ValueError(f"dataset_args gives {canonical}.{key} twice, with different values "
                                     f"(under {name!r} and another name of the same dataset)")
                merged[key] = item
            out[canonical] = merged
        return out

    @model_validator(mode="after")
    def _check(self) -> "TaskConfig":
        if self.eval_type == "service" and not self.api_url:
            raise ValueError("api_url is required for eval_type 'service' (e.g. http://127.0.0.1:8000/v1)")
        if self.judge_strategy != "rule" and not (
            self.judge_config and self.judge_config.api_url and self.judge_config.model
        ):
            raise ValueError(
                f"judge_strategy {self.judge_strategy!r} needs a judge: --judge-url and --judge-model "
                "(judge_config=dict(api_url=..., model=...))"
            )
        if self.thinking_budget is not None:
            self._check_budgets()
        if self.budget_reuse or self.budget_reuse_check:
            self._check_budget_reuse()
        engine = [f for f in ("tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size")
                  if getattr(self, f) != 1] + (["engine_args"] if self.engine_args else [])
        if engine and self.eval_type != "vllm":
            raise ValueError(f"{', '.join(engine)}: vLLM engine settings, for eval_type 'vllm' only "
                             f"(this run is {self.eval_type!r})")
        unknown = set(self.dataset_args) - set(self.datasets)
        if unknown:
            raise ValueError(f"dataset_args names datasets that are not in datasets: {sorted(unknown)}")
        return self

    def _check_budgets(self) -> None:
        if self.eval_type != "service":
            raise ValueError("thinking_budget (budget forcing) needs eval_type 'service': it continues the "
                             "assistant message through the server's chat API")
        if self.generation_config.max_tokens is not None:
            raise ValueError("max_tokens has no meaning with thinking_budget: each budget caps its own reasoning "
                             "request and --budget-answer-tokens caps the forced answer; leave --max-tokens out")

    def _check_budget_reuse(self) -> None:
        if not self.thinking_budget:
            raise ValueError("budget_reuse / budget_reuse_check need thinking_budget (--thinking-budget 1024 4096)")
        if not self.budget_reuse:
            raise ValueError("budget_reuse_check checks the reuse of --budget-reuse: give both")
        if self.generation_config.seed is None:
            raise ValueError("budget_reuse needs a seed (--seed N): a trace is reused for a smaller budget only "
                             "where the same seed makes the server generate the same tokens")
        if not self.stream:
            raise ValueError("budget_reuse cuts the streamed trace at each budget: leave --no-stream out")

    # ---- derived -----------------------------------------------------------------
    def resolved_api_key(self) -> str | None:
        return self.api_key or os.environ.get("OPENAI_API_KEY")

    def redacted(self) -> dict[str, Any]:
        """The config as stored on disk: secrets replaced."""
        data = self.model_dump(mode="json")
        if data.get("api_key"):
            data["api_key"] = REDACTED
        data["api_url"] = [redact_url(u) for u in data.get("api_url") or []]
        if data.get("judge_config"):
            if data["judge_config"].get("api_key"):
                data["judge_config"]["api_key"] = REDACTED
            data["judge_config"]["api_url"] = redact_url(data["judge_config"].get("api_url"))
        return data

    def generation_fingerprint(self) -> str:
        """What makes two generations comparable: model + sampling (not n, not endpoint).

        The endpoint URL is left out on purpose: several replicas serve the same model,
        and spreading load over them (or moving the server) must not invalidate resume.
        """
        payload = {"model": self.model, "params": self.generation_config.request_params()}
        return json.dumps(payload, sort_keys=True, ensure_ascii=False)


def canonical_dataset(name: str) -> str:
    """The registry's name for a dataset name or alias (`math500` -> `math_500`); an
    unknown name raises DatasetError with a did-you-mean."""
    from .benchmarks.registry import get_benchmark  # the registry loads benchmark modules

    return get_benchmark(name).name


def sample_key(fingerprint: str, messages: list[dict[str, Any]], repeat: int) -> str:
    """Content hash of (model, generation config, messages, repeat): the resume key."""
    h = hashlib.sha256()
    h.update(fingerprint.encode())
    h.update(b"\x00")
    h.update(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode())
    h.update(b"\x00")
    h.update(str(repeat).encode())
    return h.hexdigest()[:32]


def _format_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        # pydantic prefixes our own messages with "Value error, ": the user needs only ours.
        msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if err["type"] in ("int_type", "float_type"):  # strict numbers: say what was given
            msg += f", got {err['input']!r}"
        if err["type"] == "extra_forbidden":
            field = str(err["loc"][-1])
            model = TaskConfig if len(err["loc"]) == 1 else (
                GenerationConfig if err["loc"][0] == "generation_config" else JudgeConfig
            )
            close = difflib.get_close_matches(field, list(model.model_fields), n=1)
            msg = "unknown field" + (f" (did you mean {close[0]!r}?)" if close else "")
        lines.append(f"  {loc}: {msg}")
    return "invalid configuration:\n" + "\n".join(lines)


def make_config(data: dict[str, Any] | TaskConfig) -> TaskConfig:
    if isinstance(data, TaskConfig):
        return data
    try:
        return TaskConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc)) from None


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON file of TaskConfig fields (not yet validated)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot parse {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of TaskConfig fields, got {type(data).__name__}")
    return data
