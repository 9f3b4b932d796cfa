"""The grader registry: `grading/kinds/<name>.py` defines ``GRADER``; nothing else lists graders.

`grader_names()` reads the folder (no import: `thinklens grade --help` stays light);
`get_grader(name)` imports the one module asked for.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from . import kinds

if TYPE_CHECKING:  # pragma: no cover
    from .grader import Grader

_lock = threading.Lock()
_loaded: dict[str, "Grader"] = {}


@lru_cache(maxsize=1)
def grader_names() -> tuple[str, ...]:
    return tuple(sorted(m.name for m in pkgutil.iter_modules(kinds.__path__) if not m.name.startswith("_")))


def get_grader(name: str) -> "Grader":
    grader = _loaded.get(name)
    if grader is not None:
        return grader
    if name not in grader_names():
        raise ValueError(f"unknown grader {name!r}; expected one of {', '.join(grader_names())}")
    with _lock:
        grader = importlib.import_module(f"{kinds.__name__}.{name}").GRADER
        if grader.name != name:
            raise ValueError(f"grader module {name} declares the name {grader.name!r}")
        _loaded[name] = grader
    return grader


def all_graders() -> list["Grader"]:
    return [get_grader(n) for n in grader_names()]


def gold_info_of(meta: Mapping[str, Any], grader: str) -> dict[str, Any]:
    """The fields of a sample's meta that `grader` declares it needs (`Grader.gold_fields`)."""
    return {f: meta[f] for f in get_grader(grader).gold_fields if meta.get(f) is not None}
