"""`PerfConfig`: every option of a load test, validated before anything starts, and the
list of load levels it expands to."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from ..redaction import redact_url
from .prompts import SPEED_BENCHMARK_INPUT_LENGTHS, SPEED_BENCHMARK_LONG_INPUT_LENGTHS, SPEED_BENCHMARK_OUTPUT_TOKENS
from .slo import SLO, parse_duration

Mode = Literal["closed", "open"]


@dataclass(frozen=True)
class Warmup:
    """Excluded start of each level: the first `requests` requests, or those issued in
    the first `seconds` seconds."""

    requests: int = 0
    seconds: float = 0.0

    @classmethod
    def parse(cls, text: str | int | float | None) -> "Warmup":
        if text is None or text == "":
            return cls()
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            if text < 0 or (isinstance(text, float) and not text.is_integer()):
                raise ConfigError(f"--warmup {text}: give a number of requests (e.g. 32) or seconds (e.g. 10s)")
            return cls(requests=int(text))
        s = str(text).strip().lower()
        if re.fullmatch(r"\d+", s):
            return cls(requests=int(s))
        if re.fullmatch(r"0*\.?0*\s*(s|ms|min)?", s):
            return cls()
        return cls(seconds=parse_duration(s, what="--warmup (an integer is a number of requests, 10s a time)"))

    @property
    def active(self) -> bool:
        return self.requests > 0 or self.seconds > 0

    def describe(self) -> str:
        if self.requests:
            return f"{self.requests} requests"
        return f"{self.seconds:g}s" if self.seconds else "none"


@dataclass(frozen=True)
class LevelSpec:
    """One load level: closed loop with `concurrency` in flight, or open loop at `rate`
    requests/s (inf: all at once) with `concurrency` as an optional cap."""

    mode: Mode
    concurrency: int | None = None
    rate: float | None = None
    input_tokens: int | None = None  # set when the run sweeps prompt lengths

    @property
    def label(self) -> str:
        base = f"concurrency={self.concurrency}" if self.mode == "closed" else f"rate={_rate_text(self.rate)}"
        return base if self.input_tokens is None else f"{base},input={self.input_tokens}"


def _rate_text(rate: float | None) -> str:
    if rate is None:
        return "-"
    if math.isinf(rate):
        return "inf"
    return f"{rate:g}"


@dataclass(frozen=True)
class PerfConfig:
    urls: tuple[str, ...]
    model: str
    api_key: str | None = field(default=None, repr=False)

    # load
    concurrency: tuple[int, ...] = ()
    rate: tuple[float, ...] = ()
    max_concurrency: int | None = None
    burstiness: float = 1.0  # gamma shape; 1 = Poisson
    requests: int | None = None
    duration: float | None = None
    warmup: Warmup = Warmup()
    hold_load: bool = True  # keep the level's load on until the last measured request ends
    ramp_up: float = 0.0  # closed loop: workers start spread over this many seconds (warm-up)
    # open the level's connections before it starts (perf/warmup.py): no connection storm
    # in the first wave
    warm_connections: bool = True
    grace: float = 30.0  # --duration: how long measured requests may run past the window

    # prompts
    dataset: str = "random"  # random | file | speed_benchmark | a thinklens benchmark name
    dataset_path: str | None = None
    input_tokens: tuple[int, ...] = (1024,)
    output_tokens: int | None = None
    prefix_tokens: int = 0
    range_ratio: float = 0.0
    num_prompts: int | None = None
    tokenizer: str | None = None
    speed_benchmark: bool = False
    speed_benchmark_long: bool = False

    # request body
    ignore_eos: bool = False
    temperature: float | None = None
    top_p: float | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    continuous_usage_stats: bool = False

    # SLOs and search
    slo: SLO | None = None
    slo_attainment: float = 0.9
    search: Literal["concurrency", "rate"] | None = None
    search_max: float | None = None
    search_tolerance: float = 0.1

    # client
    timeout_connect: float = 30.0
    timeout_first_token: float = 600.0
    timeout_idle: float = 120.0
    timeout_total: float | None = None

    # output
    output_dir: Path = Path("outputs/perf")
    seed: int = 0
    figures: bool = True
    progress: bool = True
    save_chunk_times: bool = False  # every chunk's arrival in requests.jsonl

    def __post_init__(self) -> None:
        self._validate()

    # ---- validation --------------------------------------------------------------------
    def _validate(self) -> None:
        def bad(msg: str) -> ConfigError:
            return ConfigError(msg)

        if not self.urls or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in self.urls):
            raise bad("--url: give the server's base URL, e.g. http://127.0.0.1:8000/v1")
        if not self.model:
            raise bad("--model is required (the model name the server serves)")
        if self.concurrency and self.rate:
            raise bad(
                "--concurrency and --rate are two kinds of load: --concurrency N keeps N requests in flight "
                "(closed loop); --rate R sends R requests/s (open loop; cap it with --max-concurrency)"
            )
        if any(not isinstance(c, int) or c < 1 for c in self.concurrency):
            raise bad(f"--concurrency values must be integers >= 1, got {list(self.concurrency)}")
        if any(not (r > 0) for r in self.rate):
            raise bad(f"--rate values must be > 0 requests/s (or inf), got {list(self.rate)}")
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise bad("--max-concurrency must be >= 1")
        if self.max_concurrency is not None and self.concurrency:
            raise bad("--max-concurrency caps an open-loop --rate; with --concurrency the load is already capped")
        if not (self.burstiness > 0 and math.isfinite(self.burstiness)):
            raise bad("--burstiness must be a positive number (1 = Poisson)")
        if self.requests is not None and self.requests < 1:
            raise bad("--requests must be >= 1")
        if self.duration is not None and not (self.duration > 0 and math.isfinite(self.duration)):
            raise bad("--duration must be a positive number of seconds")
        if self.grace < 0:
            raise bad("--grace must be >= 0 seconds")
        if not (self.ramp_up >= 0 and math.isfinite(self.ramp_up)):
            raise bad("--ramp-up must be >= 0 seconds")
        if self.ramp_up and self.rate:
            raise bad("--ramp-up spreads the start of closed-loop workers; an open loop (--rate) needs none")
        if any(n < 1 for n in self.input_tokens):
            raise bad("--input-tokens must be >= 1")
        if self.output_tokens is not None and self.output_tokens < 1:
            raise bad("--output-tokens must be >= 1")
        if self.prefix_tokens < 0 or (self.input_tokens and self.prefix_tokens > min(self.input_tokens)):
            raise bad("--prefix-tokens must be between 0 and --input-tokens")
        if not (0 <= self.range_ratio < 1):
            raise bad("--range-ratio must be in [0, 1)")
        if self.num_prompts is not None and self.num_prompts < 1:
            raise bad("--num-prompts must be >= 1")
        if self.dataset in ("random", "speed_benchmark") or self.speed_benchmark:
            if not self.effective_tokenizer:
                raise bad(
                    "random prompts of exact token length need the model's tokenizer: --tokenizer PATH_OR_HUB_ID "
                    "(a tokenizer.json, a folder with it or with vocab.json + merges.txt, or e.g. Qwen/QwQ-32B)"
                )
        if self.dataset == "file" and not self.dataset_path:
            raise bad("--dataset file needs --dataset-path FILE (jsonl, ShareGPT json or txt)")
        if self.ignore_eos and self.output_tokens is None and not self.speed_benchmark:
            raise bad("--ignore-eos needs --output-tokens N: the server would otherwise generate to its context limit")
        if not (0 < self.slo_attainment <= 1):
            raise bad("--slo-attainment must be in (0, 1]")
        if self.search is not None:
            if self.slo is None:
                raise bad("--search needs at least one --slo (e.g. --slo ttft=2s --slo tpot=50ms)")
            if self.search == "concurrency" and self.rate:
                raise bad("--search concurrency searches closed-loop levels: drop --rate")
            if self.search == "rate" and self.concurrency:
                raise bad("--search rate searches open-loop levels: drop --concurrency (use --max-concurrency to cap)")
            if self.search_max is not None and not (self.search_max > 0 and math.isfinite(self.search_max)):
                raise bad("--search-max must be a positive finite number")
            if not (0 < self.search_tolerance < 1):
                raise bad("--search-tolerance must be in (0, 1)")
        for name in ("timeout_connect", "timeout_first_token", "timeout_idle"):
            if not getattr(self, name) > 0:
                raise bad(f"--{name.replace('_', '-')} must be > 0 seconds")
        if self.timeout_total is not None and not self.timeout_total > 0:
            raise bad("--timeout-total must be > 0 seconds")

    def with_(self, **changes: Any) -> "PerfConfig":
        return replace(self, **changes)

    # ---- derived -----------------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        if self.rate or self.search == "rate":
            return "open"
        return "closed"

    @property
    def effective_tokenizer(self) -> str | None:
        """--tokenizer, else the model name when it reads as a Hub id (`Qwen/QwQ-32B`), as
        `vllm bench serve` does; needed for random prompts, optional otherwise."""
        if self.tokenizer:
            return self.tokenizer
        if self.uses_random_prompts and self.model.count("/") == 1 and not self.model.startswith((".", "/")):
            return self.model
        return None

    @property
    def effective_input_tokens(self) -> tuple[int, ...]:
        if self.speed_benchmark and self.input_tokens == (1024,):
            lengths = SPEED_BENCHMARK_INPUT_LENGTHS
            return lengths + (SPEED_BENCHMARK_LONG_INPUT_LENGTHS if self.speed_benchmark_long else ())
        return self.input_tokens

    @property
    def effective_output_tokens(self) -> int | None:
        if self.speed_benchmark and self.output_tokens is None:
            return SPEED_BENCHMARK_OUTPUT_TOKENS
        return self.output_tokens

    @property
    def sweeps_input_lengths(self) -> bool:
        return self.uses_random_prompts and len(self.effective_input_tokens) > 1

    @property
    def uses_random_prompts(self) -> bool:
        return self.speed_benchmark or self.dataset in ("random", "speed_benchmark")

    def levels(self) -> list[LevelSpec]:
        """The load levels to run (search mode probes its own)."""
        if self.mode == "open":
            load = [LevelSpec("open", concurrency=self.max_concurrency, rate=r) for r in (self.rate or (1.0,))]
        else:
            load = [LevelSpec("closed", concurrency=c) for c in (self.concurrency or (1,))]
        if not self.sweeps_input_lengths:
            return load
        return [replace(lv, input_tokens=n) for n in self.effective_input_tokens for lv in load]

    def requests_for(self, level: LevelSpec) -> int | None:
        """Measured requests per level: --requests, else a default when no --duration
        (enough for stable percentiles and several turns of the closed loop)."""
        if self.requests is not None:
            return self.requests
        if self.duration is not None:
            return None
        if self.speed_benchmark:
            return 2
        if level.mode == "closed":
            return max(100, 4 * (level.concurrency or 1))
        if level.rate is not None and math.isinf(level.rate):
            return max(100, 4 * (level.concurrency or 25))
        return max(100, min(1000, int(math.ceil(30 * (level.rate or 1)))))

    def request_params(self, max_tokens: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        if self.ignore_eos or (self.speed_benchmark and "ignore_eos" not in self.extra_body):
            params["ignore_eos"] = True
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.top_p is not None:
            params["top_p"] = self.top_p
        if self.continuous_usage_stats:
            params["stream_options"] = {"include_usage": True, "continuous_usage_stats": True}
        params.update(self.extra_body)
        return params

    def public_dict(self) -> dict[str, Any]:
        """The config as written to summary.json (API key never included)."""
        return {
            "urls": [redact_url(u) for u in self.urls],
            "model": self.model,
            "mode": self.mode,
            "concurrency": list(self.concurrency),
            "rate": ["inf" if math.isinf(r) else r for r in self.rate],
            "max_concurrency": self.max_concurrency,
            "burstiness": self.burstiness,
            "requests": self.requests,
            "duration": self.duration,
            "warmup": self.warmup.describe(),
            "hold_load": self.hold_load,
            "ramp_up": self.ramp_up,
            "warm_connections": self.warm_connections,
            "grace": self.grace,
            "dataset": "speed_benchmark" if self.speed_benchmark else self.dataset,
            "dataset_path": self.dataset_path,
            "input_tokens": list(self.effective_input_tokens) if self.uses_random_prompts else None,
            "output_tokens": self.effective_output_tokens,
            "prefix_tokens": self.prefix_tokens,
            "range_ratio": self.range_ratio,
            "tokenizer": self.effective_tokenizer,
            "ignore_eos": bool(self.request_params(None).get("ignore_eos")),
            "temperature": self.temperature,
            "top_p": self.top_p,
            "extra_body": self.extra_body,
            "continuous_usage_stats": self.continuous_usage_stats,
            "slo": self.slo.as_dict() if self.slo else None,
            "slo_attainment": self.slo_attainment,
            "search": self.search,
            "search_max": self.search_max,
            "timeouts": {
                "connect": self.timeout_connect,
                "first_token": self.timeout_first_token,
                "idle": self.timeout_idle,
                "total": self.timeout_total,
            },
            "seed": self.seed,
            "save_chunk_times": self.save_chunk_times,
        }
