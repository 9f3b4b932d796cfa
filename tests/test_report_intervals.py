"""Every score row of report.json carries its interval, and the console shows it."""

from __future__ import annotations

import json
import math
import sqlite3
from collections import defaultdict

import pytest

from thinklens import TaskConfig, run_task
from thinklens.metrics import Vote
from thinklens.report.intervals import score_intervals
from thinklens.mock_server import MockServerConfig, run_mock_server
from tests.helpers.shared_data import shared_data_dir

DATA = shared_data_dir()
MATH500 = DATA / "benchmarks" / "math500_test.jsonl"
R1 = [DATA / "model_outputs" / f"meitann_R1-Distill-Qwen-32B_math500_{p}.jsonl" for p in ("part1_400", "part2_100")]
Z = 1.959963984540054


def test_the_intervals_by_hand():
    # 4 problems x 2 repeats: per-problem means 1/2, 1, 0, 1 (SE worked out in test_stats_intervals)
    q = {"a": [Vote(0, True, "=gold"), Vote(1, False, "w:1")], "b": [Vote(0, True, "=gold"), Vote(1, True, "=gold")],
         "c": [Vote(0, False, "w:2"), Vote(1, False, "w:2")], "d": [Vote(0, True, "=gold"), Vote(1, True, "=gold")]}
    ivs = score_intervals(q, 2)
    avg, method = ivs["AveragePass@1"]
    se = math.sqrt(44 / 64 / 12)
    assert (avg.estimate, avg.low, avg.high) == (0.625, pytest.approx(0.625 - Z * se), pytest.approx(0.625 + Z * se))
    assert method == "clt 95%: SE over per-problem means of their repeats"
    # pass@2 per problem: 1, 1, 0, 1; maj@2 (tie -> first seen): 1, 1, 0, 1
    for metric in ("pass@2", "maj@2"):
        iv, method = ivs[metric]
        assert iv.estimate == 0.75 and 0 <= iv.low <= 0.75 <= iv.high <= 1
        assert method.startswith("bootstrap 95%")


@pytest.mark.skipif(not (MATH500.exists() and all(p.exists() for p in R1)),
                    reason=f"needs MATH-500 and the R1-distill outputs under {DATA} (set THINKLENS_SHARED_DATA)")
def test_report_rows_and_console_carry_the_interval(tmp_path, capsys):
    out = tmp_path / "run"
    with run_mock_server(MockServerConfig(replay=R1, tokens_per_chunk=256)) as server:
        run_task(TaskConfig(
            api_url=server.url, model="r1", eval_type="service", datasets=["math_500"],
            dataset_args={"math_500": {"dataset_id": str(MATH500), "few_shot_num": 0}}, limit=60,
            eval_batch_size=32, generation_config={"max_tokens": 32000, "n": 2},
            output=str(out), progress=False, retry_backoff=0.01, grading_timeout=60,
        ))
    rows = json.loads((out / "report.json").read_text())["rows"]
    assert rows and all(r["ci_method"] for r in rows if r["num"] > 1)
    # OVERALL AveragePass@1 from the store's verdicts: mean of per-problem means +- z * SE
    conn = sqlite3.connect(out / "run.sqlite")
    per = defaultdict(list)
    for sid, correct in conn.execute("SELECT sample_id, correct FROM results WHERE status='ok' AND correct IS NOT NULL"):
        per[sid].append(correct)
    conn.close()
    means = [sum(v) / len(v) for v in per.values()]
    m = sum(means) / len(means)
    se = math.sqrt(sum((x - m) ** 2 for x in means) / (len(means) - 1) / len(means))
    overall = next(r for r in rows if r["subset"] == "OVERALL" and r["metric"] == "AveragePass@1")
    assert overall["ci_low"] == pytest.approx(m - Z * se, abs=1e-4)
    assert overall["ci_high"] == pytest.approx(m + Z * se, abs=1e-4)
    assert overall["ci_low"] <= overall["score"] <= overall["ci_high"]
    p2 = next(r for r in rows if r["subset"] == "OVERALL" and r["metric"] == "pass@2")
    assert p2["ci_method"].startswith("bootstrap")
    shown = capsys.readouterr().out
    half = f"{(overall['ci_high'] - overall['ci_low']) / 2:.4f}"
    assert f"{overall['score']:.4f} ± {half}" in shown
    # the viewer's score table shows the same interval (a static export of the run)
    from thinklens.viewer.export import export_site

    export_site(tmp_path, tmp_path / "site", lang="en", progress=lambda m: None)
    pages = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "site").rglob("*.html"))
    assert f"± {half}" in pages
    assert f"95 % interval [{overall['ci_low']:.4f}, {overall['ci_high']:.4f}]" in pages
