"""A digest of every verdict the graders give on the labelled corpus (tests/grading/).

`verdict_digest` hashes everything a score says (verdict, reason, extracted answer,
normal forms, audit trail), so the digest file proves a refactor of the graders left
every verdict identical without copying any model output into the repository.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from thinklens.records import Score

from .corpus import CORPUS_DIR

SNAPSHOT = CORPUS_DIR / "verdict_digests.json"


def verdict_digest(score: Score) -> str:
    payload = [score.correct, score.reason, score.extracted, score.method, score.normalized_pred,
               score.normalized_gold, score.detail]
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_snapshot(path: Path = SNAPSHOT) -> dict[str, str]:
    return json.loads(path.read_text(encoding="utf-8"))
