"""The cost line: every report says the tokens spent (prompt, reasoning, answer), and
the dollars with --price-in/--price-out (USD per million tokens).

Real R1-distill MATH-500 answers replayed by the mock server, evaluated over HTTP by
the CLI; the report's totals must equal the usage stored for each generation.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3

import pytest

from thinklens.cli import main
from thinklens.cost import Prices, TokenTotals, cost_line, totals
from thinklens.errors import ConfigError
from thinklens.mock_server import MockServerConfig, run_mock_server
from tests.helpers.math500_runs import MATH500, R1_OUTPUTS, have_r1


def test_totals_and_dollars():
    t = totals([(100, 300, 200), (50, 80, None), (None, None, None)])
    assert (t.prompt, t.reasoning, t.answer, t.generations, t.unreported) == (150, 200, 180, 3, 1)
    assert t.dollars(Prices()) is None
    assert t.dollars(Prices(input=2.0, output=10.0)) == pytest.approx((150 * 2 + 380 * 10) / 1e6)
    line = cost_line(TokenTotals(1_234_567, 98_765_432, 12_345_678, 9), Prices(0.5, 2.0))
    assert line.endswith("| $222.84") and len(line) <= 80
    with pytest.raises(ConfigError, match="--price-out"):
        Prices(output=-1.0)


def test_a_negative_price_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--model", "m", "--datasets", "math_500", "--price-in", "-2"])
    assert "must be 0 or more" in capsys.readouterr().err


def _stored_usage(run) -> tuple[int, int, int]:
    conn = sqlite3.connect(run / "run.sqlite")
    try:
        return conn.execute("SELECT SUM(prompt_tokens), SUM(reasoning_tokens), SUM(completion_tokens - reasoning_tokens) "
                            "FROM results WHERE status='ok'").fetchone()
    finally:
        conn.close()


@pytest.mark.skipif(not have_r1(), reason="needs MATH-500 and the R1-distill outputs under the shared data folder "
                    "(set THINKLENS_SHARED_DATA)")
def test_report_and_console_show_tokens_and_dollars(tmp_path):
    out = io.StringIO()
    with run_mock_server(MockServerConfig(replay=R1_OUTPUTS, tokens_per_chunk=256)) as server, \
            contextlib.redirect_stdout(out):
        base = ["eval", "--api-url", server.url, "--model", "DeepSeek-R1-Distill-Qwen-32B", "--datasets", "math_500",
                "--dataset-path", f"math_500={MATH500}", "--limit", "20", "--no-progress", "--retry-backoff", "0.01"]
        assert main([*base, "--output", str(tmp_path / "priced"), "--price-in", "0.5", "--price-out", "2"]) == 0
        assert main([*base, "--output", str(tmp_path / "plain")]) == 0
    cost = json.loads((tmp_path / "priced" / "report.json").read_text())["cost"]
    prompt, reasoning, answer = _stored_usage(tmp_path / "priced")
    total = cost["total"]
    assert (total["prompt_tokens"], total["reasoning_tokens"], total["answer_tokens"]) == (prompt, reasoning, answer)
    assert total["generations"] == 20 and reasoning > 0 and answer > 0
    assert total["usd"] == pytest.approx((prompt * 0.5 + (reasoning + answer) * 2.0) / 1e6, abs=1e-6)
    assert cost["datasets"]["math_500"] == total
    text = out.getvalue()
    assert f"Tokens: prompt {prompt:,} | reasoning {reasoning:,} | answer {answer:,} | $" in text
    assert "--price-in/--price-out" in text  # the unpriced run says how to get dollars
    plain = json.loads((tmp_path / "plain" / "report.json").read_text())["cost"]["total"]
    assert "usd" not in plain and plain["prompt_tokens"] == prompt
    assert all(len(line) <= 80 for line in text.splitlines() if line.startswith(("Tokens", "(--price")))
