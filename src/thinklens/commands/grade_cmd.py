"""`thinklens grade`: grade predictions from any tool, or explain one verdict.

    thinklens grade --dataset math_500 --input preds.jsonl --output graded.jsonl
    thinklens grade --explain --response 'so \\boxed{\\dfrac{14}{3}}' --gold '\\frac{14}{3}'
    thinklens grade --explain --dataset math_500 --input preds.jsonl --id 17

Input lines are JSON objects ``{"id", "response", "gold"}`` with optional ``reasoning``,
``finish_reason``, ``problem`` and ``choices`` (option texts, multiple choice).  A
response that still holds its reasoning inline (``<think>...</think>`` or a lone
``</think>``) is split first: reasoning is never graded.  Each line is written back with
``correct`` (true / false / null), ``extracted``, ``reason`` and the audit fields
``normalized_pred``, ``normalized_gold``, ``method``, ``grading`` (how the verdict came about).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError, DatasetError
from ..grading.registry import grader_names
from ..grading.request import GradeRequest


@dataclass(frozen=True)
class InputLine:
    line_no: int
    record: dict[str, Any]
    request: GradeRequest
    reasoning_source: str


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "grade",
        help="grade predictions (JSONL) from any tool, or --explain one verdict",
        description=__doc__.split("\n\n", 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  thinklens grade --dataset math_500 --input preds.jsonl --output graded.jsonl\n"
            "  thinklens grade --explain --response 'so \\boxed{7}' --gold 7\n"
            "  thinklens grade --explain --dataset aime24 --input preds.jsonl --id 12\n"
            f"\ndatasets: {', '.join(_dataset_names())} (and their aliases: thinklens benchmarks)"
            f"\ngraders: {', '.join(grader_names())}"
        ),
    )
    p.add_argument("--dataset", help="benchmark the predictions belong to (chooses the grader)")
    p.add_argument("--grader", choices=grader_names(), help="grader to use (overrides --dataset)")
    p.add_argument("--input", type=Path, help="JSONL of {id, response, gold[, reasoning, finish_reason, problem, choices]}")
    p.add_argument("--output", type=Path, help="where to write the graded JSONL (default: standard output)")
    p.add_argument("--workers", type=int, default=None, help="grading processes (default: all CPU cores)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per answer before it is 'ungraded' (default 10)")
    p.add_argument("--explain", action="store_true", help="print the audit trail of one verdict")
    p.add_argument("--id", dest="item_id", help="with --explain --input: the id of the line to explain")
    p.add_argument("--response", help="with --explain: the response text")
    p.add_argument("--gold", help="with --explain: the gold answer")
    p.add_argument("--problem", default="", help="with --explain: the question (for form demands)")
    p.add_argument("--finish-reason", default=None, help="with --explain: e.g. 'length' for a truncated generation")
    p.add_argument("--choice", dest="choices", nargs="+", action="extend", default=[], metavar="TEXT",
                   help="with --explain: the option texts in order, for multiple choice (several after one flag, "
                   "or repeat it)")
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------------------
# Arguments and input


def _dataset_names() -> tuple[str, ...]:
    from ..benchmarks.registry import builtin_modules  # a folder listing: --help imports no benchmark

    return builtin_modules()


def resolve_grader(dataset: str | None, grader: str | None) -> str:
    """--grader, else the grader the benchmark names (the benchmark registry decides;
    an unknown dataset is a DatasetError with a did-you-mean)."""
    if grader:
        return grader
    if not dataset:
        raise ConfigError("say which grader to use: --dataset NAME (e.g. math_500) or --grader " + "|".join(grader_names()))
    from ..benchmarks.registry import get_benchmark

    try:
        return get_benchmark(dataset).grader
    except DatasetError as exc:
        raise DatasetError(f"{exc}; or pass --grader.") from None


def _text_field(record: dict[str, Any], key: str, line_no: int, path: Path, required: bool) -> str | None:
    value = record.get(key)
    if value is None:
        if required:
            raise DatasetError(f"{path}:{line_no}: missing field {key!r} (each line needs \"response\" and \"gold\")")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DatasetError(f"{path}:{line_no}: field {key!r} must be a string, got {type(value).__name__}")
    return str(value)


def read_input(path: Path, grader: str) -> list[InputLine]:
    """Parse and validate every line before any grading starts."""
    if not path.is_file():
        raise DatasetError(f"input file not found: {path}")
    lines: list[InputLine] = []
    with path.open(encoding="utf-8") as f:
        for line_no, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{line_no}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(record, dict):
                raise DatasetError(f"{path}:{line_no}: expected a JSON object, got {type(record).__name__}")
            lines.append(_to_line(record, line_no, path, grader))
    if not lines:
        raise DatasetError(f"{path}: no predictions (the file is empty)")
    return lines


def _to_line(record: dict[str, Any], line_no: int, path: Path, grader: str) -> InputLine:
    response = _text_field(record, "response", line_no, path, required=True) or ""
    gold = _text_field(record, "gold", line_no, path, required=True) or ""
    finish_reason = _text_field(record, "finish_reason", line_no, path, required=False)
    problem = _text_field(record, "problem", line_no, path, required=False) or ""
    choices = record.get("choices") or ()
    if not isinstance(choices, (list, tuple)) or not all(isinstance(c, (str, int, float)) for c in choices):
        raise DatasetError(f"{path}:{line_no}: field 'choices' must be a list of option texts")
    from ..client.reasoning import split_reasoning  # here: the client package imports aiohttp

    split = split_reasoning(response)
    content, source = split.content, split.source
    if source == "unclosed_open_tag" and finish_reason is None:
        # An opening <think> that never closes: the generation stopped inside its reasoning.
        finish_reason = "length"
    req = GradeRequest(grader, content, gold, finish_reason=finish_reason, problem=problem,
                       choices=tuple(str(c) for c in choices))
    return InputLine(line_no, record, req, source)


# ---------------------------------------------------------------------------------------
# Output


def graded_record(line: InputLine, score: Any) -> dict[str, Any]:
    out = dict(line.record)
    out.update(
        correct=score.correct,
        extracted=score.extracted,
        reason=score.reason,
        normalized_pred=score.normalized_pred,
        normalized_gold=score.normalized_gold,
        method=score.method,
        grading=score.detail,
    )
    if line.reasoning_source != "none":
        out["reasoning_source"] = line.reasoning_source
    return out


def _summary(scores: list[Any]) -> str:
    reasons = Counter(s.reason for s in scores)
    # as every score (metrics.vote_correct): an ungraded answer counts as not correct
    acc = sum(1 for s in scores if s.correct is True) / len(scores) if scores else 0.0
    parts = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
    return f"graded {len(scores)} answers: accuracy {acc:.4f}, ungraded counted as not correct ({parts})"


# ---------------------------------------------------------------------------------------
# Commands


def run(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if args.timeout <= 0:
        raise ConfigError("--timeout must be positive")
    if args.explain:
        return explain(args)
    if args.item_id is not None or args.response is not None:
        raise ConfigError("--id / --response are for --explain")
    if args.input is None:
        raise ConfigError("--input FILE is required (or use --explain --response ... --gold ...)")
    grader = resolve_grader(args.dataset, args.grader)
    lines = read_input(args.input, grader)
    from ..grading.pool import GradingPool

    workers = args.workers or None
    with GradingPool(workers=workers, timeout=args.timeout) as pool:
        scores = pool.grade_many([line.request for line in lines])
    out: IO[str]
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        out = args.output.open("w", encoding="utf-8")
    else:
        out = sys.stdout
    try:
        for line, score in zip(lines, scores):
            out.write(json.dumps(graded_record(line, score), ensure_ascii=False) + "\n")
    finally:
        if args.output:
            out.close()
    print(_summary(scores) + (f" -> {args.output}" if args.output else ""), file=sys.stderr)
    return 0


def explain(args: argparse.Namespace) -> int:
    if args.input is not None:
        if args.item_id is None:
            raise ConfigError("--explain --input FILE needs --id ID (the line to explain)")
        grader = resolve_grader(args.dataset, args.grader)
        matches = [ln for ln in read_input(args.input, grader) if str(ln.record.get("id")) == str(args.item_id)]
        if not matches:
            raise DatasetError(f"no line with id {args.item_id!r} in {args.input}")
        line = matches[0]
    else:
        if args.response is None or args.gold is None:
            raise ConfigError("--explain needs --response TEXT --gold ANSWER (or --input FILE --id ID)")
        grader = resolve_grader(args.dataset, args.grader or ("math" if not args.dataset else None))
        record = {"response": args.response, "gold": args.gold, "problem": args.problem,
                  "finish_reason": args.finish_reason, "choices": args.choices}
        line = _to_line(record, 1, Path("<command line>"), grader)
    from ..grading.pool import GradingPool

    with GradingPool(workers=1, timeout=args.timeout) as pool:
        score = pool.grade_many([line.request])[0]
    print(format_explanation(line, score))
    return 0


def format_explanation(line: InputLine, score: Any) -> str:
    req = line.request
    detail = dict(score.detail or {})
    notes = detail.pop("notes", [])
    verdict = {True: "CORRECT", False: "WRONG", None: "NO VERDICT"}[score.correct]
    rows = [
        ("verdict", f"{verdict} (reason: {score.reason}, method: {score.method})"),
        ("grader", req.grader),
        ("reasoning", "removed (" + line.reasoning_source + ")" if line.reasoning_source != "none" else "none inline"),
        ("finish_reason", str(req.finish_reason)),
        ("extracted", repr(score.extracted)),
        ("found by", str(detail.pop("extraction", None))),
        ("compared by", str(detail.pop("comparison", None))),
        ("normalized pred", repr(score.normalized_pred)),
        ("normalized gold", repr(score.normalized_gold)),
        ("gold (raw)", repr(req.gold)),
    ]
    rows += [(k, json.dumps(v, ensure_ascii=False)) for k, v in detail.items()]
    rows += [("note", n) for n in notes]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.rjust(width)}  {v}" for k, v in rows)
