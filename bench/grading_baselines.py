"""The two reference graders thinklens' grader is measured against (bench, corpus).

* `plain_math_verify`: math-verify as its README shows it, ``verify(parse(gold),
  parse(response))`` with default settings: the gold parsed as a plain string (no LaTeX
  delimiters), the whole response searched for an answer.
* `strict_string`: the MATH paper's grader (Hendrycks et al.): the last ``\\boxed{}`` of the
  response, normalised by its `strip_string`, compared as a string to the normalised gold.

Both return True / False (no answer counts as False).
"""

from __future__ import annotations

import logging

from thinklens.grading.extract import find_boxed

logging.getLogger("math_verify").setLevel(logging.ERROR)


def plain_math_verify(response: str, gold: str, *, timeout_seconds: int | None = 5) -> bool:
    from math_verify import parse, verify

    try:
        return bool(verify(parse(gold, parsing_timeout=timeout_seconds), parse(response, parsing_timeout=timeout_seconds),
                           timeout_seconds=timeout_seconds))
    except Exception:  # noqa: BLE001 - a baseline that errors has simply not matched
        return False


def plain_math_verify_latex_gold(response: str, gold: str, *, timeout_seconds: int | None = 5) -> bool:
    """math-verify with the gold wrapped in $...$ so that it is read as LaTeX."""
    from math_verify import LatexExtractionConfig, parse, verify

    try:
        g = parse("$" + gold + "$", extraction_config=[LatexExtractionConfig()], parsing_timeout=timeout_seconds)
        return bool(verify(g, parse(response, parsing_timeout=timeout_seconds), timeout_seconds=timeout_seconds))
    except Exception:  # noqa: BLE001
        return False


# --- Hendrycks MATH normaliser (github.com/hendrycks/math, modeling/math_equivalence.py) ---


def _fix_fracs(string: str) -> str:
    substrs = string.split("\\frac")
    new_str = substrs[0]
    if len(substrs) > 1:
        for substr in substrs[1:]:
            new_str += "\\frac"
            if substr and substr[0] == "{":
                new_str += substr
            else:
                if len(substr) < 2:
                    return string
                a, b = substr[0], substr[1]
                if b != "{":
                    new_str += "{" + a + "}{" + b + "}" + substr[2:]
                else:
                    new_str += "{" + a + "}" + b + substr[2:]
    return new_str


def _fix_a_slash_b(string: str) -> str:
    if len(string.split("/")) != 2:
        return string
    a, b = string.split("/")
    try:
        ai, bi = int(a), int(b)
        assert string == f"{ai}/{bi}"
        return "\\frac{" + str(ai) + "}{" + str(bi) + "}"
    except (ValueError, AssertionError):
        return string


def _remove_right_units(string: str) -> str:
    if "\\text{ " in string:
        return string.split("\\text{ ")[0]
    return string


def _fix_sqrt(string: str) -> str:
    if "\\sqrt" not in string:
        return string
    splits = string.split("\\sqrt")
    new_string = splits[0]
    for split in splits[1:]:
        if split and split[0] != "{":
            new_string += "\\sqrt{" + split[0] + "}" + split[1:]
        else:
            new_string += "\\sqrt" + split
    return new_string


def strip_string(string: str) -> str:
    string = string.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    string = string.replace("tfrac", "frac").replace("dfrac", "frac")
    string = string.replace("\\left", "").replace("\\right", "")
    string = string.replace("^{\\circ}", "").replace("^\\circ", "")
    string = string.replace("\\$", "")
    string = _remove_right_units(string)
    string = string.replace("\\%", "").replace("%", "")
    string = string.replace(" .", " 0.").replace("{.", "{0.")
    if not string:
        return string
    if string[0] == ".":
        string = "0" + string
    if len(string.split("=")) == 2 and len(string.split("=")[0]) <= 2:
        string = string.split("=")[1]
    string = _fix_sqrt(string)
    string = string.replace(" ", "")
    string = _fix_fracs(string)
    if string == "0.5":
        string = "\\frac{1}{2}"
    string = _fix_a_slash_b(string)
    return string


def strict_string(response: str, gold: str) -> bool:
    boxes = find_boxed(response)
    if not boxes:
        return False
    pred = boxes[-1][2]
    try:
        return strip_string(pred) == strip_string(gold)
    except Exception:  # noqa: BLE001
        return pred == gold


def plain_math_verify_choice(response: str, gold: str, *, timeout_seconds: int | None = 5) -> bool:
    """math-verify's own multiple-choice mode (StringExtractionConfig, letters A-D)."""
    from math_verify import StringExtractionConfig, parse, verify

    try:
        cfg = [StringExtractionConfig()]
        return bool(verify(parse(gold, cfg, parsing_timeout=timeout_seconds),
                           parse(response, cfg, parsing_timeout=timeout_seconds), timeout_seconds=timeout_seconds))
    except Exception:  # noqa: BLE001
        return False


BASELINES = {
    "plain math-verify": lambda grader, response, gold: (
        plain_math_verify_choice(response, gold) if grader == "choice" else plain_math_verify(response, gold)
    ),
    "math-verify, gold as LaTeX": lambda grader, response, gold: (
        plain_math_verify_choice(response, gold) if grader == "choice" else plain_math_verify_latex_gold(response, gold)
    ),
    "strict string (MATH)": lambda grader, response, gold: strict_string(response, gold),
}
