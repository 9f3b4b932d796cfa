"""Runs for the viewer tests, written through the real store and report code.

Every outcome the viewer must show is present (correct, wrong, truncated, no answer,
request error, grader timeout, not yet graded), with hostile text in the places a
model or a dataset controls: prompt, answer, reasoning, gold, extracted answer,
sample id, model name.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from thinklens.config import make_config
# The real tables of `thinklens efficiency` / `thinklens perf`: a change of their format
# breaks these fixtures (and the viewer tests) instead of passing unnoticed.
from thinklens.judge.core import JudgeVerdict
from thinklens.judge.equivalence import score_with_verdict
from thinklens.perf.output import REQUESTS_FILE, SUMMARY_JSON
from thinklens.records import Generation, Sample, Score, Timings, Usage
from thinklens.store import RunStore
from thinklens.store.efficiency import SAMPLE_COLUMNS as EFFICIENCY_COLUMNS

from thinklens.report import build_report, write_report

# Each sets window.__xss if it ever runs.
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=1">'
XSS_LINK = "[click me](javascript:window.__xss=1)"
XSS_MATH = r"$\href{javascript:window.__xss=1}{x}$"
XSS_ALL = f"{XSS_SCRIPT} {XSS_IMG} {XSS_LINK} {XSS_MATH}"

OUTCOMES = ("correct", "wrong", "truncated", "no_answer", "error", "ungraded", "pending")

REASONING = (
    "Let me think about $x^2 + y^2 = 25$ first.\n\n"
    "We have $x = 3$, so $y^2 = 16$ and $y = 4$.\n\n"
    "Wait, the question asks for $x + y$, which is $7$.\n\n"
    "Alternatively, check with \\[ (x+y)^2 = x^2 + 2xy + y^2 = 49. \\]\n\n"
    "So the answer is 7. " + XSS_ALL
)


JUDGED = (7, 0)  # (question, repeat) graded by the LLM judge (a correct outcome)


def _outcome_for(i: int, repeat: int) -> str:
    return OUTCOMES[(i + 3 * repeat) % len(OUTCOMES)]


def make_run(
    run_dir: str | Path,
    *,
    model: str = "demo-model",
    questions: int = 14,
    repeats: int = 2,
    subsets: tuple[str, ...] = ("Level 1", "Level 2"),
    dataset: str = "math_500",
    report: bool = True,
    efficiency: bool = False,
    flip: bool = False,
) -> list[str]:
    """A finished (or, with report=False, unfinished) run; returns its keys in plan order.
    `flip` swaps correct and wrong verdicts: a second model that disagrees."""
    run_dir = Path(run_dir)
    store = RunStore(run_dir)
    keys: list[str] = []
    config = make_config({
        "model": model, "api_url": ["http://127.0.0.1:9/v1"], "datasets": [dataset], "api_key": "sk-secret",
        "generation_config": {"n": repeats, "max_tokens": 4096, "temperature": 0.6},
        "output": str(run_dir),
    })
    store.set_meta("config", config.redacted())
    store.set_meta("model", model)
    store.set_meta("datasets", [dataset])
    store.set_meta("created_at", 1_700_000_000.0)
    store.set_meta("updated_at", 1_700_000_100.0)
    for i in range(questions):
        subset = subsets[i % len(subsets)]
        sid = f"q{i:03d}" if i != 1 else "<b>q001</b>"
        prompt = f"Problem {i}: if $x^2 = {i * i}$ and $x > 0$, find $x$. Put the answer in \\boxed{{}}."
        if i == 0:
            prompt += "\n\n" + XSS_ALL
        gold = str(i) if i != 2 else XSS_SCRIPT
        sample = Sample(id=sid, dataset=dataset, subset=subset, messages=[{"role": "user", "content": prompt}],
                        gold=gold, meta={"level": subset, "solution": f"Since $x^2={i * i}$, $x={i}$."})
        for r in range(repeats):
            key = f"{dataset}-{i:03d}-{r}"
            keys.append(key)
            outcome = _outcome_for(i, r)
            if flip and outcome in ("correct", "wrong"):
                outcome = "wrong" if outcome == "correct" else "correct"
            tokens = 300 + 97 * i + 41 * r
            if outcome == "error":
                gen = Generation(error="HTTP 500 from server: " + XSS_SCRIPT, attempts=3,
                                 timings=Timings(start=1_700_000_000.0 + i, e2e=0.2))
            else:
                content = {
                    "correct": f"The answer is $\\boxed{{{i}}}$.",
                    "wrong": f"The answer is $\\boxed{{{i + 1}}}$. {XSS_ALL}",
                    "truncated": "",
                    "no_answer": "I could not finish. " + XSS_IMG,
                    "ungraded": f"The answer is $\\boxed{{\\sqrt{{{i * i}}}}}$.",
                    "pending": f"The answer is $\\boxed{{{i}}}$.",
                }[outcome]
                gen = Generation(
                    content=content,
                    reasoning=REASONING,
                    reasoning_source="reasoning_content",
                    finish_reason="length" if outcome == "truncated" else "stop",
                    usage=Usage(prompt_tokens=40 + i, completion_tokens=tokens, reasoning_tokens=tokens - 20),
                    timings=Timings(start=1_700_000_000.0 + i, ttft=0.05 + 0.01 * i, ttfat=0.5 + 0.1 * i, e2e=1.0 + 0.25 * i + r),
                    endpoint="http://127.0.0.1:9/v1",
                )
            store.put_generation(key, sample, r, gen)
            score = {
                "correct": Score(True, "correct", extracted=str(i), normalized_pred=str(i), normalized_gold=str(i)),
                "wrong": Score(False, "not_equivalent", extracted=str(i + 1) if i != 4 else XSS_IMG),
                "truncated": Score(False, "truncated", extracted=None),
                "no_answer": Score(False, "no_answer", extracted=None),
                "ungraded": Score(None, "ungraded", extracted=f"\\sqrt{{{i * i}}}", detail={"timeout_s": 10}),
            }.get(outcome)
            if outcome == "correct" and (i, r) == JUDGED:
                # the rule said wrong, the LLM judge (real score_with_verdict) says equivalent
                rule = Score(False, "not_equivalent", extracted=str(i))
                score = score_with_verdict(rule, JudgeVerdict(
                    purpose="equivalence", status="ok", value=True, model="judge-model",
                    explanation="Both are " + str(i) + ". " + XSS_SCRIPT))
            if score is not None:
                store.put_score(key, score)
    store.set_plan([(k, "math") for k in keys])
    if efficiency:
        add_efficiency(store, keys)
    if report:
        write_report(asyncio.run(build_report(store, config, {}, None)), run_dir)
        (run_dir / "config.yaml").write_text(json.dumps(config.redacted(), indent=1))
    store.close()
    return keys


SETTINGS_HASH = "abc123"


def add_efficiency(store: RunStore, keys: list[str]) -> None:
    """What `thinklens efficiency` leaves: efficiency.json, a figure, per-trace rows.
    Rows of an older analysis (other settings) sit beside the current ones."""
    from thinklens.viewer.render import split_paragraphs

    spans = split_paragraphs(REASONING)
    switches = [[REASONING.index("Wait"), "Wait"], [REASONING.index("Alternatively"), "Alternatively"]]
    rows = store.conn.execute("SELECT key, dataset, subset, sample_id, repeat FROM results WHERE status='ok'").fetchall()
    for key, dataset, subset, sid, rep in rows:
        for settings_hash, first_step in ((SETTINGS_HASH, 1), ("old-settings", 3)):
            values = {
                "settings_hash": settings_hash, "key": key, "dataset": dataset, "subset": subset,
                "group_label": subset, "sample_id": sid, "repeat": rep, "method": "verify", "no_reasoning": 0,
                "truncated": 0, "correct": 1, "tokens_exact": 1, "reasoning_tokens": 250, "first_correct_tokens": 60,
                "reflection_tokens": 190, "token_efficiency": 0.24, "steps": json.dumps([list(sp) for sp in spans]),
                "first_correct_status": "found", "first_correct_step": first_step,
                "first_correct_offset": spans[first_step][1], "verify_first_correct_step": first_step,
                "judge_first_correct_step": None, "judge_status": None, "thought_num": 2,
                "thought_switches": json.dumps(switches), "solutions": 2, "solution_steps": json.dumps([1, 4]),
                "detail": json.dumps({"candidates": ["\\boxed{7}"], "note": XSS_SCRIPT}), "created_at": 1_700_000_300.0,
                "record": None,  # not reusable by a rerun: written by hand
            }
            assert set(values) == set(EFFICIENCY_COLUMNS), "efficiency_samples changed: update this fixture"
            store.conn.execute(
                f"INSERT OR REPLACE INTO efficiency_samples({','.join(values)}) VALUES ({','.join('?' * len(values))})",
                tuple(values.values()),
            )
    store.commit()
    metrics = {"n": len(rows), "n_complete": len(rows) - 2, "n_truncated": 2, "reasoning_tokens": 812.5,
               "n_reached_correct": 5, "first_correct_tokens": 301.2, "reflection_tokens": 511.3,
               "token_efficiency": 0.37, "thought_num": 2.5, "solutions": 3.1, "n_graded": 9, "accuracy": 0.42,
               "xi_o": 0.63, "n_incorrect": 4, "xi_ut": 0.18, "n_judge_unparsed": 0, "tokens_exact": False,
               "truncated": {"n": 2, "reasoning_tokens": 4000.0}}
    (store.run_dir / "efficiency.json").write_text(json.dumps({
        "model": "demo-model", "dataset": "math_500",
        "settings": {"method": "verify", "split": "double_newline", "settings_hash": SETTINGS_HASH},
        "subset_order": ["Level 1", "Level 2"],
        "subsets": {"Level 1": metrics, "Level 2": metrics, "overall": metrics},
        "definitions": {"first_correct_tokens": "mean T^: tokens to the end of the first correct step"},
    }))
    # an SVG figure carrying a script: as an <img> it must stay inert
    (store.run_dir / "efficiency.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="80"><script>window.__xss=1</script>'
        '<rect width="200" height="80" fill="#2858b8"/><text x="10" y="45" fill="#fff">efficiency</text></svg>'
    )


def make_perf(folder: str | Path) -> Path:
    """A `thinklens perf` folder: summary.json (levels, config, warnings), summary.csv,
    requests.jsonl, a figure, and its own run.sqlite (perf_requests), which must not
    make it look like an evaluation run."""

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lat = {"mean": 0.21, "p50": 0.2, "p90": 0.3, "p95": 0.33, "p99": 0.41, "p999": 0.5, "max": 0.52,
           "min": 0.1, "std": 0.05, "n": 100}
    tpot = {k: (v / 100 if isinstance(v, float) else v) for k, v in lat.items()}
    levels = [
        {"level": f"c={c}", "mode": "closed", "concurrency": c, "requests_ok": 100, "requests_failed": c // 8,
         "requests_cancelled": 0, "failures": {"HTTP 500": c // 8}, "duration": 10.0 / c,
         "request_throughput": 9.5 * c, "output_throughput": 1200.0 * c, "total_throughput": 1500.0 * c,
         "concurrency_achieved": c * 0.97, "ttft": lat, "ttfat": lat, "tpot": tpot, "itl": tpot, "e2e": lat,
         "tokens": {}, "goodput": {"attainment": 0.9}, "generator": {}, "excluded": {},
         "warnings": ["client CPU busy"] if c == 32 else []}
        for c in (1, 8, 32)
    ]
    (folder / SUMMARY_JSON).write_text(json.dumps(
        {"levels": levels, "config": {"model": "m", "api_key": None}, "warnings": []}))
    (folder / "summary.csv").write_text("concurrency,request_throughput\n1,9.5\n")
    (folder / REQUESTS_FILE).write_text("".join(
        json.dumps({"level": "c=1", "phase": phase, "ttft": 0.2, "status": "ok"}) + "\n"
        for phase in ("warmup", "measure", "measure", "cooldown")
    ))
    (folder / "latency.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60"><rect width="120" height="60" fill="#d9653b"/></svg>'
    )
    RunStore(folder).close()  # the store with its perf tables, as `thinklens perf` leaves it
    return folder


class ServedViewer:
    """The viewer app on a real uvicorn server, on a free port, in a thread."""

    def __init__(self, root: str | Path, *, lang: str = "en"):
        from thinklens.viewer.server import allowed_hosts_for, create_app

        self.app = create_app(root, lang=lang, allowed_hosts=allowed_hosts_for("127.0.0.1"))

    def __enter__(self) -> "ServedViewer":
        import threading
        import time

        import uvicorn

        from thinklens.viewer.server import bind_socket

        self.sock = bind_socket("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("viewer did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
        self.app.state.catalog.close()

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        """(status, headers, body) of a GET; the path is sent exactly as given."""
        import http.client

        host, port = self.base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", errors="replace")
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        finally:
            conn.close()


# ---- what the viewer's look is checked on (tests/test_viewer_polish.py, tests/browser/test_viewer_layout.py)
TEX_ANSWERS = (  # (gold, extracted): MATH-500-style LaTeX answers
    (r"\left( 3, \frac{\pi}{2} \right)", r"(3, \frac{\pi}{2})"),
    (r"\frac{14}{3}", r"\dfrac{14}{3}"),
    (r"90^\circ", "90"),
    (r"\text{Evelyn}", "Evelyn"),
)
# Mixed int/float values in one column: 1 and 0.9091, 836 and 672.3 (as efficiency.json has them).
MIXED_EFFICIENCY = {
    "Level 1": {"n": 3, "accuracy": 1, "reasoning_tokens": 836, "first_correct_tokens": 400, "thought_num": 2,
                "token_efficiency": 1, "xi_o": 1, "n_complete": 3, "n_graded": 3, "tokens_exact": False},
    "Level 2": {"n": 11, "accuracy": 0.9091, "reasoning_tokens": 672.3, "first_correct_tokens": 301.25,
                "thought_num": 4.1818, "token_efficiency": 0.61234, "xi_o": 0.55, "n_complete": 11, "n_graded": 11,
                "tokens_exact": False},
}
# A figure drawn 15 inches wide (matplotlib's efficiency figure: 1080pt), as SVG and PNG.
WIDE_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="1080pt" height="612pt" viewBox="0 0 1080 612">'
            '<rect width="1080" height="612" fill="#eef"/><text x="20" y="40" font-size="24">wide figure</text></svg>')
PERF_URL_WITH_KEY = "http://user:sk-perfsecret123@127.0.0.1:9/v1?api_key=sk-perfsecret456"


def make_tex_run(run_dir: str | Path) -> None:
    """A small finished run whose gold and extracted answers are LaTeX."""
    store = RunStore(Path(run_dir))
    store.set_meta("model", "tex-model")
    store.set_meta("datasets", ["math_500"])
    keys = []
    for i, (gold, extracted) in enumerate(TEX_ANSWERS):
        key = f"tex-{i}"
        keys.append(key)
        sample = Sample(id=f"t{i}", dataset="math_500", subset="Level 1",
                        messages=[{"role": "user", "content": f"Problem {i}"}], gold=gold)
        store.put_generation(key, sample, 0, Generation(
            content=f"$\\boxed{{{extracted}}}$", usage=Usage(10, 100, 80),
            timings=Timings(start=1_700_000_000.0, ttft=0.1, ttfat=0.2, e2e=1.0)))
        store.put_score(key, Score(True, "correct", extracted=extracted))
    store.set_plan([(k, "math") for k in keys])
    store.close()


def make_polish_root(root: str | Path) -> Path:
    """Two runs with efficiency (mixed number formats, estimated token counts, a wide
    figure), a comparison figure as PNG and SVG, a LaTeX-answer run, and a perf folder
    whose summary.json has the real top-level keys (version, created_at, interrupted,
    units) and an endpoint URL carrying a key."""
    root = Path(root)
    for name, flip in (("a", False), ("b", True)):
        run = root / "runs" / name
        make_run(run, model=f"model-{name}", efficiency=True, flip=flip)
        summary = json.loads((run / "efficiency.json").read_text())
        summary["subsets"] = {**MIXED_EFFICIENCY, "overall": {**MIXED_EFFICIENCY["Level 2"], "n": 14}}
        summary["settings"]["tokens_exact"] = False
        (run / "efficiency.json").write_text(json.dumps(summary))
        (run / "efficiency.svg").write_text(WIDE_SVG)
    (root / "runs" / "comparison.svg").write_text(WIDE_SVG)
    (root / "runs" / "comparison.png").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (1800).to_bytes(4, "big") + (1020).to_bytes(4, "big") + b"\x08\x06\x00\x00\x00")
    make_tex_run(root / "runs" / "tex")
    perf = make_perf(root / "perf" / "sweep")
    summary = json.loads((perf / SUMMARY_JSON).read_text())
    summary.update({"thinklens_version": "0.1.0", "created_at": "2025-03-01T12:00:00+00:00", "interrupted": True,
                    "units": "seconds for every latency; tokens/s and requests/s for throughputs",
                    "config": {"urls": [PERF_URL_WITH_KEY], "model": "perf-model", "mode": "closed",
                               "concurrency": [1, 8, 32], "requests": 100, "output_tokens": 256, "api_key": None}})
    (perf / SUMMARY_JSON).write_text(json.dumps(summary))
    return root
