"""`thinklens eval`: run or resume an evaluation (flags, or --config run.yaml)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a model on benchmarks (resumes when the output folder exists)",
        description="Evaluate a model through an OpenAI-compatible API (or a local checkpoint). "
        "Running the same command again resumes: stored samples are skipped, failed ones retried.",
    )
    p.add_argument("--config", help="YAML/JSON file of TaskConfig fields; flags given here override it")
    p.add_argument("--model", help="model name sent to the server (or a checkpoint id/path with --eval-type checkpoint)")
    p.add_argument("--api-url", nargs="+", help="one or more OpenAI-compatible base URLs, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY); never written to disk")
    p.add_argument("--eval-type", choices=["service", "checkpoint", "vllm", "openai_api", "llm_ckpt"])
    p.add_argument("--datasets", nargs="+", help="e.g. math_500 aime24 aime25 gpqa gsm8k")
    p.add_argument("--dataset-args", help="JSON object: per-dataset options, e.g. '{\"gpqa\": {\"subset_list\": [\"gpqa_diamond\"]}}'")
    p.add_argument("--dataset-path", action="append", default=[], metavar="NAME=PATH",
                   help="read a dataset from a local file or folder (repeatable)")
    p.add_argument("--dataset-password", action="append", default=[], metavar="NAME=PASSWORD",
                   help="password of a zipped dataset (e.g. GPQA's official distribution)")
    p.add_argument("--dataset-hub", choices=["huggingface", "modelscope"])
    p.add_argument("--limit", type=int, help="evaluate the first N samples of each dataset")
    p.add_argument("--eval-batch-size", type=int, help="requests in flight (default 32)")
    p.add_argument("--output", "-o", help="run folder (default outputs/<timestamp>-<model>); rerun to resume")
    g = p.add_argument_group("generation")
    g.add_argument("--max-tokens", type=int)
    g.add_argument("--temperature", type=float)
    g.add_argument("--top-p", type=float)
    g.add_argument("--top-k", type=int)
    g.add_argument("--min-p", type=float)
    g.add_argument("--seed", type=int)
    g.add_argument("--n", type=int, help="repeats per sample (separate requests): avg@n, pass@k, maj@k")
    g.add_argument("--stop", action="append", help="stop string (repeatable)")
    g.add_argument("--extra-body", help="JSON merged into every request, e.g. '{\"chat_template_kwargs\": {\"enable_thinking\": true}}'")
    g.add_argument("--no-stream", dest="stream", action="store_false", default=None,
                   help="non-streaming requests (for servers without SSE)")
    t = p.add_argument_group("timeouts and retries")
    t.add_argument("--timeout-connect", type=float)
    t.add_argument("--timeout-first-token", type=float, help="seconds until the first byte (default 1800)")
    t.add_argument("--timeout-idle", type=float, help="silence between chunks once streaming (default 300)")
    t.add_argument("--timeout-total", type=float, help="per attempt (default: off)")
    t.add_argument("--max-retries", type=int)
    t.add_argument("--retry-backoff", type=float, help="first backoff in seconds (doubles, with jitter)")
    r = p.add_argument_group("reasoning and grading")
    r.add_argument("--reasoning-prefilled", action="store_true", default=None,
                   help="the chat template opens <think> itself: output without </think> is all reasoning")
    r.add_argument("--think-tags", nargs=2, action="append", metavar=("OPEN", "CLOSE"),
                   help="reasoning tag pair (repeatable; default <think> </think>)")
    r.add_argument("--grading-workers", type=int)
    r.add_argument("--grading-timeout", type=float, help="hard per-answer limit in seconds (default 10)")
    r.add_argument("--judge-strategy", choices=["rule", "llm", "rule_then_llm"])
    r.add_argument("--judge-url")
    r.add_argument("--judge-model")
    r.add_argument("--judge-api-key")
    lo = p.add_argument_group("local checkpoint (--eval-type checkpoint)")
    lo.add_argument("--device", help="cuda, mps or cpu (default: best available)")
    lo.add_argument("--dtype", help="bfloat16, float16 or float32 (default: bf16 where supported)")
    _register_vllm_flags(p)
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    p.add_argument("--regrade", metavar="DIR", help="re-score the stored generations of DIR; sends no request")
    p.set_defaults(func=run)


def _register_vllm_flags(p: argparse.ArgumentParser) -> None:
    v = p.add_argument_group("vLLM engine (--eval-type vllm; --dtype applies too)")
    v.add_argument("--tensor-parallel-size", "-tp", type=int, help="GPUs per model replica, splitting each layer")
    v.add_argument("--pipeline-parallel-size", "-pp", type=int, help="GPUs (or nodes) per replica, by layers")
    v.add_argument("--data-parallel-size", "-dp", type=int, help="model replicas sharing the samples")
    v.add_argument("--engine-args", help="JSON object of more vLLM engine arguments, e.g. "
                   "'{\"gpu_memory_utilization\": 0.9, \"distributed_executor_backend\": \"ray\"}'")


def _vllm_config(args: argparse.Namespace) -> dict[str, Any]:
    data = {f: getattr(args, f) for f in ("tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size")}
    engine_args = _json_arg(args.engine_args, "--engine-args")
    if engine_args is not None and not isinstance(engine_args, dict):
        raise ConfigError("--engine-args must be a JSON object, e.g. '{\"gpu_memory_utilization\": 0.9}'")
    data["engine_args"] = engine_args
    return {k: v for k, v in data.items() if v is not None}


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ConfigError(f"{flag} expects NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def _json_arg(text: str | None, flag: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{flag} is not valid JSON: {exc}") from None


def config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    from ..config import load_config_file

    data: dict[str, Any] = load_config_file(args.config) if args.config else {}
    simple = {
        "model": args.model, "api_url": args.api_url, "api_key": args.api_key, "eval_type": args.eval_type,
        "datasets": args.datasets, "dataset_hub": args.dataset_hub, "limit": args.limit,
        "eval_batch_size": args.eval_batch_size, "output": args.output, "stream": args.stream,
        "timeout_connect": args.timeout_connect, "timeout_first_token": args.timeout_first_token,
        "timeout_idle": args.timeout_idle, "timeout_total": args.timeout_total, "max_retries": args.max_retries,
        "retry_backoff": args.retry_backoff, "reasoning_prefilled": args.reasoning_prefilled,
        "think_tags": [tuple(t) for t in args.think_tags] if args.think_tags else None,
        "grading_workers": args.grading_workers, "grading_timeout": args.grading_timeout,
        "judge_strategy": args.judge_strategy, "device": args.device, "dtype": args.dtype,
        "progress": args.progress,
    }
    data.update({k: v for k, v in simple.items() if v is not None})
    data.update(_vllm_config(args))
    gen = dict(data.get("generation_config") or {})
    for key in ("max_tokens", "temperature", "top_p", "top_k", "min_p", "seed", "n", "stop"):
        value = getattr(args, key)
        if value is not None:
            gen[key] = value
    extra = _json_arg(args.extra_body, "--extra-body")
    if extra is not None:
        if not isinstance(extra, dict):
            raise ConfigError("--extra-body must be a JSON object")
        gen["extra_body"] = {**gen.get("extra_body", {}), **extra}
    if gen:
        data["generation_config"] = gen
    dataset_args = dict(data.get("dataset_args") or {})
    extra_args = _json_arg(args.dataset_args, "--dataset-args")
    if extra_args is not None:
        if not isinstance(extra_args, dict):
            raise ConfigError("--dataset-args must be a JSON object keyed by dataset name")
        for name, value in extra_args.items():
            dataset_args[name] = {**dataset_args.get(name, {}), **value}
    for flag, field, values in (("--dataset-path", "dataset_id", args.dataset_path),
                                ("--dataset-password", "password", args.dataset_password)):
        for name, value in _pairs(values, flag).items():
            dataset_args[name] = {**dataset_args.get(name, {}), field: value}
    if dataset_args:
        data["dataset_args"] = dataset_args
    if args.judge_url or args.judge_model or args.judge_api_key:
        judge = dict(data.get("judge_config") or {})
        judge.update({k: v for k, v in (("api_url", args.judge_url), ("model", args.judge_model),
                                        ("api_key", args.judge_api_key)) if v})
        data["judge_config"] = judge
    return data


def run(args: argparse.Namespace) -> int:
    from ..config import make_config
    from ..runner import regrade, run_task

    if args.regrade:
        regrade(args.regrade, workers=args.grading_workers)
        return 0
    data = config_from_args(args)
    missing = [f for f in ("model", "datasets") if not data.get(f)]
    if missing:
        raise ConfigError("missing " + " and ".join(f"--{m}" for m in missing) + " (or give them in --config)")
    config = make_config(data)
    if config.judge_config and config.judge_strategy == "rule":
        from rich.console import Console

        Console(stderr=True).print(
            "[yellow]note:[/] a judge is configured but --judge-strategy is 'rule': it is not used "
            "(choose llm or rule_then_llm)"
        )
    result = run_task(config)
    return 1 if result.failed else 0
