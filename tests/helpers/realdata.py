"""Real model answers from the shared data folder, joined to their golds, as GradeRequests.

The labelled grading corpus (tests/grading/) and the grading benchmark (bench/) refer to
these cases by a stable reference (`RealCase.ref`) instead of copying any data:

* ``meitann_math500_part1:<row>`` / ``meitann_math500_part2:<row>``: DeepSeek-R1-Distill-
  Qwen-32B on MATH-500.  The answer is the `result` field (the API returned the reasoning
  apart); failed rows have no answer.  Joined to the gold on `problem` (exact match).
* ``qwq_math500:<index>``: QwQ-32B on MATH-500 problems 100-499 (tar.gz, read in memory).
  The chat template prefilled ``<think>``, so the generation is ``"<think>\\n" + real_answer``
  and the answer is what follows ``</think>``.  A generation that used all 14000 new
  tokens was cut off (finish_reason "length").
* ``meitann_aime24:<row>``: the R1 distill on AIME 2024, joined to
  aime24_qwen25math.jsonl by closest problem text (the two copies differ in escaping).
* ``overthinking:<row>``: four QwQ-32B-Preview answers (no reasoning split).
* ``skythought_<model>_<benchmark>:<row>``: SkyThought's evaluation outputs (model
  ``qwen14b`` = Qwen2.5-14B-Instruct, ``skyt1gemma`` = Sky-T1-math-correct-5K-27B-gemma2)
  on AMC23, Minerva Math and OlympiadBench, row i answering row i of the benchmark file.
  The generation is ``code[0]``; Sky-T1 thinks between ``<|begin_of_thought|>`` and
  ``<|end_of_thought|>`` (a thought that never closes was cut off: finish_reason
  "length"); the request is built by the benchmark and the scorer (gold, gold_info).
  ``score`` in the file is the Qwen2.5-Math grader's verdict (meta["qwen_score"]).
"""

from __future__ import annotations

import difflib
import json
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinklens.client.reasoning import split_reasoning
from thinklens.grading.request import GradeRequest

from .shared_data import shared_data_dir

MATH500 = "benchmarks/math500_test.jsonl"
AIME24 = "benchmarks/aime24_qwen25math.jsonl"
MEITANN_PARTS = {
    "meitann_math500_part1": "model_outputs/meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl",
    "meitann_math500_part2": "model_outputs/meitann_R1-Distill-Qwen-32B_math500_part2_100.jsonl",
}
MEITANN_AIME24 = "model_outputs/meitann_R1-Distill-Qwen-32B_aime24.jsonl"
QWQ_TAR = "model_outputs/dongximing_QwQ-32B_math500_idx100-499_seed123.tar.gz"
OVERTHINKING = "model_outputs/overthinking_QwQ-32B-Preview_debug5.jsonl"
QWQ_MAX_NEW_TOKENS = 14000
# The four overthinking rows: GSM8K, MATH-500 (polar coordinates), a toy sum, AIME 2024.
_OVERTHINKING_GRADERS = ("gsm8k", "math", "math", "integer")


@dataclass(frozen=True)
class RealCase:
    """One real model answer with its gold: `request` is what the grader sees."""

    ref: str
    source: str  # file under the shared data folder
    request: GradeRequest
    raw_output: str = ""  # the full generation as the model emitted it (reasoning included when inline)
    meta: dict[str, Any] = field(default_factory=dict)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def math500_rows(data_dir: Path | None = None) -> list[dict[str, Any]]:
    return _read_jsonl((data_dir or shared_data_dir()) / MATH500)


def meitann_math500_cases(data_dir: Path | None = None) -> Iterator[RealCase]:
    data_dir = data_dir or shared_data_dir()
    gold = {r["problem"]: r for r in math500_rows(data_dir)}
    for part, rel in MEITANN_PARTS.items():
        for i, row in enumerate(_read_jsonl(data_dir / rel)):
            g = gold[row["problem"]]
            ok = row.get("status") == "success"
            response = (row.get("result") or "") if ok else ""
            yield RealCase(
                ref=f"{part}:{i}",
                source=rel,
                request=GradeRequest("math", response, g["answer"], finish_reason=None, problem=g["problem"]),
                raw_output=response,
                meta={"model": "DeepSeek-R1-Distill-Qwen-32B", "level": g["level"], "unique_id": g["unique_id"], "failed": not ok},
            )


def qwq_math500_cases(data_dir: Path | None = None) -> Iterator[RealCase]:
    data_dir = data_dir or shared_data_dir()
    gold = {r["problem"]: r for r in math500_rows(data_dir)}
    members: list[tuple[int, dict[str, Any]]] = []
    with tarfile.open(data_dir / QWQ_TAR, "r:gz") as tar:
        for m in tar.getmembers():
            if not (m.isfile() and m.name.endswith("generation.json")):
                continue
            index = int(re.search(r"_(\d+)/generation\.json$", m.name).group(1))  # type: ignore[union-attr]
            fh = tar.extractfile(m)
            assert fh is not None
            members.append((index, json.load(fh)[0]))
    for index, d in sorted(members, key=lambda x: x[0]):
        g = gold[d["input_text"]]
        raw = "<think>\n" + d["real_answer"]  # the template's prefill, as the server would stream it
        split = split_reasoning(raw)
        content, source = split.content, split.source
        finish = "length" if d["tokens_full_answer"] >= QWQ_MAX_NEW_TOKENS else "stop"
        yield RealCase(
            ref=f"qwq_math500:{index}",
            source=QWQ_TAR,
            request=GradeRequest("math", content, g["answer"], finish_reason=finish, problem=g["problem"]),
            raw_output=raw,
            meta={"model": "QwQ-32B", "level": g["level"], "unique_id": g["unique_id"], "reasoning_source": source,
                  "completion_tokens": d["tokens_full_answer"]},
        )


def _squash(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def meitann_aime24_cases(data_dir: Path | None = None) -> Iterator[RealCase]:
    data_dir = data_dir or shared_data_dir()
    golds = _read_jsonl(data_dir / AIME24)
    squashed = [_squash(g["problem"]) for g in golds]
    for i, row in enumerate(_read_jsonl(data_dir / MEITANN_AIME24)):
        key = _squash(row["problem"])
        j = max(range(len(golds)), key=lambda k: difflib.SequenceMatcher(None, key, squashed[k], autojunk=False).ratio())
        g = golds[j]
        ok = row.get("status") == "success"
        response = (row.get("result") or "") if ok else ""
        yield RealCase(
            ref=f"meitann_aime24:{i}",
            source=MEITANN_AIME24,
            request=GradeRequest("integer", response, str(g["answer"]), finish_reason=None, problem=g["problem"]),
            raw_output=response,
            meta={"model": "DeepSeek-R1-Distill-Qwen-32B", "gold_row": j},
        )


def overthinking_cases(data_dir: Path | None = None) -> Iterator[RealCase]:
    data_dir = data_dir or shared_data_dir()
    for i, row in enumerate(_read_jsonl(data_dir / OVERTHINKING)):
        grader = _OVERTHINKING_GRADERS[i] if i < len(_OVERTHINKING_GRADERS) else "math"
        yield RealCase(
            ref=f"overthinking:{i}",
            source=OVERTHINKING,
            request=GradeRequest(grader, row["response"], str(row["expected_answer"]), problem=row["problem"]),
            raw_output=row["response"],
            meta={"model": "QwQ-32B-Preview"},
        )


SKYTHOUGHT_MODELS = {"qwen14b": "Qwen2.5-14B-Instruct", "skyt1gemma": "Sky-T1-math-correct-5K-27B-gemma2"}
SKYTHOUGHT_FILES = {  # (model, benchmark) -> (output file, benchmark file)
    (m, b): (f"model_outputs/skythought_{SKYTHOUGHT_MODELS[m]}_{b}.jsonl", f"benchmarks/{b}_test.jsonl")
    for m, benches in (("qwen14b", ("amc23", "minerva_math", "olympiadbench")), ("skyt1gemma", ("amc23", "minerva_math")))
    for b in benches
}


def skythought_split(text: str) -> tuple[str, str, str]:
    """(reasoning, content, finish_reason) of one SkyThought generation."""
    start = text.find("<|begin_of_thought|>")
    if start < 0:
        reasoning, content, finish = "", text, "stop"
    else:
        reasoning, closed, content = text[start + len("<|begin_of_thought|>"):].partition("<|end_of_thought|>")
        finish = "stop" if closed else "length"
        content = content if closed else ""
    for marker in ("<|begin_of_solution|>", "<|end_of_solution|>"):
        content = content.replace(marker, "")
    return reasoning.strip(), content.strip(), finish


def skythought_cases(data_dir: Path | None = None, only: tuple[str, str] | None = None) -> Iterator[RealCase]:
    from thinklens.benchmarks import get_benchmark
    from thinklens.records import Generation
    from thinklens.scoring import grade_request

    data_dir = data_dir or shared_data_dir()
    for (model, bench_name), (out_rel, bench_rel) in SKYTHOUGHT_FILES.items():
        if only is not None and (model, bench_name) != only:
            continue
        bench = get_benchmark(bench_name)
        samples = bench.load({"dataset_id": str(data_dir / bench_rel)})
        for i, row in enumerate(_read_jsonl(data_dir / out_rel)):
            sample = samples[i]
            assert _squash(sample.meta["problem"])[:60] == _squash(row["question"])[:60], (out_rel, i)
            text = row["code"][0]
            _, content, finish = skythought_split(text)
            yield RealCase(
                ref=f"skythought_{model}_{bench_name}:{i}",
                source=out_rel,
                request=grade_request(sample, Generation(content=content, finish_reason=finish), bench.grader),
                raw_output=text,
                meta={"model": SKYTHOUGHT_MODELS[model], "benchmark": bench_name, "subset": sample.subset,
                      "qwen_score": bool(row["score"][0]), "qwen_pred": row["pred"][0]},
            )


def all_real_cases(data_dir: Path | None = None) -> list[RealCase]:
    """Every real answer in the shared data folder (934 cases)."""
    return [
        *meitann_math500_cases(data_dir),
        *qwq_math500_cases(data_dir),
        *meitann_aime24_cases(data_dir),
        *overthinking_cases(data_dir),
    ]


def math500_real_cases(data_dir: Path | None = None) -> list[RealCase]:
    """The 900 real MATH-500 answers (500 R1 distill + 400 QwQ) used for throughput."""
    return [*meitann_math500_cases(data_dir), *qwq_math500_cases(data_dir)]


def shared_data_available(data_dir: Path | None = None) -> bool:
    d = data_dir or shared_data_dir()
    return (d / MATH500).is_file() and (d / QWQ_TAR).is_file()
