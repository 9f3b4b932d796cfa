"""The benchmark registry: names (and aliases) -> `Benchmark`."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import threading
from functools import lru_cache

from ..errors import DatasetError
from .base import Benchmark

# The modules of this package that are machinery, not benchmarks.  Every other module
# defines BENCHMARK: adding a benchmark is one ~20-line module, listed nowhere else.
_MACHINERY = frozenset({"aime", "args", "base", "cli_args", "hub", "local", "prompts", "registry", "rows"})


@lru_cache(maxsize=1)
def builtin_modules() -> tuple[str, ...]:
    """The benchmark modules of this package, read from the folder (nothing imported)."""
    return tuple(sorted(m.name for m in pkgutil.iter_modules(_package_path())
                        if not m.name.startswith("_") and m.name not in _MACHINERY))


def _package_path() -> list[str]:
    import thinklens.benchmarks as package

    return list(package.__path__)

_registry: dict[str, Benchmark] = {}
_aliases: dict[str, str] = {}
_lock = threading.Lock()
_loaded = False


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register(benchmark: Benchmark, *, replace: bool = False) -> Benchmark:
    """Add a benchmark (a user's own, too); its name and aliases must be new unless `replace`."""
    _ensure_builtins()
    with _lock:
        names = [_key(benchmark.name), *(_key(a) for a in benchmark.aliases)]
        if not replace:
            taken = [n for n in names if n in _registry or n in _aliases]
            if taken:
                raise ValueError(f"benchmark name(s) already registered: {', '.join(taken)}")
        _registry[_key(benchmark.name)] = benchmark
        for alias in benchmark.aliases:
            _aliases[_key(alias)] = _key(benchmark.name)
    return benchmark


def _ensure_builtins() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        for module in builtin_modules():
            benchmark: Benchmark = importlib.import_module(f"{__package__}.{module}").BENCHMARK
            _registry[_key(benchmark.name)] = benchmark
            for alias in benchmark.aliases:
                _aliases[_key(alias)] = _key(benchmark.name)
        _loaded = True


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called `name` (case-insensitive; aliases such as `gpqa_diamond` accepted)."""
    _ensure_builtins()
    key = _key(str(name))
    key = _aliases.get(key, key)
    benchmark = _registry.get(key)
    if benchmark is not None:
        return benchmark
    names = sorted(_registry)
    close = difflib.get_close_matches(key, names + sorted(_aliases), n=1, cutoff=0.6)
    hint = f" Did you mean {_aliases.get(close[0], close[0])!r}?" if close else ""
    raise DatasetError(f"unknown dataset {name!r}.{hint} Available: {', '.join(names)}")


def list_benchmarks() -> list[Benchmark]:
    """All registered benchmarks, sorted by name."""
    _ensure_builtins()
    return [_registry[k] for k in sorted(_registry)]
