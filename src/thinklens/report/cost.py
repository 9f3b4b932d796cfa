"""The report's cost section: tokens spent per dataset and for the whole run (prompt,
reasoning, answer), with dollars when prices are given.  Successful generations only:
a failed request's usage is not known."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..cost import Prices, TokenTotals, cost_line, totals
from ..store.report import PlannedRow


def _totals(rows: Iterable[PlannedRow]) -> TokenTotals:
    return totals((r.prompt_tokens, r.completion_tokens, r.reasoning_tokens) for r in rows if r.status == "ok")


def run_cost(data: Mapping[str, Mapping[str, list[PlannedRow]]], prices: Prices) -> dict[str, Any]:
    """`data`: dataset -> subset -> planned rows (build.py's grouping)."""
    per_dataset = {d: _totals(r for rows in subsets.values() for r in rows) for d, subsets in data.items()}
    total = _totals(r for subsets in data.values() for rows in subsets.values() for r in rows)
    return {
        "note": "server usage of the successful generations; reasoning = the server's reasoning_tokens "
                "(estimated when it reports none), answer = completion - reasoning; USD per million tokens: "
                "prompt at price_in, reasoning + answer at price_out",
        "total": total.to_dict(prices),
        "datasets": {d: t.to_dict(prices) for d, t in per_dataset.items()},
    }


def cost_lines(cost: dict[str, Any] | None) -> list[str]:
    if not cost:
        return []
    prices = Prices()
    t = cost["total"]
    if "usd" in t:
        prices = Prices(t["price_in_per_mtok"], t["price_out_per_mtok"])

    def line(d: dict[str, Any]) -> str:
        return cost_line(TokenTotals(d["prompt_tokens"], d["reasoning_tokens"], d["answer_tokens"], d["generations"],
                                     d["generations_without_usage"]), prices)

    out = [line(t)]
    if len(cost["datasets"]) > 1:
        out += [f"  {name}: {line(d).removeprefix('Tokens: ')}" for name, d in cost["datasets"].items()]
    if "usd" not in t:
        out.append("(--price-in/--price-out USD per million tokens show the dollars)")
    return out
