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
    # Every flag says its default here, as written (argparse's defaults stay None so that a
    # --config file's value is not overridden); tests/test_cli_vocabulary.py checks each
    # stated default against TaskConfig, so the two cannot drift.
    p.add_argument("--config", help="YAML/JSON file of TaskConfig fields; flags given here override it")
    p.add_argument("--model", help="model name sent to the server (or a checkpoint id/path with --eval-type checkpoint)")
    p.add_argument("--api-url", "--url", dest="api_url", nargs="+", metavar="URL",
                   help="one or more OpenAI-compatible base URLs ending in /v1, e.g. http://127.0.0.1:8000/v1 "
                   "(--url: the same, as in perf)")
    p.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY); never written to disk")
    p.add_argument("--eval-type", choices=["service", "checkpoint", "vllm", "openai_api", "llm_ckpt"],
                   help="service: an OpenAI-compatible server; checkpoint: a local transformers model; vllm: "
                   "vLLM in this process (default service; openai_api and llm_ckpt are EvalScope's names)")
    p.add_argument("--datasets", nargs="+", metavar="NAME", help="e.g. math_500 aime24 aime25 gpqa gsm8k")
    p.add_argument("--dataset-args", metavar="JSON",
                   help="JSON object: per-dataset options, e.g. '{\"gpqa\": {\"subset_list\": [\"gpqa_diamond\"]}}'")
    p.add_argument("--dataset-path", nargs="+", action="extend", default=[], metavar="NAME=PATH",
                   help="read a dataset from a local file or folder (several after one flag, or repeat the flag)")
    p.add_argument("--dataset-password", nargs="+", action="extend", default=[], metavar="NAME=PASSWORD",
                   help="password of a zipped dataset (e.g. GPQA's official distribution)")
    p.add_argument("--dataset-hub", choices=["huggingface", "modelscope"], help="where datasets come from "
                   "(default huggingface)")
    p.add_argument("--limit", type=_limit, metavar="N|F",
                   help="the first N samples of each dataset, or a fraction 0 < F < 1 of each (default: all)")
    p.add_argument("--concurrency", "--eval-batch-size", dest="eval_batch_size", type=int, metavar="N",
                   help="requests in flight (default 32; --eval-batch-size: the EvalScope name)")
    p.add_argument("--output", "-o", help="run folder (default outputs/<timestamp>-<model>); rerun to resume")
    p.add_argument("--write-predictions", action="store_true", default=None,
                   help="also write predictions.jsonl (one line per sample x repeat) next to report.json")
    g = p.add_argument_group("generation")
    g.add_argument("--max-tokens", type=int, metavar="N",
                   help="generation cap per request, reasoning included (default: the server's)")
    g.add_argument("--temperature", type=float, help="sampling temperature (default: the server's)")
    g.add_argument("--top-p", type=float, help="nucleus sampling (default: the server's)")
    g.add_argument("--top-k", type=int, help="top-k sampling, -1 off (default: the server's)")
    g.add_argument("--min-p", type=float, help="min-p sampling (default: the server's)")
    g.add_argument("--seed", type=int, help="sampling seed sent with each request (default: none)")
    g.add_argument("--n", type=int, help="repeats per sample (separate requests): avg@n, pass@k, maj@k (default 1)")
    g.add_argument("--stop", nargs="+", action="extend", metavar="TEXT", help="stop string(s) (default: none)")
    g.add_argument("--extra-body", metavar="JSON",
                   help="JSON merged into every request, e.g. '{\"chat_template_kwargs\": {\"enable_thinking\": true}}'")
    g.add_argument("--no-stream", dest="stream", action="store_false", default=None,
                   help="non-streaming requests, for servers without SSE (default: streaming)")
    t = p.add_argument_group("timeouts and retries")
    t.add_argument("--timeout-connect", type=float, metavar="S", help="seconds to open a connection (default 30)")
    t.add_argument("--timeout-first-token", type=float, metavar="S",
                   help="seconds until the first byte (default 1800: a busy server queues long reasoning "
                   "requests; perf's is 600)")
    t.add_argument("--timeout-idle", type=float, metavar="S",
                   help="silence between chunks once streaming (default 300)")
    t.add_argument("--timeout-total", type=float, metavar="S", help="per attempt (default: off)")
    t.add_argument("--max-retries", type=int, metavar="N",
                   help="retries of a failed request: 429, 5xx, resets, stalls; never 4xx (default 5)")
    t.add_argument("--retry-backoff", type=float, metavar="S",
                   help="first backoff in seconds, doubling with jitter (default 1)")
    r = p.add_argument_group("reasoning and grading")
    r.add_argument("--reasoning-prefilled", action="store_true", default=None,
                   help="the chat template opens <think> itself: output without </think> is all reasoning "
                   "(default: off)")
    r.add_argument("--think-tags", nargs=2, action="append", metavar=("OPEN", "CLOSE"),
                   help="reasoning tag pair (repeatable; default <think> </think>)")
    r.add_argument("--grading-workers", type=int, metavar="N",
                   help="grading processes (default: the CPUs, started only when an answer needs one)")
    r.add_argument("--grading-timeout", type=float, metavar="S", help="hard per-answer limit in seconds (default 10)")
    r.add_argument("--judge-strategy", choices=["rule", "llm", "rule_then_llm"],
                   help="rule: the graders only; llm: the judge only; rule_then_llm: the judge where the rule "
                   "finds no verdict (default rule)")
    r.add_argument("--judge-url", metavar="URL", help="the judge's OpenAI-compatible base URL (default: none)")
    r.add_argument("--judge-model", help="the judge's model name (default: none)")
    r.add_argument("--judge-api-key", help="the judge's API key (default: none); never written to disk")
    bf = p.add_argument_group("budget forcing (accuracy vs thinking budget, measured; vLLM / SGLang servers)")
    bf.add_argument("--thinking-budget", nargs="+", type=int, metavar="TOKENS",
                    help="cap the reasoning at each budget, close it and force the answer; every budget is "
                         "generated and stored on its own (e.g. 1024 2048 4096; default: none, no forcing)")
    bf.add_argument("--budget-answer-tokens", type=int, help="max tokens of the forced answer (default 256)")
    bf.add_argument("--budget-cue", help="text after </think> that starts the forced answer "
                                         "(\\n is a newline; default '\\n\\n**Final Answer**\\n')")
    bf.add_argument("--budget-reuse", dest="budget_reuse", action="store_true", default=None,
                    help="one reasoning request per sample at the largest budget, cut at each smaller one "
                         "(needs --seed and a server that streams its token count per chunk, as vLLM "
                         "does; default: each budget generated on its own)")
    bf.add_argument("--budget-reuse-check", dest="budget_reuse_check", action="store_true", default=None,
                    help="with --budget-reuse: for one sample, also generate the smallest budget on its own "
                         "and warn if the reused reasoning differs (default: off)")
    from .budget_args import add_price_args

    add_price_args(p.add_argument_group("cost (the report's token line in dollars)"))
    lo = p.add_argument_group("local checkpoint (--eval-type checkpoint)")
    lo.add_argument("--device", help="cuda, mps or cpu (default: best available)")
    lo.add_argument("--dtype", help="bfloat16, float16 or float32 (default: bf16 where supported)")
    _register_vllm_flags(p)
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                   help="no progress bar (default: shown)")
    p.add_argument("--regrade", metavar="DIR", help="re-score the stored generations of DIR; sends no request")
    p.add_argument("--wait-lock", dest="wait_lock", action="store_true", default=None,
                   help="the run folder is in use by another process: wait for it instead of failing (default: fail)")
    p.set_defaults(func=run)


def _limit(text: str) -> int | float:
    """`--limit 20` (the first 20) or `--limit 0.1` (a tenth of each dataset); the range is
    checked by TaskConfig, so a YAML limit gets the same message."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number: give N (the first N samples) or a fraction such as 0.1"
        ) from None


def _register_vllm_flags(p: argparse.ArgumentParser) -> None:
    v = p.add_argument_group("vLLM engine (--eval-type vllm; --dtype applies too)")
    v.add_argument("--tensor-parallel-size", "-tp", type=int, help="GPUs per model replica, splitting each layer (default 1)")
    v.add_argument("--pipeline-parallel-size", "-pp", type=int, help="GPUs (or nodes) per replica, by layers (default 1)")
    v.add_argument("--data-parallel-size", "-dp", type=int, help="model replicas sharing the samples (default 1)")
    v.add_argument("--engine-args", help="JSON object of more vLLM engine arguments, e.g. "
                   "'{\"gpu_memory_utilization\": 0.9, \"distributed_executor_backend\": \"ray\"}' (default: none)")


def _vllm_config(args: argparse.Namespace) -> dict[str, Any]:
    data = {f: getattr(args, f) for f in ("tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size")}
    engine_args = _json_arg(args.engine_args, "--engine-args")
    if engine_args is not None and not isinstance(engine_args, dict):
        raise ConfigError("--engine-args must be a JSON object, e.g. '{\"gpu_memory_utilization\": 0.9}'")
    data["engine_args"] = engine_args
    return {k: v for k, v in data.items() if v is not None}


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
        "progress": args.progress, "wait_lock": args.wait_lock,
        "price_in": args.price_in, "price_out": args.price_out,
        "thinking_budget": args.thinking_budget, "budget_answer_tokens": args.budget_answer_tokens,
        # typed in a shell, "\\n" is two characters: read it as the newline it means
        "budget_cue": args.budget_cue.replace("\\n", "\n") if args.budget_cue is not None else None,
        "write_predictions": args.write_predictions,
        "budget_reuse": args.budget_reuse, "budget_reuse_check": args.budget_reuse_check,
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
    from ..benchmarks.cli_args import parse_dataset_pairs

    for flag, field, values, shape in (
        ("--dataset-path", "dataset_id", args.dataset_path, "NAME=PATH (e.g. math_500=data/math500.jsonl)"),
        ("--dataset-password", "password", args.dataset_password, "NAME=PASSWORD"),
    ):
        for name, value in parse_dataset_pairs(values, flag, shape).items():
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
        regrade(args.regrade, workers=args.grading_workers, wait_lock=bool(args.wait_lock))
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
