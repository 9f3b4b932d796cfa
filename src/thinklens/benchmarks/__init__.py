"""Benchmarks: the registry, one small module per benchmark, and dataset loading.

    from thinklens.benchmarks import DatasetArgs, get_benchmark
    bench = get_benchmark("math_500")
    samples = bench.load(DatasetArgs(subset_list=["Level 5"], limit=10))
    # a local copy (EvalScope semantics: dataset_id is a hub id or a path)
    samples = get_benchmark("gpqa").load({"dataset_id": "gpqa_diamond.zip", "password": "..."})
    second_try = bench.for_repeat(samples[0], 1)   # GPQA: options reshuffled for repeat 1
"""

from __future__ import annotations

from .args import DatasetArgs
from .base import Benchmark
from .cli_args import parse_dataset_paths
from .registry import get_benchmark, list_benchmarks, register

__all__ = [
    "Benchmark",
    "DatasetArgs",
    "get_benchmark",
    "list_benchmarks",
    "parse_dataset_paths",
    "register",
]
