"""Plain numbers in answers and golds ("023", "1,080", "$18.00", "x = 5", "She earns $18")."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .extract import strip_text_wrappers
from .normalize import normalize_answer, strip_delimiters, unwrap_text

_NUMBER_IN_TEXT_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def plain_number(s: str) -> Decimal | None:
    """A lone number ("023", "1,080", "$18.00", "18 dollars", "x = 5") as a Decimal."""
    n = normalize_answer(s)
    n = re.sub(r"^\\?[A-Za-z]\w*=", "", n)  # "x=5" / "n=023"
    n = n.replace(",", "")
    n = re.sub(r"^\+", "", n)
    try:
        return Decimal(n) if re.fullmatch(r"-?(?:\d+(?:\.\d*)?|\.\d+)", n) else None
    except InvalidOperation:
        return None


def number_in_text(s: str) -> Decimal | None:
    """The last number of a short phrase ("She earns $18 per day" -> 18)."""
    text = strip_text_wrappers(unwrap_text(strip_delimiters(s))).replace("\\$", "$").replace("\\!", "")
    found = _NUMBER_IN_TEXT_RE.findall(text)
    if not found:
        return None
    try:
        return Decimal(found[-1].replace(",", ""))
    except InvalidOperation:
        return None


def canon(d: Decimal) -> str:
    return format(d.normalize(), "f")
