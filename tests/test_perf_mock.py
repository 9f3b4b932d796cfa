"""`thinklens perf` against `thinklens mock-server` (a separate process, real HTTP).

Accuracy: the mock server records when it received each request and wrote its first
token and last byte, on the machine's monotonic clock; joined by completion id, the
client's TTFT, TPOT and E2E medians and p99s must agree with the server's to 2 ms
(or 2 %), at concurrency 1, 32 and 256.  Failures: dropped connections, 5xx, 429,
malformed chunks and stalls are counted by reason and the run ends on time.
Durations are kept short (few tokens) so the suite stays fast on two shared cores.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from thinklens.perf.arrivals import ArrivalSchedule
from tests.helpers.calibration import MockServerProcess, compare_with_server, scheduling_noise
from thinklens.perf.config import PerfConfig, Warmup
from thinklens.perf.run import run_perf
from thinklens.perf.slo import SLO
from thinklens.perf.stats import DIST_KEYS

@pytest.fixture()
def prompts_file(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text(
        "".join(json.dumps({"prompt": f"Question number {i}: what is {i} + {i}?"}) + "\n" for i in range(50)),
        encoding="utf-8",
    )
    return path


def config(url: str, out: Path, prompts: Path, **kw) -> PerfConfig:
    base = dict(
        urls=(url,),
        model="mock-model",
        dataset="file",
        dataset_path=str(prompts),
        output_dir=out,
        figures=False,
        progress=False,
    )
    base.update(kw)
    return PerfConfig(**base)


def perf_argv(url: str, prompts: Path, out: Path, *flags: str) -> list[str]:
    """`thinklens perf` against the mock server: the prompts file, 5 tokens each, into `out`."""
    return [
        sys.executable, "-m", "thinklens", "perf", "--url", url, "--model", "mock-model",
        "--dataset-path", str(prompts), "--output-tokens", "5", "--ignore-eos", "--output", str(out),
        *flags,
    ]


# ---- accuracy against what the server did ------------------------------------------------
ACCURACY_CASES = [
    # concurrency, ttft, tpot, tokens, measured requests.  Reasoning-model-like delays,
    # few tokens: a few seconds per case, and few enough requests per second that the
    # server and the client together need well under one core.
    (1, 0.2, 0.02, 8, 16),
    (32, 0.3, 0.03, 8, 96),
    (256, 1.0, 0.1, 5, 256),
]


@pytest.mark.parametrize(
    "concurrency,ttft,tpot,tokens,requests", ACCURACY_CASES, ids=[f"c{c[0]}" for c in ACCURACY_CASES]
)
def test_measured_latencies_match_what_the_server_did(
    tmp_path, prompts_file, concurrency, ttft, tpot, tokens, requests
):
    # The claim is 2 ms (or 2 %) on a machine that gives both processes the CPU when
    # they wake.  A shared, oversubscribed machine adds scheduling delay on top; it is
    # measured (before the run, by the client's own loop-lag monitor and by the
    # server's write lateness) and added to the tolerance, so the test checks the
    # client rather than the neighbours.  bench/bench_perf.py reports the raw figures.
    noise_before = scheduling_noise()["p99"]
    with MockServerProcess(
        "--ttft", str(ttft), "--tpot", str(tpot), "--tokens", str(tokens), "--record-timings"
    ) as server:
        e2e = ttft + (tokens - 1) * tpot
        cfg = config(
            server.url,
            tmp_path / "out",
            prompts_file,
            concurrency=(concurrency,),
            requests=requests,
            output_tokens=tokens,
            ignore_eos=True,
            ramp_up=e2e if concurrency > 1 else 0.0,
            warmup=Warmup(requests=min(concurrency, 2)),
        )
        result = run_perf(cfg)
        stats = server.stats()
        server_records = stats["records"]
    level = result.levels[0]
    assert level.requests_ok == requests and level.requests_failed == 0
    assert level.tokens["completion_tokens_source"] == {"server": requests}
    assert level.metrics["tpot"]["n"] == requests and level.metrics["itl"]["n"] == requests * (tokens - 1)
    cmp = compare_with_server(result.records[level.label], server_records)
    assert cmp["ttft"].n == requests  # every measured request joined to its server record by id
    report = {
        k: {m: round(v * 1e3, 3) if isinstance(v, float) else v for m, v in c.as_dict().items()} for k, c in cmp.items()
    }
    # Medians are compared with the typical disturbance added, p99s (with few requests,
    # nearly the worst one) with the worst the two processes recorded.
    gen, late = level.generator, stats["lateness"]
    noise = max(noise_before, gen["loop_lag_p99"]) + late["p99"]
    worst = max(noise_before, gen["loop_lag_max"]) + late["max"]
    for metric in ("ttft", "tpot", "e2e"):
        c = cmp[metric]
        why = f"{metric} off at c={concurrency} (noise {noise * 1e3:.2f} ms, worst {worst * 1e3:.2f} ms): {report}"
        assert abs(c.diff_p50) <= max(0.002 + noise, 0.02 * c.server_p50), why
        assert abs(c.diff_p99) <= max(0.002 + worst, 0.02 * c.server_p99), why
    # the figures are also what the server was configured to do
    assert level.metrics["ttft"]["p50"] == pytest.approx(ttft, abs=max(0.002, 0.02 * ttft) + noise)
    assert level.metrics["tpot"]["p50"] == pytest.approx(tpot, abs=0.002 + noise)


def test_multi_token_chunks_give_per_token_itl(tmp_path, prompts_file):
    # 4 tokens per SSE event every 4 x 10 ms: ITL per token is 10 ms, not 40 ms per chunk
    with MockServerProcess("--ttft", "0.05", "--tpot", "0.01", "--tokens", "17", "--tokens-per-chunk", "4") as server:
        result = run_perf(
            config(
                server.url,
                tmp_path / "out",
                prompts_file,
                concurrency=(2,),
                requests=6,
                output_tokens=17,
                ignore_eos=True,
                save_chunk_times=True,
            )
        )
    level = result.levels[0]
    ok = [r for r in result.records[level.label] if r.phase == "measure"]
    assert all(r.chunks < r.completion_tokens == 17 for r in ok)
    assert all(len(r.itl) == 16 for r in ok)
    assert level.metrics["itl"]["mean"] == pytest.approx(level.metrics["tpot"]["mean"], rel=0.02)
    assert level.metrics["tpot"]["p50"] == pytest.approx(0.01, abs=0.002)
    row = json.loads((tmp_path / "out" / "requests.jsonl").read_text().splitlines()[0])
    assert len(row["chunk_times"]) == row["chunks"] == 5 and sum(row["chunk_tokens"]) == 17
    assert row["chunk_times"][0] == pytest.approx(row["ttft"], abs=1e-6)


# ---- failures ------------------------------------------------------------------------------
def test_drops_5xx_429_malformed_and_stalls_are_counted_and_the_run_ends_on_time(tmp_path, prompts_file):
    duration, grace, stall_timeout = 3.0, 1.0, 0.4
    with MockServerProcess(
        "--ttft",
        "0.02",
        "--tpot",
        "0.01",
        "--tokens",
        "10",
        "--fault-rate",
        "0.5",
        "--faults",
        "429,500,reset,stall,malformed",
        "--stall-seconds",
        "60",
        "--seed",
        "7",
    ) as server:
        cfg = config(
            server.url,
            tmp_path / "out",
            prompts_file,
            concurrency=(8,),
            duration=duration,
            grace=grace,
            timeout_idle=stall_timeout,
            output_tokens=10,
            ignore_eos=True,
        )
        t0 = time.monotonic()
        result = run_perf(cfg)
        wall = time.monotonic() - t0
        faults = server.stats(records=False)["faults"]
    level = result.levels[0]
    assert wall < duration + grace + 3.0  # setup + the last stalled requests cut at the grace deadline
    assert level.requests_ok > 20 and level.requests_failed > 10
    reasons = level.failures
    assert {"HTTP 429", "HTTP 500", "connection", "stall", "malformed"} <= set(reasons), reasons
    assert sum(reasons.values()) == level.requests_failed
    assert set(faults) == {"429", "500", "reset", "stall", "malformed"}
    rows = [json.loads(line) for line in (tmp_path / "out" / "requests.jsonl").read_text().splitlines()]
    failed = [r for r in rows if r["phase"] == "measure" and r["status"] == "error"]
    assert len(failed) == level.requests_failed and all(r["error"] for r in failed)
    stalled = [r for r in failed if r["error_kind"] == "stall"]
    assert stalled and all("stalled" in r["error"] for r in stalled)
    assert all(r["ttft"] is not None for r in stalled)  # it sent tokens, then went silent
    # the goodput counts failures against the SLO attainment
    slo = SLO.parse(["ttft=1s"])
    assert not slo.met_by(next(r for r in result.records[level.label] if r.status == "error"))


def test_duration_bound_cuts_requests_that_outlive_the_grace(tmp_path, prompts_file):
    # every stream stalls for 60 s and the idle timeout is long: only the grace deadline can end the level
    with MockServerProcess(
        "--ttft",
        "0.01",
        "--tpot",
        "0.01",
        "--tokens",
        "5",
        "--fault-rate",
        "1",
        "--faults",
        "stall",
        "--stall-seconds",
        "60",
    ) as server:
        t0 = time.monotonic()
        result = run_perf(
            config(
                server.url,
                tmp_path / "out",
                prompts_file,
                concurrency=(4,),
                duration=1.0,
                grace=0.5,
                timeout_idle=30,
                output_tokens=5,
                ignore_eos=True,
            )
        )
        wall = time.monotonic() - t0
    level = result.levels[0]
    assert wall < 4.0
    assert level.requests_ok == 0 and level.failures == {"unfinished": 4}


def test_unreachable_server_is_a_clear_error(tmp_path, prompts_file):
    from thinklens.errors import ServerUnreachable

    with pytest.raises(ServerUnreachable, match="cannot reach"):
        run_perf(
            config(
                "http://127.0.0.1:9/v1", tmp_path / "out", prompts_file, concurrency=(1,), requests=1, timeout_connect=2
            )
        )
    assert not (tmp_path / "out").exists()  # nothing written: no empty result for the viewer to list


# ---- open loop, sweeps, SLO search --------------------------------------------------------
def test_open_loop_poisson_sweep_with_cap_and_goodput(tmp_path, prompts_file):
    with MockServerProcess("--ttft", "0.03", "--tpot", "0.005", "--tokens", "5") as server:
        cfg = config(
            server.url,
            tmp_path / "out",
            prompts_file,
            rate=(40.0, math.inf),
            max_concurrency=8,
            requests=80,
            output_tokens=5,
            ignore_eos=True,
            # 30x / 100x what the server does: only a multi-second stall of this machine misses them
            slo=SLO.parse(["ttft=1s", "tpot=500ms"]),
            seed=3,
            figures=True,
        )
        result = run_perf(cfg)
    by_label = {lv.label: lv for lv in result.levels}
    poisson, burst = by_label["rate=40"], by_label["rate=inf"]
    assert poisson.requests_ok == burst.requests_ok == 80, (poisson.as_dict(), burst.as_dict())
    # 80 Poisson arrivals at 40/s span about 2 s
    assert 1.0 < poisson.duration < 3.5
    assert poisson.generator["arrival_lag_p50"] < 0.002 + poisson.generator["loop_lag_p99"]
    # arrivals sit on the absolute schedule of the seeded Poisson process: a late send
    # never shifts the ones after it (no drift)
    rows = [json.loads(line) for line in (tmp_path / "out" / "requests.jsonl").read_text().splitlines()]
    scheduled = sorted(r["scheduled"] for r in rows if r["level"] == "rate=40")
    offsets = ArrivalSchedule(40.0, seed=3).offsets()
    expected = [next(offsets) for _ in scheduled]
    assert [s - scheduled[0] for s in scheduled] == pytest.approx(expected, abs=1e-9)
    # goodput is the share of measured requests meeting every SLO, recomputed here from the
    # records (not "100 %": one request delayed by a busy machine is a real miss, not a bug)
    measured = [r for r in result.records["rate=40"] if r.phase == "measure" and r.status != "cancelled"]
    met = sum(cfg.slo.met_by(r) for r in measured)
    assert poisson.goodput["requests"] == met and poisson.goodput["attainment"] == pytest.approx(met / len(measured))
    assert poisson.goodput["met"] == (met / len(measured) >= cfg.slo_attainment) and poisson.goodput["met"]
    # inf with a cap of 8: 8 in flight all the time
    assert burst.concurrency_achieved == pytest.approx(8, rel=0.15)
    assert burst.request_throughput > poisson.request_throughput
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [lv["rate"] for lv in summary["levels"]] == [40.0, "inf"]
    assert all(lv["max_concurrency"] == 8 for lv in summary["levels"])
    for name in ("latency_vs_throughput", "ttft_distribution", "tpot_distribution"):
        for ext in ("png", "svg"):
            assert (tmp_path / "out" / f"{name}.{ext}").stat().st_size > 1000


def test_search_finds_the_highest_concurrency_meeting_the_slo(tmp_path, prompts_file):
    with MockServerProcess("--ttft", "0.02", "--tpot", "0.005", "--tokens", "4") as server:
        met = run_perf(
            config(
                server.url,
                tmp_path / "a",
                prompts_file,
                search="concurrency",
                search_max=4,
                requests=8,
                output_tokens=4,
                ignore_eos=True,
                slo=SLO.parse(["ttft=2s"]),
            )
        )
        unmet = run_perf(
            config(
                server.url,
                tmp_path / "b",
                prompts_file,
                search="concurrency",
                search_max=4,
                requests=4,
                output_tokens=4,
                ignore_eos=True,
                slo=SLO.parse(["ttft=1ms"]),
            )
        )
    assert met.search["best"] == 4 and met.search["reached_search_max"]
    assert [p["concurrency"] for p in met.search["probes"]] == [1, 2, 4]
    assert unmet.search["best"] is None and unmet.search["first_failing"] == 1
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["search"]["best"] == 4


# ---- the command line ----------------------------------------------------------------------
def test_cli_writes_every_output_and_ctrl_c_keeps_what_was_measured(tmp_path, prompts_file):
    with MockServerProcess("--ttft", "0.02", "--tpot", "0.01", "--tokens", "5") as server:
        out = tmp_path / "cli"
        done = subprocess.run(
            perf_argv(server.url, prompts_file, out, "--concurrency", "1", "4", "--requests", "8", "--slo", "ttft=1s"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "TTFT" in done.stderr and "concurrency=4" in done.stderr
        summary = json.loads((out / "summary.json").read_text())
        assert [lv["concurrency"] for lv in summary["levels"]] == [1, 4]
        for key in (
            "requests_ok",
            "requests_failed",
            "duration",
            "request_throughput",
            "output_throughput",
            "total_throughput",
        ):
            assert key in summary["levels"][0]
        assert set(DIST_KEYS) <= set(summary["levels"][1]["itl"])
        assert (out / "summary.csv").read_text().startswith("level,mode,concurrency")
        rows = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines()]
        assert sum(r["phase"] == "measure" for r in rows) == 16

        interrupted = tmp_path / "interrupted"
        server.reset_stats()
        proc = subprocess.Popen(
            perf_argv(server.url, prompts_file, interrupted, "--concurrency", "2", "--duration", "60", "--no-figures"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Ctrl-C once the server has answered a few requests (its own count, polled with a deadline)
        deadline = time.monotonic() + 60
        while (st := server.stats(records=False))["requests_total"] - st["in_flight"] < 4:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "perf finished no request within 60 s"
            time.sleep(0.02)  # the polling interval
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    summary = json.loads((interrupted / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["levels"][0]["requests_ok"] > 0
    rows = [json.loads(line) for line in (interrupted / "requests.jsonl").read_text().splitlines()]
    assert sum(r["status"] == "ok" for r in rows) >= summary["levels"][0]["requests_ok"]


def test_cli_rejects_bad_flags_with_a_clear_message(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "thinklens",
            "perf",
            "--url",
            "http://127.0.0.1:1/v1",
            "--model",
            "m",
            "--concurrency",
            "4",
            "--rate",
            "2",
            "--dataset",
            "random",
            "--tokenizer",
            "x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "two kinds of load" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "thinklens", "perf", "--url", "http://127.0.0.1:1/v1", "--model", "m"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--tokenizer" in done.stderr


# ---- prompt sources end to end, reasoning, speed benchmark ------------------------------
QWEN2 = None


def _qwen2():
    from tests.helpers.shared_data import shared_data_dir

    path = shared_data_dir() / "tokenizers" / "qwen2"
    if not (path / "vocab.json").is_file():
        pytest.skip(f"the shared Qwen2 tokenizer is not at {path}")
    return path


def test_time_to_first_answer_token_and_reasoning_tokens(tmp_path, prompts_file):
    # 4 reasoning tokens then 4 answer tokens, 20 ms apart after a 50 ms TTFT
    with MockServerProcess("--ttft", "0.05", "--tpot", "0.02", "--reasoning-tokens", "4", "--tokens", "4") as server:
        result = run_perf(config(server.url, tmp_path / "out", prompts_file, concurrency=(2,), requests=6))
    level = result.levels[0]
    assert level.metrics["ttft"]["p50"] == pytest.approx(0.05, abs=0.01)
    assert level.metrics["ttfat"]["p50"] == pytest.approx(0.05 + 4 * 0.02, abs=0.01)
    assert level.tokens["reasoning_mean"] == 4 and level.tokens["completion_mean"] == 8
    row = json.loads((tmp_path / "out" / "requests.jsonl").read_text().splitlines()[0])
    assert row["ttfat"] > row["ttft"] and row["id"]


def test_random_prompts_of_exact_length_and_the_speed_benchmark_table(tmp_path):
    tok = _qwen2()
    with MockServerProcess("--ttft", "0.01", "--tpot", "0.002", "--tokens", "100") as server:
        result = run_perf(
            PerfConfig(
                urls=(server.url,),
                model="mock-model",
                speed_benchmark=True,
                input_tokens=(1, 300),
                output_tokens=12,
                tokenizer=str(tok),
                requests=2,
                output_dir=tmp_path / "sb",
                figures=False,
                progress=False,
            )
        )
    assert [lv.label for lv in result.levels] == ["concurrency=1,input=1", "concurrency=1,input=300"]
    for lv, n_in in zip(result.levels, (1, 300)):
        assert lv.requests_ok == 2 and lv.concurrency == 1 and lv.input_tokens == n_in
        assert lv.tokens["input_tokens_client_mean"] == n_in
        assert lv.tokens["completion_mean"] == 12  # ignore_eos is on in the speed benchmark
    summary = json.loads((tmp_path / "sb" / "summary.json").read_text())
    assert summary["config"]["dataset"] == "speed_benchmark" and summary["config"]["ignore_eos"] is True
    assert [lv["input_tokens"] for lv in summary["levels"]] == [1, 300]


def test_benchmark_prompts_drive_the_load(tmp_path):
    from tests.helpers.shared_data import shared_data_dir

    math500 = shared_data_dir() / "benchmarks" / "math500_test.jsonl"
    if not math500.is_file():
        pytest.skip(f"MATH-500 is not at {math500}")
    with MockServerProcess("--ttft", "0.01", "--tpot", "0.002", "--tokens", "6", "--record-timings") as server:
        result = run_perf(
            PerfConfig(
                urls=(server.url,),
                model="mock-model",
                dataset="math_500",
                dataset_path=str(math500),
                num_prompts=5,
                concurrency=(2,),
                requests=5,
                output_dir=tmp_path / "m",
                figures=False,
                progress=False,
            )
        )
        prompt_tokens = sorted(r["prompt_tokens"] for r in server.stats()["records"])
    level = result.levels[0]
    assert level.requests_ok == 5
    # the five first MATH-500 problems, each sent once: five different prompt lengths
    assert len(set(prompt_tokens)) >= 4


def test_a_server_refusing_every_request_stops_the_run_with_a_clear_error(tmp_path, prompts_file):
    from thinklens.errors import RequestFailed

    with MockServerProcess("--tokens", "4") as server:
        t0 = time.monotonic()
        with pytest.raises(RequestFailed, match="refused 16 requests in a row: HTTP 400"):
            run_perf(
                config(
                    server.url, tmp_path / "out", prompts_file, concurrency=(4,), duration=60, extra_body={"n": 100000}
                )
            )
        assert time.monotonic() - t0 < 10
    rows = (tmp_path / "out" / "requests.jsonl").read_text().splitlines()
    assert len(rows) >= 16 and json.loads(rows[0])["http_status"] == 400


def test_duration_warmup_in_seconds_bursty_arrivals_and_two_replicas(tmp_path, prompts_file):
    with (
        MockServerProcess("--ttft", "0.01", "--tpot", "0.005", "--tokens", "4") as a,
        MockServerProcess("--ttft", "0.01", "--tpot", "0.005", "--tokens", "4") as b,
    ):
        cfg = config(
            a.url,
            tmp_path / "out",
            prompts_file,
            rate=(40.0,),
            burstiness=0.5,
            duration=1.5,
            warmup=Warmup(seconds=0.5),
            output_tokens=4,
            ignore_eos=True,
        )
        result = run_perf(cfg.with_(urls=(a.url, b.url)))
        served = [a.stats(records=False)["requests_total"], b.stats(records=False)["requests_total"]]
    assert min(served) > 10  # both replicas took a share
    rows = [json.loads(line) for line in (tmp_path / "out" / "requests.jsonl").read_text().splitlines()]
    warm = [r for r in rows if r["phase"] == "warmup"]
    measured = [r for r in rows if r["phase"] == "measure"]
    assert warm and measured
    assert max(r["scheduled"] for r in warm) < min(r["scheduled"] for r in measured)
    # measured arrivals span the 1.5 s window (after the 0.5 s warm-up)
    span = max(r["scheduled"] for r in measured) - min(r["scheduled"] for r in measured)
    assert 1.0 < span <= 1.5
    assert result.levels[0].requests_ok == len(measured)


def test_without_holding_the_load_no_cooldown_requests_are_sent(tmp_path, prompts_file):
    with MockServerProcess("--ttft", "0.01", "--tpot", "0.005", "--tokens", "4") as server:
        run_perf(
            config(
                server.url,
                tmp_path / "out",
                prompts_file,
                concurrency=(4,),
                requests=10,
                hold_load=False,
                output_tokens=4,
                ignore_eos=True,
            )
        )
        total = server.stats(records=False)["requests_total"]
    rows = [json.loads(line) for line in (tmp_path / "out" / "requests.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in rows] == ["measure"] * 10 and total == 10
