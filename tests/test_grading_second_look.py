"""The independent second look at the hand-decided grading cases (tests/grading/second_look.jsonl).

A second labeller decided every case whose first label was decided by hand (note other than
"all three graders agree") without seeing the first label, then compared.  These tests keep the
file honest: every ref is a labelled case, each `agrees_with_first` matches the label as it is
now (so a relabel must update the second look too), and the agreement rates in the README are
the file's.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers.corpus import CORPUS_DIR
from tests.helpers.realdata import shared_data_available

SECOND_LOOK = CORPUS_DIR / "second_look.jsonl"
LABEL_FILES = ("skythought_labels.jsonl", "real_labels.jsonl")
KEYS = {"ref", "second_label", "second_note", "agrees_with_first"}

needs_data = pytest.mark.skipif(
    not shared_data_available(), reason="shared data folder absent (set THINKLENS_SHARED_DATA to ../shared/data)"
)


def _lines(path):
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _labels() -> dict[str, tuple[str, dict]]:
    """ref -> (label file, label line)."""
    return {d["ref"]: (name, d) for name in LABEL_FILES for d in _lines(CORPUS_DIR / name)}


def _agreement() -> dict[str, tuple[int, int]]:
    """label file -> (cases looked at, cases where the second label equals the first)."""
    labels = _labels()
    out: dict[str, tuple[int, int]] = {}
    for d in _lines(SECOND_LOOK):
        name = labels[d["ref"]][0]
        n, agree = out.get(name, (0, 0))
        out[name] = (n + 1, agree + bool(d["agrees_with_first"]))
    return out


def test_second_look_lines_are_well_formed_and_name_labelled_cases() -> None:
    lines = _lines(SECOND_LOOK)
    labels = _labels()
    refs = [d["ref"] for d in lines]
    assert len(refs) == len(set(refs)), "a case looked at twice"
    for d in lines:
        assert set(d) == KEYS, d
        assert isinstance(d["second_label"], bool) and isinstance(d["agrees_with_first"], bool), d
        assert d["second_note"].strip(), d["ref"]
    unknown = [r for r in refs if r not in labels]
    assert not unknown, f"second look names cases with no label: {unknown[:5]}"


def test_second_look_agreement_matches_the_current_labels() -> None:
    labels = _labels()
    stale = [d["ref"] for d in _lines(SECOND_LOOK)
             if d["agrees_with_first"] != (d["second_label"] == bool(labels[d["ref"]][1]["correct"]))]
    assert not stale, f"agrees_with_first no longer matches the label (relabelled? update second_look.jsonl): {stale}"


def test_second_look_disagreements_say_which_label_is_right() -> None:
    for d in _lines(SECOND_LOOK):
        if not d["agrees_with_first"]:
            assert "Re-look" in d["second_note"], d["ref"]


def test_second_look_covers_every_hand_decided_real_case() -> None:
    looked = {d["ref"] for d in _lines(SECOND_LOOK)}
    hand = {d["ref"] for d in _lines(CORPUS_DIR / "real_labels.jsonl") if d["note"] != "all three graders agree"}
    assert hand <= looked, sorted(hand - looked)[:5]


def test_second_look_agreement_rates_are_the_readme_ones() -> None:
    readme = (CORPUS_DIR / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Second look"):]
    for name, (n, agree) in _agreement().items():
        row = f"| `{name}` | {n} | {agree} | {100 * agree / n:.1f} % |"
        assert row in section, f"README second-look table should have {row!r}"
    # the total line
    n, agree = map(sum, zip(*_agreement().values()))
    assert re.search(rf"\b{agree} of {n}\b", section), (agree, n)


@needs_data
def test_second_look_refs_rebuild_from_the_shared_data() -> None:
    from tests.helpers.realdata import all_real_cases, skythought_cases

    refs = {d["ref"] for d in _lines(SECOND_LOOK)}
    sky_groups = {tuple(r.split(":")[0].split("_", 2)[1:]) for r in refs if r.startswith("skythought_")}
    known = {c.ref for c in all_real_cases()}
    for group in sky_groups:
        known |= {c.ref for c in skythought_cases(only=group)}
    assert refs <= known, sorted(refs - known)[:5]
