"""Finished runs of real traces for the efficiency tests and benchmark (built in tmp dirs).

The rows are written with the RunStore API exactly as `thinklens eval` writes them:
the generation (reasoning apart from the answer), the plan with each key's grader,
the config, and the run's own grade of the final answer (thinklens.grading).
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinklens.grading import GradeRequest, GradingPool
from thinklens.records import Generation, Sample, Usage
from .shared_data import shared_data_dir
from thinklens.store import RunStore

MEITANN_PARTS = (
    "model_outputs/meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl",
    "model_outputs/meitann_R1-Distill-Qwen-32B_math500_part2_100.jsonl",
)
MINVALID_LABELS = "model_outputs/meitann_R1-Distill-Qwen-32B_math500_minvalidprefix_labels.jsonl"
SOLUTION_LABELS = "model_outputs/overthinking_QwQ-32B-Preview_debug5_solution_level_eval.jsonl"
MATH500 = "benchmarks/math500_test.jsonl"
QWEN2_TOKENIZER = "tokenizers/qwen2"
R1_MODEL = "DeepSeek-R1-Distill-Qwen-32B"


def data_path(rel: str) -> Path:
    return shared_data_dir() / rel


def have(*rels: str) -> bool:
    return all(data_path(r).exists() for r in rels)


def read_jsonl(rel: str) -> list[dict[str, Any]]:
    with data_path(rel).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def key_of(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RunRow:
    sample: Sample
    generation: Generation
    grader: str
    repeat: int = 0

    @property
    def key(self) -> str:
        return key_of(self.sample.dataset, self.sample.id, str(self.repeat))


def write_run(run_dir: Path, rows: list[RunRow], *, model: str, grade: bool = True, workers: int = 2) -> Path:
    """A finished run folder: generations, plan, config, and graded final answers."""
    store = RunStore(run_dir)
    try:
        datasets = sorted({r.sample.dataset for r in rows})
        config = {"model": model, "api_url": ["http://127.0.0.1:1/v1"], "datasets": datasets}
        store.set_meta("config", config)
        store.set_meta("model", model)
        store.set_meta("datasets", datasets)
        for r in rows:
            store.put_generation(r.key, r.sample, r.repeat, r.generation)
        store.set_plan([(r.key, r.grader) for r in rows])
        if grade:
            ok = [r for r in rows if r.generation.ok]
            with GradingPool(workers=workers, timeout=20) as pool:
                scores = pool.grade_many([
                    GradeRequest(grader=r.grader, response=r.generation.content, gold=r.sample.gold,
                                 finish_reason=r.generation.finish_reason,
                                 problem=str(r.sample.meta.get("problem", "")),
                                 choices=tuple(r.sample.meta.get("choices") or ()))
                    for r in ok
                ])
            for r, s in zip(ok, scores):
                store.put_score(r.key, s, commit=False)
            store.commit()
        (run_dir / "report.json").write_text(json.dumps({"model": model, "run_dir": str(run_dir)}))
    finally:
        store.close()
    return run_dir


def meitann_rows(levels: tuple[int, ...] | None = None) -> list[RunRow]:
    """The 500 R1-distill MATH-500 traces (14 failed requests stored as errors)."""
    gold = {r["problem"]: r for r in read_jsonl(MATH500)}
    rows = []
    for rel in MEITANN_PARTS:
        for d in read_jsonl(rel):
            ref = gold[d["problem"]]
            if levels and ref["level"] not in levels:
                continue
            sample = Sample(
                id=ref["unique_id"], dataset="math_500", subset=f"Level {ref['level']}",
                messages=[{"role": "user", "content": d["problem"]}], gold=ref["answer"],
                meta={"problem": d["problem"], "level": ref["level"], "subject": ref["subject"]},
            )
            if d.get("status") == "failed":
                gen = Generation(error=d.get("error") or "failed", attempts=3)
            else:
                gen = Generation(content=d["result"], reasoning=d["full_reasoning"],
                                 reasoning_source="reasoning_content", finish_reason="stop")
            rows.append(RunRow(sample, gen, "math"))
    return rows


def minvalid_labels() -> dict[str, dict[str, Any]]:
    """problem -> label row (min_valid_length is in Qwen2 tokens of the reasoning)."""
    return {r["problem"]: r for r in read_jsonl(MINVALID_LABELS)}


@dataclass(frozen=True)
class LabelledTrace:
    """One QwQ-32B-Preview response split into solution rounds by the overthinking paper."""

    problem: str
    expected: str
    response: str
    solutions: list[str]
    correctness: list[bool]
    grader: str

    @property
    def first_correct_solution(self) -> int | None:
        return next((i for i, c in enumerate(self.correctness) if c), None)

    def solution_spans(self) -> list[tuple[int, int]]:
        spans, cursor = [], 0
        for sol in self.solutions:
            start = self.response.index(sol, cursor)
            spans.append((start, start + len(sol)))
            cursor = start + len(sol)
        return spans


def _listish(v: Any) -> list[Any]:
    if isinstance(v, list):
        return v
    try:
        return json.loads(v)
    except ValueError:
        return ast.literal_eval(v)  # the paper's pipeline wrote some lists as Python reprs


# GSM8K, MATH-500 (polar coordinates), a toy sum, AIME 2024 (the GPQA row was removed upstream).
_LABELLED_GRADERS = ("gsm8k", "math", "math", "integer")


def labelled_traces() -> list[LabelledTrace]:
    out = []
    for d, grader in zip(read_jsonl(SOLUTION_LABELS), _LABELLED_GRADERS):
        out.append(LabelledTrace(
            problem=d["problem"], expected=str(d["expected_answer"]), response=d["response"],
            solutions=_listish(d["split_solutions"]),
            correctness=[bool(c["correct"]) for c in _listish(d["solution_correctness"])], grader=grader,
        ))
    return out


def labelled_rows() -> list[RunRow]:
    """The four labelled responses as a run of a model without reasoning (QwQ-32B-Preview
    wrote no <think> tags: its whole output is the trace)."""
    rows = []
    for i, t in enumerate(labelled_traces()):
        dataset = {"gsm8k": "gsm8k", "integer": "aime24"}.get(t.grader, "math_500")
        sample = Sample(id=f"overthinking-{i}", dataset="mixed", subset=dataset,
                        messages=[{"role": "user", "content": t.problem}], gold=t.expected,
                        meta={"problem": t.problem})
        gen = Generation(content=t.response, reasoning="", reasoning_source="none",
                         finish_reason="stop", usage=Usage(completion_tokens=None))
        rows.append(RunRow(sample, gen, t.grader))
    return rows
