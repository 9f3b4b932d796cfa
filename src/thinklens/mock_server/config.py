"""Every option of the mock server, validated once up front.

A frozen dataclass rather than pydantic: the server is started in subprocesses by
tests and by `thinklens perf` calibration, and a light import keeps start-up fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError

ReasoningFormat = Literal["field", "inline", "lone-close", "none"]
ReasoningField = Literal["reasoning_content", "reasoning"]
FaultKind = Literal["429", "500", "reset", "stall", "malformed", "wrong_shape"]

REASONING_FORMATS: tuple[str, ...] = ("field", "inline", "lone-close", "none")
REASONING_FIELDS: tuple[str, ...] = ("reasoning_content", "reasoning")
FAULT_KINDS: tuple[str, ...] = ("429", "500", "reset", "stall", "malformed", "wrong_shape")
# The default mix: `wrong_shape` came later and is opt-in, so a seeded fault sequence
# of the default kinds stays what it was.
DEFAULT_FAULTS: tuple[str, ...] = ("429", "500", "reset", "stall", "malformed")

DEFAULT_UNMATCHED_CONTENT = "The mock server has no recorded answer for this prompt."


@dataclass(frozen=True)
class MockServerConfig:
    """Options of `thinklens mock-server` (the CLI flags mirror these names).

    Output: with `replay` files the record whose problem occurs in the request is
    returned (unmatched requests get `unmatched_content`/`unmatched_reasoning`);
    without, `reasoning_tokens` + `tokens` of filler text, the content ending with
    `answer` when given.

    Timing: token i of a response is written at arrival + ttft + i * tpot.
    """

    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port (the CLI defaults to 8801)
    model: str = "mock-model"  # listed by /v1/models; requests' own model is echoed

    # replay mode
    replay: tuple[Path, ...] = ()
    unmatched_content: str = DEFAULT_UNMATCHED_CONTENT
    unmatched_reasoning: str = ""

    # synthetic mode
    tokens: int = 200  # content tokens (the answer, when given, is the last of them)
    reasoning_tokens: int = 0
    answer: str | None = None

    # how reasoning is delivered
    reasoning_format: ReasoningFormat = "field"
    reasoning_field: ReasoningField = "reasoning_content"

    # timing
    ttft: float = 0.0  # seconds from arrival to the first token
    tpot: float = 0.0  # seconds between tokens
    tokens_per_chunk: int = 1  # tokens per SSE event (vLLM --stream-interval style)
    # Wake-ups happen on a grid of this many seconds: one wake-up serves every stream
    # due within it (less CPU at high concurrency, at most this much added lateness).
    timer_quantum: float = 0.0001

    # fault injection: the k-th valid chat request gets the k-th draw of Random(seed)
    fault_rate: float = 0.0
    faults: tuple[FaultKind, ...] = DEFAULT_FAULTS  # type: ignore[assignment]
    seed: int = 0
    retry_after: float = 1.0  # seconds, sent as Retry-After with 429
    stall_seconds: float = 3600.0  # silence of a stalled stream before it resumes

    record_timings: bool = False  # per-request records in /stats
    # Append one JSON line per chat request at arrival (id, prompt_digest, fault): unlike
    # /stats it survives a kill -9 of the server (the fault benchmark kills replicas).
    request_log: Path | None = None
    quiet: bool = False
    access_log: bool = False

    def __post_init__(self) -> None:
        # Normalise containers so that callers may pass lists/str paths.
        object.__setattr__(self, "replay", tuple(Path(p) for p in self.replay))
        if self.request_log is not None:
            object.__setattr__(self, "request_log", Path(self.request_log))
        faults = self.faults.split(",") if isinstance(self.faults, str) else self.faults
        object.__setattr__(self, "faults", tuple(str(f).strip() for f in faults if str(f).strip()))
        self._validate()

    def _validate(self) -> None:
        def bad(msg: str) -> ConfigError:
            return ConfigError(f"mock-server: {msg}")

        if not (0 <= self.port <= 65535):
            raise bad(f"port must be 0..65535, got {self.port}")
        for name in ("tokens", "reasoning_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise bad(f"{name} must be a non-negative integer, got {value!r}")
        if not isinstance(self.tokens_per_chunk, int) or self.tokens_per_chunk < 1:
            raise bad(f"tokens_per_chunk must be >= 1, got {self.tokens_per_chunk!r}")
        if not isinstance(self.timer_quantum, (int, float)) or not (0 <= self.timer_quantum <= 0.01):
            raise bad(f"timer_quantum must be between 0 and 0.01 seconds, got {self.timer_quantum!r}")
        for name in ("ttft", "tpot", "retry_after", "stall_seconds"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise bad(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        if self.reasoning_format not in REASONING_FORMATS:
            raise bad(
                f"reasoning_format {self.reasoning_format!r} is not one of {', '.join(REASONING_FORMATS)}"
            )
        if self.reasoning_field not in REASONING_FIELDS:
            raise bad(
                f"reasoning_field {self.reasoning_field!r} is not one of {', '.join(REASONING_FIELDS)}"
            )
        if not isinstance(self.fault_rate, (int, float)) or not (0.0 <= self.fault_rate <= 1.0):
            raise bad(f"fault_rate must be between 0 and 1, got {self.fault_rate!r}")
        unknown = [f for f in self.faults if f not in FAULT_KINDS]
        if unknown:
            raise bad(f"unknown fault kind(s) {', '.join(unknown)}; choose from {','.join(FAULT_KINDS)}")
        if self.fault_rate > 0 and not self.faults:
            raise bad("fault_rate > 0 needs at least one fault kind in faults")
        for path in self.replay:
            if not path.is_file():
                raise bad(f"replay file {path} does not exist (give a JSONL file of records)")

    def with_(self, **changes: Any) -> "MockServerConfig":
        """A copy with some options changed (validated again)."""
        return replace(self, **changes)

    def summary(self) -> dict[str, Any]:
        """JSON-able view of the options (for /stats and logs)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "replay":
                value = [str(p) for p in value]
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out
