"""Tokens spent and what they cost: prompt, reasoning and answer totals, and dollars
at a price per million tokens (input for the prompt, output for reasoning + answer)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class Prices:
    """USD per million tokens; None: not given (no dollars are shown)."""

    input: float | None = None
    output: float | None = None

    def __post_init__(self) -> None:
        for name, value in (("--price-in", self.input), ("--price-out", self.output)):
            if value is not None and not value >= 0:
                raise ConfigError(f"{name} must be a price in USD per million tokens (0 or more), got {value}")

    @property
    def given(self) -> bool:
        return self.input is not None or self.output is not None


@dataclass(frozen=True)
class TokenTotals:
    prompt: int
    reasoning: int
    answer: int
    generations: int  # generations counted
    unreported: int = 0  # generations whose server gave no usage (not in the totals)

    @property
    def output(self) -> int:
        return self.reasoning + self.answer

    def dollars(self, prices: Prices) -> float | None:
        if not prices.given:
            return None
        return (self.prompt * (prices.input or 0.0) + self.output * (prices.output or 0.0)) / 1e6

    def to_dict(self, prices: Prices | None = None) -> dict:
        out = {"prompt_tokens": self.prompt, "reasoning_tokens": self.reasoning, "answer_tokens": self.answer,
               "generations": self.generations, "generations_without_usage": self.unreported}
        if prices is not None and prices.given:
            out.update(price_in_per_mtok=prices.input, price_out_per_mtok=prices.output,
                       usd=round(self.dollars(prices) or 0.0, 6))
        return out


def split_completion(completion: int | None, reasoning: int | None) -> tuple[int, int] | None:
    """(reasoning, answer) tokens of one generation; None when the server gave no count.
    A server that does not split its count (no reasoning_tokens) has it all as answer."""
    if completion is None:
        return None
    r = min(reasoning or 0, completion)
    return r, completion - r


def totals(usages) -> TokenTotals:
    """Totals over (prompt, completion, reasoning) triples of successful generations."""
    prompt = reasoning = answer = n = missing = 0
    for p, c, r in usages:
        n += 1
        split = split_completion(c, r)
        if split is None and p is None:
            missing += 1
            continue
        prompt += p or 0
        if split is not None:
            reasoning += split[0]
            answer += split[1]
    return TokenTotals(prompt, reasoning, answer, n, missing)


def cost_line(t: TokenTotals, prices: Prices) -> str:
    """One console line (fits 80 columns for any realistic run)."""
    line = f"Tokens: prompt {t.prompt:,} | reasoning {t.reasoning:,} | answer {t.answer:,}"
    usd = t.dollars(prices)
    if usd is not None:
        line += f" | ${usd:,.2f}"
    if t.unreported:
        line += f" ({t.unreported} without usage)"
    return line
