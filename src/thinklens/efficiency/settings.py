"""What an efficiency analysis is asked to do, validated before any work starts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..config import JudgeConfig
from ..redaction import redact_url
from ..errors import ConfigError
from ..store import is_run_folder
from .switches import DEFAULT_SWITCH_PHRASES, normalize_phrases

SplitStrategy = Literal["separator", "keywords", "llm"]
Method = Literal["verify", "judge", "both"]


class EfficiencySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    split: SplitStrategy = "separator"
    method: Method = "verify"
    tokenizer: str | None = Field(default=None, description="folder, tokenizer.json or hub id; None: server counts")
    judge: JudgeConfig | None = None
    switch_phrases: tuple[str, ...] = DEFAULT_SWITCH_PHRASES
    max_tokens: int | None = Field(default=8000, ge=1, description="drop traces whose output is longer")
    count: int | None = Field(default=100, ge=1, description="traces drawn per subset (seeded random sample)")
    seed: int = 0
    dataset: str | None = None
    subsets: tuple[str, ...] | None = None
    group_by: str = Field(default="auto", description="'auto', 'subset', or a sample_meta key such as 'domain'")
    model_name: str | None = None
    grading_workers: int | None = Field(default=None, ge=1)
    grading_timeout: float = Field(default=10.0, gt=0)
    judge_concurrency: int = Field(default=16, ge=1, le=1024)

    @field_validator("switch_phrases", mode="before")
    @classmethod
    def _phrases(cls, v: Any) -> tuple[str, ...]:
        if isinstance(v, str):
            v = [p for p in v.split(",")]
        return normalize_phrases(list(v))

    @field_validator("subsets", mode="before")
    @classmethod
    def _subsets(cls, v: Any) -> Any:
        if isinstance(v, str):
            return (v,)
        return v

    @model_validator(mode="after")
    def _needs_judge(self) -> "EfficiencySettings":
        needs = [w for w, used in (("--method " + self.method, self.method != "verify"),
                                    ("--split llm", self.split == "llm")) if used]
        if needs and (self.judge is None or not self.judge.api_url or not self.judge.model):
            raise ValueError(
                f"{' and '.join(needs)} need an LLM judge: give --judge-url and --judge-model "
                "(judge_config=dict(base_url=..., model_name=...) in Python)"
            )
        return self

    @property
    def uses_judge(self) -> bool:
        return self.method != "verify" or self.split == "llm"

    def public(self) -> dict[str, Any]:
        """As stored with the results: no secrets, judge by model and URL."""
        data = self.model_dump(mode="json", exclude={"judge", "grading_workers", "judge_concurrency"})
        data["judge"] = (
            {"model": self.judge.model, "api_url": redact_url(self.judge.api_url), "temperature": self.judge.temperature,
             "max_tokens": self.judge.max_tokens}
            if self.judge is not None and self.uses_judge else None
        )
        return data

    def settings_hash(self) -> str:
        """Identity of an analysis: rows in `efficiency_samples` are kept per hash."""
        data = self.public()
        data.pop("model_name", None)  # a label, not a setting
        payload = json.dumps(data, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def make_settings(**fields: Any) -> EfficiencySettings:
    try:
        return EfficiencySettings(**{k: v for k, v in fields.items() if v is not None or k in ("max_tokens", "count")})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "settings"
            lines.append(f"  {loc}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError("invalid efficiency settings:\n" + "\n".join(lines)) from None


def resolve_run_dir(report_path: str | Path) -> Path:
    """The guide's `report_path`: the run folder, or its report.json / run.sqlite."""
    path = Path(report_path).expanduser()
    if path.is_file() and path.suffix in (".json", ".sqlite", ".yaml"):
        path = path.parent
    if not is_run_folder(path):
        raise ConfigError(
            f"{report_path} is not a thinklens run folder (no run.sqlite there); point it at the folder "
            "`thinklens eval` wrote (e.g. outputs/20250301-120000-QwQ-32B) or at its report.json"
        )
    return path
