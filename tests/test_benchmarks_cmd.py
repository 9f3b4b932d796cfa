"""`thinklens benchmarks`: the listing, counting a local copy, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from thinklens.cli import main


def test_json_listing_through_the_console_script_entry():
    out = subprocess.run([sys.executable, "-m", "thinklens", "benchmarks", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert sorted(rows) == ["aime24", "aime25", "amc23", "gpqa", "gsm8k", "math_500", "minerva_math", "olympiadbench"]
    assert rows["math_500"]["subsets"] == {"Level 1": 43, "Level 2": 90, "Level 3": 105, "Level 4": 128, "Level 5": 134}
    assert rows["math_500"]["size"] == 500 and rows["math_500"]["grader"] == "math"
    assert rows["gpqa"]["hub_id"] == "Idavidrein/gpqa" and rows["gpqa"]["subsets"] == {"gpqa_diamond": 198}
    assert rows["aime25"]["subsets"] == {"AIME2025-I": 15, "AIME2025-II": 15}
    assert rows["gsm8k"]["modelscope_id"] == "AI-ModelScope/gsm8k" and rows["gsm8k"]["counted_from"] is None


def test_table_lists_every_benchmark(capsys):
    assert main(["benchmarks"]) == 0
    out = capsys.readouterr().out
    for text in ("math_500", "Level 5 (134)", "aime24", "AIME2025-II (15)", "gpqa_diamond (198)", "gsm8k",
                 "main (1319)", "integer", "choice", "HuggingFaceH4/MA"):
        assert text in out


def test_counting_a_local_copy(tmp_path, capsys):
    data = tmp_path / "mini.jsonl"
    data.write_text("".join(json.dumps({"problem": f"p{i}", "answer": "1", "level": lvl}) + "\n"
                            for i, lvl in enumerate([1, 1, 3])))
    assert main(["benchmarks", "math500", "--dataset-path", f"math_500={data}", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["subsets"] == {"Level 1": 2, "Level 3": 1} and row["size"] == 3 and row["counted_from"] == str(data)
    assert main(["benchmarks", "--dataset-path", f"math_500={data}"]) == 0
    out = capsys.readouterr().out
    assert "Level 3 (1)" in out and "counted" in out and "mini.jsonl" in out


def test_counting_the_real_gpqa_zip(capsys, shared_data):
    zipped = shared_data("benchmarks/gpqa_diamond.zip")
    code = main(["benchmarks", "gpqa", "--dataset-path", f"gpqa={zipped}",
                 "--dataset-password", "deserted-untie-orchid", "--json"])
    assert code == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["subsets"] == {"gpqa_diamond": 198}


@pytest.mark.parametrize(
    "argv, fragment",
    [(["benchmarks", "math5"], "Did you mean 'math_500'?"),
     (["benchmarks", "--dataset-path", "math_500"], "NAME=PATH"),
     (["benchmarks", "--dataset-path", "gsm8k=/no/such/file.jsonl"], "no such file or folder")],
)
def test_bad_input_exits_2_with_a_message(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error:" in err and fragment in " ".join(err.split())
