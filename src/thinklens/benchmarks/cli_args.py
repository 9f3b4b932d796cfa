"""Parsing `thinklens benchmarks --dataset-path NAME=PATH` (`eval` reads its own --dataset-path
into TaskConfig.dataset_args, in commands/eval_cmd.py)."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import DatasetError
from .registry import get_benchmark


def parse_dataset_paths(values: Iterable[str] | None) -> dict[str, str]:
    """`["math_500=data/m.jsonl", ...]` -> `{"math_500": "data/m.jsonl"}`, names checked and canonical."""
    return parse_dataset_pairs(values, "--dataset-path", "NAME=PATH (e.g. math_500=data/math500.jsonl)")


def parse_dataset_pairs(values: Iterable[str] | None, flag: str, shape: str) -> dict[str, str]:
    """`NAME=VALUE` flags keyed by dataset (`--dataset-path`, `--dataset-password`): names
    checked and canonical (`math500=...` is math_500's), each dataset at most once."""
    pairs: dict[str, str] = {}
    for item in values or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise DatasetError(f"{flag} expects {shape}, got {item!r}")
        canonical = get_benchmark(name).name  # unknown names fail here, with a did-you-mean
        if canonical in pairs:
            raise DatasetError(f"{flag} given twice for {canonical}")
        pairs[canonical] = value.strip()
    return pairs
