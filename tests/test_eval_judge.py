"""The optional LLM judge in the evaluation: rule_then_llm asks only about rule negatives,
its verdict and explanation are stored with the score, calls are cached, failures keep
the rule's verdict."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.helpers.judge_server import UNMATCHED, equivalence_key, judge_server
from thinklens.cli import main
from thinklens.mock_server import MockServerConfig, run_mock_server

QUESTIONS = [  # invented: (problem, gold, the model's answer)
    ("How many legs does a tripod have in total?", "3", "\\boxed{three}"),
    ("What is seven minus zero?", "7", "\\boxed{7}"),
    ("What is four plus five?", "9", "\\boxed{8}"),
]


def test_rule_then_llm_judge(tmp_path: Path) -> None:
    data = tmp_path / "q.jsonl"
    data.write_text("\n".join(json.dumps({"problem": p, "answer": g, "level": 1, "unique_id": f"q{i}"})
                              for i, (p, g, _) in enumerate(QUESTIONS)) + "\n")
    replay = tmp_path / "model.jsonl"
    replay.write_text("\n".join(json.dumps({"problem": p, "reasoning": "thinking", "content": a})
                                for p, _, a in QUESTIONS) + "\n")
    verdicts = [(equivalence_key(QUESTIONS[0][0], "3"), "'three' is the number 3.\nVerdict: EQUIVALENT")]
    out = tmp_path / "run"
    with run_mock_server(MockServerConfig(replay=(replay,))) as model, \
            judge_server(tmp_path / "judge.jsonl", verdicts) as judge:
        args = ["eval", "--api-url", model.url, "--model", "m", "--datasets", "math_500", "--dataset-path",
                f"math_500={data}", "--output", str(out), "--no-progress", "--judge-strategy", "rule_then_llm",
                "--judge-url", judge.url, "--judge-model", "judge-72b"]
        assert main(args) == 0
        # Asked about the two rule negatives only; the third is right by rule.
        assert judge.stats().requests_total == 2
        assert main(["eval", "--regrade", str(out)]) == 0
        assert main(args) == 0  # resume: nothing to request, nothing to ask
        assert judge.stats().requests_total == 2  # every judgement came from the cache
    conn = sqlite3.connect(out / "run.sqlite")
    rows = {sid: (correct, reason, method, json.loads(detail)) for sid, correct, reason, method, detail in
            conn.execute("SELECT sample_id, correct, reason, grade_method, grade_detail FROM results")}
    conn.close()
    correct, reason, method, detail = rows["q0"]
    assert (correct, reason, method) == (1, "correct", "judge")
    assert detail["judge"]["explanation"] == "'three' is the number 3." and detail["rule"]["correct"] is False
    assert rows["q1"][:3] == (1, "correct", "rule") and "judge" not in rows["q1"][3]
    correct, reason, method, detail = rows["q2"]  # the judge's reply held no verdict: rule's verdict kept
    assert (correct, reason, method) == (0, "not_equivalent", "rule")
    assert detail["judge"]["status"] == "unparsed" and detail["judge"]["raw"] == UNMATCHED
    report = json.loads((out / "report.json").read_text())
    assert report["judge"] == {"strategy": "rule_then_llm", "asked": 2, "changed": 1, "failed": 1}
    assert next(r for r in report["rows"] if r["subset"] == "OVERALL")["score"] == round(2 / 3, 4)


def test_judge_strategy_without_a_judge_is_a_config_error(capsys, tmp_path: Path) -> None:
    rc = main(["eval", "--api-url", "http://127.0.0.1:9/v1", "--model", "m", "--datasets", "math_500",
               "--judge-strategy", "llm", "--output", str(tmp_path / "o")])
    assert rc == 2 and "needs a judge" in capsys.readouterr().err
