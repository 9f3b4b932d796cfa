"""`thinklens perf`: load generation, per-request timing and summaries for serving speed.

Public API:
    PerfConfig, Warmup, LevelSpec      -- what to run (config.py)
    run_perf(config) / arun_perf(config) -> PerfResult   (run.py)
    RequestRecord                      -- one measured request (records.py)
    LevelSummary, summarize_level, distribution          (stats.py)
    SLO                                -- --slo objectives and goodput (slo.py)
    load_tokenizer, random_prompts, file_prompts, benchmark_prompts, PerfPrompt
"""

from .config import LevelSpec, PerfConfig, Warmup
from .prompts import PerfPrompt, benchmark_prompts, file_prompts, random_prompts
from .records import RequestRecord
from .slo import SLO
from .stats import LevelSummary, distribution, summarize_level
from .tokenizer import load_tokenizer

__all__ = [
    "LevelSpec",
    "LevelSummary",
    "PerfConfig",
    "PerfPrompt",
    "PerfResult",
    "RequestRecord",
    "SLO",
    "Warmup",
    "arun_perf",
    "benchmark_prompts",
    "distribution",
    "file_prompts",
    "load_tokenizer",
    "random_prompts",
    "run_perf",
    "summarize_level",
]


def __getattr__(name: str):  # the runner pulls in aiohttp/rich: import it on first use
    if name in ("run_perf", "arun_perf", "PerfResult"):
        from . import run

        return getattr(run, name)
    raise AttributeError(name)
