"""Prompt templates: rendering, validation, and removing an instruction a file already carries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..errors import DatasetError

# The QwQ / DeepSeek-R1 guide's instruction (EvalScope's math_500 / aime / gsm8k template).
BOXED_TEMPLATE = "{question}\nPlease reason step by step, and put your final answer within \\boxed{}."

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _format_style(template: str) -> bool:
    """EvalScope writes templates for str.format, with literal braces doubled (`\\boxed{{}}`)."""
    return "{{" in template or "}}" in template


def placeholders(template: str) -> set[str]:
    if _format_style(template):
        template = template.replace("{{", "").replace("}}", "")
    return set(_PLACEHOLDER.findall(template))


def validate_template(template: str, *, required: Iterable[str], allowed: Iterable[str], benchmark: str) -> None:
    found = placeholders(template)
    missing = [p for p in required if p not in found]
    if missing:
        raise DatasetError(
            f"prompt_template for {benchmark} must contain {', '.join('{' + p + '}' for p in missing)}"
        )
    unknown = sorted(found - set(allowed))
    if unknown and _format_style(template):
        # With str.format an unknown {name} cannot render; in a plain template it is literal text.
        raise DatasetError(
            f"prompt_template for {benchmark} uses unknown placeholder(s) "
            f"{', '.join('{' + p + '}' for p in unknown)}; available: {', '.join('{' + p + '}' for p in sorted(allowed))}"
        )


def render(template: str, fields: Mapping[str, str]) -> str:
    """Fill `{question}` (and, for multiple choice, `{choices}` / `{letters}`).

    A plain template is filled in one pass, so `\\boxed{}` needs no escaping and a
    question that happens to contain `{choices}` is not substituted again.  A template
    with doubled braces is treated as EvalScope's str.format template.
    """
    if _format_style(template):
        return template.format(**fields)
    return _PLACEHOLDER.sub(lambda m: fields.get(m.group(1), m.group(0)), template)


def _literal(template: str) -> str:
    return template.replace("{{", "{").replace("}}", "}") if _format_style(template) else template


def strip_instruction(text: str, templates: Iterable[str]) -> str:
    """Remove a template's own text around the question when a file already includes it.

    QwQ's AIME files store `prompt` = problem + the boxed instruction; sending it through
    the template again would repeat the instruction.
    """
    text = text.strip()
    for template in templates:
        literal = _literal(template)
        if "{question}" not in literal:
            continue
        prefix, _, suffix = literal.partition("{question}")
        if "{" in prefix + suffix and _PLACEHOLDER.search(prefix + suffix):
            continue  # multiple-choice layouts: the question is not a plain prefix/suffix
        prefix, suffix = prefix.strip(), suffix.strip()
        if suffix and text.endswith(suffix):
            text = text[: -len(suffix)].rstrip()
        if prefix and text.startswith(prefix):
            text = text[len(prefix):].lstrip()
    return text
