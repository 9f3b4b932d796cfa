"""One raw record of a data file, with where it came from (for error messages)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..errors import DatasetError


def normalize_key(name: str) -> str:
    """`Correct Answer`, `correct_answer` and `correctAnswer` are one field."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN from CSV/parquet readers
        return True
    return isinstance(value, str) and not value.strip()


@dataclass(frozen=True)
class RawRow:
    """A record as read from a file or hub, before it becomes a `Sample`.

    `source` names the file (a zip member as `archive.zip!member.csv`, a hub dataset as
    `hub:owner/name[config]/split`); `index` is the 0-based record number in it and
    `line` the 1-based line where it starts, when the format has lines.  Rows are shared
    through the parse cache: never mutate `data`.
    """

    data: Mapping[str, Any]
    source: str
    index: int
    line: int | None = None

    @property
    def where(self) -> str:
        return f"{self.source}, line {self.line}" if self.line is not None else f"{self.source}, row {self.index + 1}"

    @cached_property
    def _keys_by_norm(self) -> dict[str, str]:
        by_norm: dict[str, str] = {}
        for key in self.data:
            by_norm.setdefault(normalize_key(key), key)
        return by_norm

    def find(self, *names: str) -> tuple[str, Any] | None:
        """The first of `names` present with a non-empty value, as (field name in the data, value)."""
        for name in names:
            key = self._keys_by_norm.get(normalize_key(name))
            if key is not None and not _is_empty(self.data[key]):
                return key, self.data[key]
        return None

    def get(self, *names: str, default: Any = None) -> Any:
        found = self.find(*names)
        return found[1] if found else default

    def require(self, *names: str, what: str = "field") -> Any:
        """Like `get`, but a missing field is a `DatasetError` naming it and the fields found."""
        found = self.find(*names)
        if found is not None:
            return found[1]
        wanted = " or ".join(repr(n) for n in names)
        present = [k for k, v in self.data.items() if not _is_empty(v)]
        shown = ", ".join(repr(str(k)) for k in present[:30]) + (" ..." if len(present) > 30 else "")
        raise DatasetError(
            f"{self.where}: missing {what} {wanted}. Fields found: {shown or '(none)'}"
        )


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` (or `\\fbox{...}`) in `text`: the one scanner
    the graders use (`grading.extract.find_boxed`), so a gold and an answer are read alike."""
    from ..grading.extract import last_boxed_content

    return last_boxed_content(text)


def last_boxed_span(text: str) -> tuple[int, int] | None:
    """(start, end) of the last complete `\\boxed{...}` in `text`, or None."""
    from ..grading.extract import find_boxed

    boxes = find_boxed(text)
    return (boxes[-1][0], boxes[-1][1]) if boxes else None
