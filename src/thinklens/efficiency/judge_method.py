"""`--method judge`: one LLM call per trace finds the first step reaching the correct answer.

ProcessBench-style: the steps are shown tagged and indexed from 0, with the problem
and the correct answer; the judge returns the index of the earliest step that
reaches that answer, or -1, in `\\boxed{}`.  Index 0 is a step like any other (the
first step counts, with its own tokens).  An answer without a readable index in
range is "unparsed": recorded as such, never as "no correct step".
"""

from __future__ import annotations

import re

from ..judge import Judge, JudgeVerdict, ParsedVerdict, Unparseable
from .steps import Span
from .traces import Trace

PURPOSE = "efficiency.first_correct"

FIRST_CORRECT_PROMPT = """The following is a problem, its correct answer, and a solution split into steps. The steps are enclosed in tags and indexed from 0.

[Problem]
{problem}

[Correct answer]
{answer}

[Solution]
{tagged_steps}

Read the solution step by step. Find the earliest step in which the solution arrives at the correct answer (states it or computes it, even if it goes on to doubt or re-check it). Reply with the index of that step, or -1 if no step arrives at the correct answer. Put the index in \\boxed{{}}, for example \\boxed{{3}}."""

_BOXED_INDEX = re.compile(r"\\boxed\s*\{\s*(?:\\text\{\s*)?(-?\s*\d+)\s*\}?\s*\}")


def problem_text(trace: Trace) -> str:
    """The question as the model saw it, options included for multiple choice."""
    if trace.choices:
        letters = "ABCDEFGHIJ"
        options = "\n".join(f"{letters[i]}) {c}" for i, c in enumerate(trace.choices[:10]))
        return f"{trace.problem.strip()}\n\n{options}"
    return trace.problem.strip() or "(not given)"


def answer_text(trace: Trace) -> str:
    gold = trace.gold.strip()
    if trace.choices and len(gold) == 1 and gold.upper() in "ABCDEFGHIJ":
        i = "ABCDEFGHIJ".index(gold.upper())
        if i < len(trace.choices):
            return f"{gold.upper()}) {trace.choices[i]}"
    return gold


def tagged_steps(text: str, spans: list[Span]) -> str:
    return "\n\n".join(f"<step_{i}>\n{text[a:b]}\n</step_{i}>" for i, (a, b) in enumerate(spans))


def first_correct_prompt(trace: Trace, spans: list[Span]) -> str:
    return FIRST_CORRECT_PROMPT.format(
        problem=problem_text(trace), answer=answer_text(trace), tagged_steps=tagged_steps(trace.text, spans)
    )


def index_parser(n_steps: int):
    def parse(text: str) -> ParsedVerdict:
        found = _BOXED_INDEX.findall(text)
        if not found:
            raise Unparseable("no \\boxed{index} in the judge's answer")
        index = int(found[-1].replace(" ", ""))
        if index < -1 or index >= n_steps:
            raise Unparseable(f"index {index} is outside -1..{n_steps - 1}")
        return ParsedVerdict(value=index, explanation=text[: text.rfind("\\boxed")].strip()[-2000:])

    return parse


async def judge_first_correct(judge: Judge, trace: Trace, spans: list[Span]) -> JudgeVerdict:
    """`verdict.value`: the step index, or -1 when no step reaches the correct answer."""
    if not spans:
        return JudgeVerdict(purpose=PURPOSE, status="ok", value=-1, explanation="empty reasoning: no step")
    return await judge.ask(PURPOSE, first_correct_prompt(trace, spans), index_parser(len(spans)))
