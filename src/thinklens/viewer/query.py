"""The samples table's filter, sort and page, parsed from (and written back to) a URL.

One `SampleQuery` drives the table, the outcome counts, and previous/next on the
sample page, so "next" always means the next row of the table the user came from.
It is the store's `RowFilter` (store/summary.py: which rows, which order, and their
SQL) plus paging and the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ThinklensError
from ..store.summary import OUTCOMES, SORT_KEYS, RowFilter

# The outcome filters the table offers, in the order it lists them (names only: their
# SQL is the store's, store/summary.py).
OUTCOME_FILTERS: tuple[str, ...] = OUTCOMES
SORT_LABELS = {
    "natural": "sort_natural",
    "-tokens": "sort_tokens_desc",
    "tokens": "sort_tokens_asc",
    "-reasoning": "sort_reasoning_desc",
    "-latency": "sort_latency_desc",
    "latency": "sort_latency_asc",
    "-ttft": "sort_ttft_desc",
}
PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50
MAX_QUERY_CHARS = 200


class BadQuery(ThinklensError):
    """A URL parameter the viewer cannot honour (answered with HTTP 400)."""


@dataclass(frozen=True)
class SampleQuery(RowFilter):
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    # ---- URL <-> query -------------------------------------------------------
    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "SampleQuery":
        outcome = params.get("outcome", "") or ""
        if outcome and outcome not in OUTCOME_FILTERS:
            raise BadQuery(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOME_FILTERS)}")
        sort = params.get("sort", "") or "natural"
        if sort not in SORT_KEYS:
            raise BadQuery(f"unknown sort {sort!r}; one of {', '.join(SORT_KEYS)}")
        q = (params.get("q", "") or "").strip()
        if len(q) > MAX_QUERY_CHARS:
            raise BadQuery(f"search text longer than {MAX_QUERY_CHARS} characters")
        return cls(
            dataset=params.get("dataset", "") or "",
            subset=params.get("subset", "") or "",
            outcome=outcome,
            repeat=_int_param(params, "repeat", None, minimum=0),
            q=q,
            deep=(params.get("deep", "") or "") in ("1", "on", "true"),
            sort=sort,
            page=_int_param(params, "page", 1, minimum=1) or 1,
            per_page=_per_page(params),
        )

    def to_params(self, *, with_page: bool = True) -> dict[str, str]:
        """Only the non-default fields: short, stable URLs."""
        out: dict[str, str] = {}
        if self.dataset:
            out["dataset"] = self.dataset
        if self.subset:
            out["subset"] = self.subset
        if self.outcome:
            out["outcome"] = self.outcome
        if self.repeat is not None:
            out["repeat"] = str(self.repeat)
        if self.q:
            out["q"] = self.q
        if self.deep:
            out["deep"] = "1"
        if self.sort != "natural":
            out["sort"] = self.sort
        if with_page and self.page != 1:
            out["page"] = str(self.page)
        if self.per_page != DEFAULT_PER_PAGE:
            out["per_page"] = str(self.per_page)
        return out

    def with_(self, **changes: Any) -> "SampleQuery":
        """A copy with some fields changed; any filter change goes back to page 1."""
        if "page" not in changes:
            changes["page"] = 1
        return replace(self, **changes)

    @property
    def is_default(self) -> bool:
        return not self.to_params()


def _int_param(params: Mapping[str, str], name: str, default: int | None, *, minimum: int) -> int | None:
    raw = params.get(name, "")
    if raw in ("", None):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise BadQuery(f"{name} must be >= {minimum}")
    return value


def _per_page(params: Mapping[str, str]) -> int:
    value = _int_param(params, "per_page", DEFAULT_PER_PAGE, minimum=1) or DEFAULT_PER_PAGE
    if value not in PER_PAGE_CHOICES:
        raise BadQuery(f"per_page must be one of {', '.join(map(str, PER_PAGE_CHOICES))}")
    return value
