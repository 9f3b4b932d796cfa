"""`thinklens benchmarks`: what can be evaluated, with subsets, sizes, grader and data source."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

from ..benchmarks import Benchmark, DatasetArgs, get_benchmark, list_benchmarks, parse_dataset_paths


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "benchmarks",
        help="list the benchmarks, with subsets, sizes, grader and dataset ids",
        description=(
            "List the benchmarks thinklens can evaluate. Sizes are the published ones; "
            "--dataset-path NAME=PATH counts a local copy instead."
        ),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these benchmarks (default: all)")
    parser.add_argument(
        "--dataset-path",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=PATH",
        help="count the samples of a local copy (file, folder or zip); several after one flag, or repeat the flag",
    )
    parser.add_argument("--dataset-password", default=None, metavar="PASSWORD",
                        help="password of zipped data (GPQA's official distribution)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _count(benchmark: Benchmark, path: str, password: str | None) -> dict[str, int]:
    samples = benchmark.load(DatasetArgs(dataset_id=path, password=password))
    counts = Counter(s.subset for s in samples)
    ordered = [s for s in benchmark.subsets if s in counts] + sorted(set(counts) - set(benchmark.subsets))
    return {s: counts[s] for s in ordered}


def describe(benchmarks: list[Benchmark], paths: dict[str, str], password: str | None) -> list[dict[str, Any]]:
    rows = []
    for b in benchmarks:
        counted = _count(b, paths[b.name], password) if b.name in paths else None
        subsets = counted if counted is not None else {s: b.sizes.get(s) for s in b.subsets}
        sizes = list(subsets.values())
        rows.append({
            "name": b.name,
            "aliases": list(b.aliases),
            "description": b.description,
            "grader": b.grader,
            "subsets": subsets,
            "size": sum(sizes) if sizes and None not in sizes else None,
            "hub_id": b.hub_id,
            "hub_config": b.hub_config,
            "hub_verified": b.hub_verified,
            "modelscope_id": b.modelscope_id,
            "split": b.split,
            "counted_from": paths.get(b.name),
        })
    return rows


def run(args: argparse.Namespace) -> int:
    paths = parse_dataset_paths(args.dataset_path)
    if args.names:
        chosen = list(dict.fromkeys(get_benchmark(n).name for n in args.names))
        chosen_benchmarks = [get_benchmark(n) for n in chosen]
    else:
        chosen_benchmarks = list_benchmarks()
    # A path given for a benchmark that is not listed still gets counted (and checked).
    listed = {b.name for b in chosen_benchmarks}
    chosen_benchmarks += [get_benchmark(n) for n in paths if n not in listed]
    rows = describe(chosen_benchmarks, paths, args.dataset_password)

    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0

    from rich.console import Console  # here, not at the top: `thinklens --help` stays light
    from rich.table import Table

    from rich import box

    # Light borders: eight benchmarks with long subset names still fit 80 columns.
    table = Table(title="thinklens benchmarks", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Name", style="bold", no_wrap=True)
    # Long subset names (Minerva's courses) wrap rather than squeeze the other columns.
    table.add_column("Subsets (samples)", min_width=18)
    table.add_column("Samples", justify="right", no_wrap=True)
    table.add_column("Grader", no_wrap=True)
    table.add_column("Hugging Face / ModelScope id \\[split]", overflow="fold")
    for row in rows:
        subsets = "\n".join(f"{name} ({'?' if n is None else n})" for name, n in row["subsets"].items())
        size = "?" if row["size"] is None else str(row["size"])
        if row["counted_from"]:
            size += "\n[dim]counted[/]"
        hubs = row["hub_id"] + f" [dim]\\[{row['split']}][/]" + ("" if row["hub_verified"] else "\n[dim](not verified)[/]")
        hubs += f"\n[dim]{row['modelscope_id']}[/]" if row["modelscope_id"] else ""
        table.add_row(row["name"], subsets, size, row["grader"], hubs)
    console = Console()
    console.print(table)
    for row in rows:
        if row["counted_from"]:
            console.print(f"[dim]{row['name']}: sizes counted from[/] {row['counted_from']}", highlight=False)
    return 0
