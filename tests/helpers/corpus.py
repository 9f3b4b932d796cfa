"""The labelled grading corpus: real model answers (by reference) and invented cases.

Files (in ``tests/grading/`` of the source tree):

* ``real_labels.jsonl``: one line per real answer in the shared data folder: ``ref`` (see
  realdata.py), ``correct`` (the hand label), ``note`` (why), and what the three graders
  said when it was labelled.  No model output or problem text is copied: the case is
  rebuilt from the shared data by its reference.
* ``invented_cases.jsonl``: cases written for every answer form (``form``), with the full
  request and the label (``correct``; ``reason`` when the outcome must be no_answer or
  truncated).

The test suite and bench/bench_grading.py both read the corpus through `load_corpus`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from thinklens.grading.request import GradeRequest

from .realdata import all_real_cases, shared_data_available

CORPUS_DIR = Path(__file__).resolve().parents[1] / "grading"  # tests/grading/


@dataclass(frozen=True)
class CorpusCase:
    id: str
    kind: str  # "real" | "invented"
    form: str  # answer form (invented) or source (real)
    request: GradeRequest
    correct: bool  # the label
    note: str
    expected_reason: str | None = None
    raw_output: str = ""  # real cases: the generation as emitted (reasoning included when inline)


def load_invented(corpus_dir: Path = CORPUS_DIR) -> list[CorpusCase]:
    cases = []
    with (corpus_dir / "invented_cases.jsonl").open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            req = GradeRequest(d["grader"], d["response"], d["gold"], finish_reason=d.get("finish_reason"),
                               problem=d.get("problem", ""), choices=tuple(d.get("choices", ())))
            cases.append(CorpusCase(d["id"], "invented", d["form"], req, bool(d["correct"]), d["note"],
                                    d.get("reason"), d["response"]))
    return cases


def load_real(corpus_dir: Path = CORPUS_DIR, data_dir: Path | None = None) -> list[CorpusCase]:
    """The labelled real cases; empty when the shared data folder is absent."""
    if not shared_data_available(data_dir):
        return []
    labels = {}
    with (corpus_dir / "real_labels.jsonl").open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            labels[d["ref"]] = d
    cases = []
    for rc in all_real_cases(data_dir):
        label = labels.get(rc.ref)
        if label is None:
            raise KeyError(f"real case {rc.ref} has no label in {corpus_dir / 'real_labels.jsonl'}")
        cases.append(CorpusCase(rc.ref, "real", rc.ref.split(":")[0], rc.request, bool(label["correct"]),
                                label["note"], None, rc.raw_output))
    missing = set(labels) - {c.id for c in cases}
    if missing:
        raise KeyError(f"labels refer to cases not in the shared data: {sorted(missing)[:5]}")
    return cases


def load_skythought(corpus_dir: Path = CORPUS_DIR, data_dir: Path | None = None) -> list[CorpusCase]:
    """The labelled SkyThought cases (``skythought_labels.jsonl``: every answer of the five
    output files, AMC23, Minerva Math and OlympiadBench); empty when the shared data folder
    is absent.  ``form`` is the benchmark; the Qwen2.5-Math grader's
    verdict stays in the label line (``graders_at_labelling.qwen25math``)."""
    from .realdata import SKYTHOUGHT_FILES, skythought_cases

    if not shared_data_available(data_dir):
        return []
    labels = {}
    with (corpus_dir / "skythought_labels.jsonl").open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            labels[d["ref"]] = d
    groups = {tuple(ref.split(":")[0].split("_", 2)[1:]) for ref in labels}
    cases = []
    for key in SKYTHOUGHT_FILES:
        if key not in groups:
            continue
        for rc in skythought_cases(data_dir, only=key):
            label = labels.get(rc.ref)
            if label is None:
                raise KeyError(f"SkyThought case {rc.ref} of a labelled file has no label")
            cases.append(CorpusCase(rc.ref, "real", key[1], rc.request, bool(label["correct"]), label["note"],
                                    None, rc.raw_output))
    return cases


def load_corpus(corpus_dir: Path = CORPUS_DIR, data_dir: Path | None = None) -> list[CorpusCase]:
    return [*load_real(corpus_dir, data_dir), *load_invented(corpus_dir)]
