"""`thinklens compare` on real runs: R1-Distill-Qwen-32B and QwQ-32B MATH-500 traces
replayed through the mock server over HTTP, graded, stored, then paired by problem.

R1 is evaluated on all 500 problems, QwQ on problems 100-499 (the ones its traces
cover): the comparison must pair exactly the 400 shared problems, and agree with the
verdicts read straight from the two stores.  Refusals (no shared problem, another
prompt) are one-line errors with exit status 2.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from pathlib import Path

import pytest

from thinklens import TaskConfig, run_task
from thinklens.cli import main
from thinklens.comparison import RunsNotComparable, compare_runs, load_run
from thinklens.mock_server import MockServerConfig, run_mock_server
from thinklens.stats import mcnemar_exact
from tests.helpers.shared_data import shared_data_dir

DATA = shared_data_dir()
MATH500 = DATA / "benchmarks" / "math500_test.jsonl"
R1 = [DATA / "model_outputs" / f"meitann_R1-Distill-Qwen-32B_math500_{p}.jsonl" for p in ("part1_400", "part2_100")]
QWQ = DATA / "model_outputs" / "dongximing_QwQ-32B_math500_idx100-499_seed123.tar.gz"
pytestmark = pytest.mark.skipif(
    not (MATH500.exists() and QWQ.exists() and all(p.exists() for p in R1)),
    reason=f"needs MATH-500, the R1-distill outputs and the QwQ-32B tar.gz under {DATA} (set THINKLENS_SHARED_DATA)",
)


def _rows_file(tmp: Path, name: str, start: int, stop: int) -> Path:
    path = tmp / f"{name}.jsonl"
    lines = MATH500.read_text(encoding="utf-8").splitlines()[start:stop]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _eval(url: str, model: str, data: Path, out: Path, **args) -> Path:
    run_task(TaskConfig(
        api_url=url, model=model, eval_type="service", datasets=["math_500"],
        dataset_args={"math_500": {"dataset_id": str(data), "few_shot_num": 0, **args}},
        eval_batch_size=64, generation_config={"max_tokens": 32000, "temperature": 0.6, "top_p": 0.95},
        output=str(out), progress=False, retry_backoff=0.01, grading_timeout=60,
    ))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compare")
    all500, last400 = _rows_file(tmp, "all", 0, 500), _rows_file(tmp, "last400", 100, 500)
    with run_mock_server(MockServerConfig(replay=R1, tokens_per_chunk=256)) as r1, \
            run_mock_server(MockServerConfig(replay=[QWQ], tokens_per_chunk=256)) as qwq:
        a = _eval(r1.url, "DeepSeek-R1-Distill-Qwen-32B", all500, tmp / "r1")
        b = _eval(qwq.url, "QwQ-32B", last400, tmp / "qwq")
        first50 = _eval(r1.url, "R1-first50", _rows_file(tmp, "first50", 0, 50), tmp / "first50")
        other_prompt = _eval(r1.url, "R1-other-prompt", _rows_file(tmp, "five", 100, 105), tmp / "other",
                             prompt_template="Solve: {question}\nPut the answer in \\boxed{{}}.")
    return a, b, first50, other_prompt


def _verdicts(run: Path) -> dict[str, int]:
    conn = sqlite3.connect(run / "run.sqlite")
    try:
        return {sid: c for sid, c in conn.execute("SELECT sample_id, COALESCE(correct, 0) FROM results WHERE status='ok'")}
    finally:
        conn.close()


def test_pairs_the_400_shared_problems_and_matches_the_stores(runs):
    a, b, _, _ = runs
    rows = compare_runs([load_run(a), load_run(b)])
    overall = next(r for r in rows if r.subset == "OVERALL")
    va, vb = _verdicts(a), _verdicts(b)
    shared = sorted(set(va) & set(vb))
    assert overall.result.n == len(shared) == 400
    a_only = sum(1 for s in shared if va[s] and not vb[s])
    b_only = sum(1 for s in shared if vb[s] and not va[s])
    assert (overall.result.a_only, overall.result.b_only) == (a_only, b_only)
    assert overall.result.mean_a == pytest.approx(sum(va[s] for s in shared) / 400)
    assert overall.result.diff.estimate == pytest.approx((b_only - a_only) / 400)
    assert overall.result.test == "mcnemar-exact"
    assert overall.result.p_value == pytest.approx(mcnemar_exact(a_only, b_only))
    assert overall.result.diff.low < overall.result.diff.estimate < overall.result.diff.high
    levels = [r for r in rows if r.subset != "OVERALL"]
    assert [r.subset for r in levels] == [f"Level {i}" for i in range(1, 6)]
    assert sum(r.result.n for r in levels) == 400


def test_cli_prints_the_table_and_writes_json(runs, tmp_path):
    a, b, _, _ = runs
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["compare", str(a), str(b), "--json", str(tmp_path / "cmp.json")]) == 0
    text = out.getvalue()
    assert "B = QwQ-32B vs A = DeepSeek-R1-Distill-Qwen-32B" in text and "OVERALL" in text
    assert "significant" in text  # each row says it plainly, "not significant" included
    data = json.loads((tmp_path / "cmp.json").read_text())
    overall = next(r for r in data["rows"] if r["subset"] == "OVERALL")
    assert overall["n"] == 400 and overall["ci_method"] == "clt" and 0 < overall["mde"] < 0.2


def test_runs_without_shared_problems_are_refused(runs):
    _, b, first50, _ = runs
    with pytest.raises(RunsNotComparable, match="share no answered problem"):
        compare_runs([load_run(first50), load_run(b)])


def test_runs_with_another_prompt_are_refused(runs, capsys):
    a, _, _, other = runs
    with pytest.raises(RunsNotComparable, match="differ in prompt on 5 of 5 shared math_500 problems"):
        compare_runs([load_run(a), load_run(other)])
    assert main(["compare", str(a), str(other)]) == 2
    err = capsys.readouterr().err
    assert "differ in prompt" in err and "Traceback" not in err


def test_a_folder_that_is_not_a_run_is_a_clear_error(tmp_path, capsys):
    assert main(["compare", str(tmp_path), str(tmp_path)]) == 2
    assert "not a thinklens run folder" in " ".join(capsys.readouterr().err.split())
