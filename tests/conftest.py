"""Fixtures shared by the whole suite.  Helper code lives in tests/helpers/ (imported as
`tests.helpers.<module>`); bench/ scripts import the same helpers by putting the
repository root on sys.path.  None of it ships in the wheel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.shared_data import shared_data_dir


@pytest.fixture
def shared_data() -> Callable[[str], Path]:
    """`shared_data("benchmarks/math500_test.jsonl")`: the path in the public data folder,
    or the test skips with the reason (the folder is not part of the repository)."""

    def need(rel: str) -> Path:
        path = shared_data_dir() / rel
        if not path.exists():
            pytest.skip(f"needs {rel} from the shared data folder ({shared_data_dir()}; set THINKLENS_SHARED_DATA)")
        return path

    return need
