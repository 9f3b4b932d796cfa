"""The parser of `thinklens efficiency` (the command itself: thinklens/efficiency/command.py)."""

from __future__ import annotations

import argparse

from . import lazy_command

USAGE = (
    "thinklens efficiency RUN [options]\n"
    "       thinklens efficiency compare RUN [RUN ...] [-o comparison.png] [--labels NAME ...]"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "efficiency",
        usage=USAGE,
        help="over- and under-thinking of a finished run: tokens to the first correct answer, reflection, switches",
        description="Measure the cognitive efficiency of the reasoning traces of a finished run (reads RUN/run.sqlite; "
        "writes RUN/efficiency.json, RUN/efficiency.png|svg and the efficiency_samples table).  "
        "`compare` draws several analysed runs on one grid and writes a CSV of the numbers.  "
        "(A run folder literally named 'compare' is given as ./compare.)",
    )
    p.add_argument("paths", nargs="+", metavar="RUN", help="run folder (or its report.json); or: compare RUN RUN ...")
    a = p.add_argument_group("analysis")
    a.add_argument("--tokenizer", help="the evaluated model's tokenizer: folder, tokenizer.json or hub id "
                   "(e.g. Qwen/QwQ-32B); without it the server's usage counts are used, marked approximate")
    a.add_argument("--split", choices=["separator", "keywords", "llm"], default="separator",
                   help="steps: blank lines (default), before each switch phrase, or paragraph breaks from the judge")
    a.add_argument("--method", choices=["verify", "judge", "both"], default="verify",
                   help="first correct step: check candidate answers with the run's grader (default, no LLM), ask "
                   "the judge, or both (reports their agreement)")
    # Not a generation cap (eval's --max-tokens): a filter on stored traces.  --max-tokens
    # stays as an alias because the EvalScope guide's efficiency step calls it max_tokens.
    a.add_argument("--max-trace-tokens", "--max-tokens", dest="max_tokens", type=int, default=8000, metavar="N",
                   help="leave out traces whose output is longer than N tokens (default 8000; 0: keep all); "
                   "a filter, not a generation cap (--max-tokens: the guide's name)")
    a.add_argument("--count", type=int, default=100,
                   help="traces per subset, a seeded random sample (default 100; 0: all)")
    a.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    a.add_argument("--dataset", help="the dataset to analyse when the run holds several")
    a.add_argument("--subsets", nargs="+", help="subsets (or groups such as GPQA domains) to analyse, in this order")
    a.add_argument("--group-by", default="auto",
                   help="'subset', or a sample_meta key such as 'domain' (default auto: GPQA by domain)")
    a.add_argument("--switch-phrases", nargs="+", metavar="PHRASE",
                   help="thought-switch phrases (default: alternatively, but wait, wait, hmm, another approach, ...)")
    a.add_argument("--switch-phrases-file", help="file with one thought-switch phrase per line")
    a.add_argument("--model-name", help="label of the model in figures (default: the run's model)")
    a.add_argument("--output-dir", help="also copy efficiency.json and the figures here")
    a.add_argument("--no-figures", dest="figures", action="store_false", help="write efficiency.json only")
    a.add_argument("--grading-workers", type=int, help="processes that check candidate answers (default: CPUs)")
    a.add_argument("--grading-timeout", type=float, default=10.0, help="hard limit per candidate check (s)")
    a.add_argument("--no-progress", dest="progress", action="store_false")
    j = p.add_argument_group("judge (--method judge|both, --split llm)")
    j.add_argument("--judge-url", help="OpenAI-compatible base URL of the judge, e.g. http://127.0.0.1:8801/v1")
    j.add_argument("--judge-model", help="the judge's model name")
    j.add_argument("--judge-api-key", help="default: $THINKLENS_JUDGE_API_KEY; never written to disk")
    j.add_argument("--judge-max-tokens", type=int, default=2048, help="answer budget of the judge (default 2048)")
    j.add_argument("--judge-concurrency", type=int, default=16, help="judge requests in flight (default 16)")
    c = p.add_argument_group("compare")
    c.add_argument("-o", "--output", default="comparison.png",
                   help="figure path for compare (PNG; an SVG and a CSV are written beside it)")
    c.add_argument("--labels", nargs="+", help="legend names, one per run (default: each run's model)")
    p.set_defaults(func=lazy_command("thinklens.efficiency.command"))
