"""Where the public test/benchmark data lives (never inside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """`THINKLENS_SHARED_DATA`, else `../shared/data` beside the project checkout."""
    env = os.environ.get("THINKLENS_SHARED_DATA")
    return Path(env) if env else (_PROJECT_ROOT.parent / "shared" / "data")
