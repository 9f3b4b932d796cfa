"""Cognitive efficiency of reasoning traces: over- and under-thinking, measured on a finished run.

    from thinklens.efficiency import run_task
    run_task(dict(report_path="outputs/qwq-math", model_name="QwQ-32B", tokenizer_path="Qwen/QwQ-32B",
                  dataset_name="math_500", subsets=["Level 1", "Level 2"], split_strategies="separator",
                  judge_config=dict(api_key="EMPTY", base_url="http://127.0.0.1:8801/v1",
                                    model_name="Qwen2.5-72B-Instruct")),
             output_dir="outputs", max_tokens=8000, count=100)

The guide's `model_config` keys are accepted as they are; the method defaults to
`judge` when a `judge_config` is given (the guide's behaviour) and to `verify`
(no LLM) otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .settings import EfficiencySettings, make_settings, resolve_run_dir
from .switches import DEFAULT_SWITCH_PHRASES

_GUIDE_KEYS = {
    "report_path", "model_name", "tokenizer_path", "dataset_name", "subsets", "split_strategies", "judge_config",
    # ours, accepted in the same dict
    "method", "switch_phrases", "seed", "group_by", "grading_workers", "grading_timeout", "judge_concurrency",
}


def settings_from_model_config(model_config: dict[str, Any], *, max_tokens: int | None = 8000,
                               count: int | None = 100, **overrides: Any) -> tuple[Path, EfficiencySettings]:
    unknown = set(model_config) - _GUIDE_KEYS
    if unknown:
        raise ConfigError(
            f"unknown model_config key(s) {sorted(unknown)}; expected some of {sorted(_GUIDE_KEYS)}"
        )
    if "report_path" not in model_config:
        raise ConfigError("model_config needs report_path: the run folder written by `thinklens eval`")
    run_dir = resolve_run_dir(model_config["report_path"])
    judge = model_config.get("judge_config")
    method = model_config.get("method") or ("judge" if judge else "verify")
    fields: dict[str, Any] = {
        "split": model_config.get("split_strategies") or "separator",
        "method": method,
        "tokenizer": model_config.get("tokenizer_path"),
        "judge": judge,
        "dataset": model_config.get("dataset_name"),
        "subsets": model_config.get("subsets"),
        "model_name": model_config.get("model_name"),
        "max_tokens": max_tokens,
        "count": count,
    }
    for key in ("switch_phrases", "seed", "group_by", "grading_workers", "grading_timeout", "judge_concurrency"):
        if key in model_config:
            fields[key] = model_config[key]
    fields.update(overrides)
    return run_dir, make_settings(**fields)


def run_task(model_config: dict[str, Any], output_dir: str | Path | None = "outputs", max_tokens: int | None = 8000,
             count: int | None = 100, *, figures: bool = True, progress: bool = True, **overrides: Any):
    """The guide's entry point.  Results go into the run folder (efficiency.json, figures,
    `efficiency_samples`); the figures and efficiency.json are also copied to `output_dir`
    as `<model_name>_<dataset>_efficiency.{png,svg,json}`.  Returns an `EfficiencyResult`."""
    from .analysis import analyse_run
    from .report import print_summary

    run_dir, settings = settings_from_model_config(model_config, max_tokens=max_tokens, count=count, **overrides)
    result = analyse_run(run_dir, settings, figures=figures, progress=progress)
    print_summary(result.summary)
    if output_dir is not None:
        _copy_out(result, Path(output_dir))
    return result


def _copy_out(result: Any, output_dir: Path) -> None:
    if output_dir.resolve() == result.run_dir.resolve():
        return
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = result.summary
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{summary['model']}_{summary['dataset']}")
    for src in [result.json_path, *result.figures]:
        shutil.copyfile(src, output_dir / f"{safe}_efficiency{src.suffix}")


def compare(run_dirs: list[str | Path], output: str | Path = "comparison.png", labels: list[str] | None = None):
    from .compare import compare_runs

    return compare_runs(run_dirs, output, labels)


def combine_results(configs: list[dict[str, Any]], output_path: str | Path = "comparison.png"):
    """The guide's comparison helper: model configs (report_path, model_name) -> one figure."""
    from .compare import compare_runs

    dirs = [resolve_run_dir(c["report_path"]) for c in configs]
    labels = [str(c.get("model_name") or d.name) for c, d in zip(configs, dirs)]
    return compare_runs(dirs, output_path, labels)


def __getattr__(name: str) -> Any:
    if name in ("analyse_run", "analyse_run_async", "EfficiencyResult"):
        from . import analysis

        return getattr(analysis, name)
    raise AttributeError(name)


__all__ = [
    "DEFAULT_SWITCH_PHRASES", "EfficiencySettings", "analyse_run", "analyse_run_async", "combine_results", "compare",
    "make_settings", "run_task", "settings_from_model_config",
]
