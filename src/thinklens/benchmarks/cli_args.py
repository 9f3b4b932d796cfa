"""Parsing `thinklens benchmarks --dataset-path NAME=PATH` (`eval` reads its own --dataset-path
into TaskConfig.dataset_args, in commands/eval_cmd.py)."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import DatasetError
from .registry import get_benchmark


def parse_dataset_paths(values: Iterable[str] | None) -> dict[str, str]:
    """`["math_500=data/m.jsonl", ...]` -> `{"math_500": "data/m.jsonl"}`, names checked and canonical."""
    paths: dict[str, str] = {}
    for value in values or ():
        name, sep, path = value.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise DatasetError(f"--dataset-path expects NAME=PATH (e.g. math_500=data/math500.jsonl), got {value!r}")
        canonical = get_benchmark(name).name  # unknown names fail here, with a did-you-mean
        if canonical in paths:
            raise DatasetError(f"--dataset-path given twice for {canonical}")
        paths[canonical] = path.strip()
    return paths
