"""Local formats, malformed files, caching, archives and the two hubs, on invented data.

The GPQA-like rows here are invented questions, never GPQA's.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

from thinklens.benchmarks import DatasetArgs, get_benchmark
from thinklens.benchmarks import local
from thinklens.benchmarks.gpqa import option_order
from thinklens.errors import DatasetError

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

MATH_ROWS = [
    {"problem": "What is $1+1$?", "answer": "2", "level": 1, "subject": "Prealgebra", "unique_id": "t/1.json"},
    {"problem": "Solve $x^2=4$ for $x>0$.", "answer": "2", "level": 3, "subject": "Algebra", "unique_id": "t/2.json"},
    {"problem": "Compute $\\binom{4}{2}$.", "answer": "6", "level": "Level 1", "subject": "Counting", "unique_id": "t/3.json"},
]

GPQA_HEADER = ["Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3",
               "High-level domain", "Subdomain", "Record ID"]
INVENTED_GPQA = [
    ["Which invented particle carries the zorblat charge?", "the quibbon", "the flimmon", "the gastron", "the nobon",
     "Physics", "Invented physics", "recTEST000000001"],
    ["Which made-up enzyme splits glorbose?", "glorbase", "fizzase", "wumpase", "trillase",
     "Biology", "Invented biology", "recTEST000000002"],
    ["In the fictional reaction, what colour is the\nproduct?", "teal", "mauve", "ochre", "cerise",
     "Chemistry", "Invented chemistry", "recTEST000000003"],
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def load(name: str, path: Path | str, **kw) -> list:
    return get_benchmark(name).load({"dataset_id": str(path), **kw})


# ----------------------------------------------------------------------------- formats


def test_jsonl_json_and_csv_give_the_same_samples(tmp_path):
    from_jsonl = load("math_500", write_jsonl(tmp_path / "m.jsonl", MATH_ROWS))
    (tmp_path / "list.json").write_text(json.dumps(MATH_ROWS))
    (tmp_path / "wrapped.json").write_text(json.dumps({"data": MATH_ROWS}))
    header = list(MATH_ROWS[0])
    write_csv(tmp_path / "m.csv", header, [[str(r[k]) for k in header] for r in MATH_ROWS])
    for other in ("list.json", "wrapped.json", "m.csv"):
        samples = load("math_500", tmp_path / other)
        assert [(s.id, s.subset, s.gold, s.messages) for s in samples] == [
            (s.id, s.subset, s.gold, s.messages) for s in from_jsonl
        ], other
    assert [s.subset for s in from_jsonl] == ["Level 1", "Level 3", "Level 1"]
    assert from_jsonl[1].messages[0]["content"] == "Solve $x^2=4$ for $x>0$.\n" + INSTRUCTION


def test_parquet_when_pyarrow_is_installed(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="pyarrow not installed (optional extra thinklens[parquet])")
    import pyarrow.parquet as pq

    rows = [{"question": "Tom has 3 apples and buys 4. How many?", "answer": "3 + 4 = 7\n#### 7"},
            {"question": "A box holds 1,000 pins; 1 is lost. How many are left?", "answer": "#### 999"}]
    (tmp_path / "main").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "main" / "test-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pylist(rows[:1]), tmp_path / "main" / "train-00000-of-00001.parquet")
    samples = load("gsm8k", tmp_path)  # a local clone of openai/gsm8k: picks main/test
    assert [s.gold for s in samples] == ["7", "999"]


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    (tmp_path / "test.parquet").write_bytes(b"PAR1 not really parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(DatasetError, match=r"test\.parquet: reading Parquet needs pyarrow: pip install 'thinklens\[parquet\]'"):
        load("math_500", tmp_path / "test.parquet")


def test_field_names_match_loosely_and_boxed_solutions_give_the_gold(tmp_path):
    rows = [{"Question": "Find $y$ if $2y=8$.", "Solution": "Divide: $y=\\boxed{4}$."}]
    [sample] = load("math_500", write_jsonl(tmp_path / "full_math.jsonl", rows))
    assert sample.gold == "4" and sample.subset == "default"  # no level field: the fallback subset
    rows = [{"problem": "p", "answer": "\\boxed{\\frac{1}{2}}"}]
    assert load("math_500", write_jsonl(tmp_path / "b.jsonl", rows))[0].gold == "\\frac{1}{2}"


def test_instruction_already_in_the_prompt_is_not_repeated(tmp_path):
    rows = [{"prompt": "Find the remainder of 7 by 4.\n" + INSTRUCTION, "answer": 3}]
    [sample] = load("aime24", write_jsonl(tmp_path / "aime.jsonl", rows))
    assert sample.messages[0]["content"] == "Find the remainder of 7 by 4.\n" + INSTRUCTION
    assert sample.gold == "3" and sample.meta["problem"] == "Find the remainder of 7 by 4."


def test_prompt_template_override(tmp_path):
    path = write_jsonl(tmp_path / "m.jsonl", MATH_ROWS[:1])
    [plain] = load("math_500", path, prompt_template="Q: {question}\nA:")
    assert plain.messages[0]["content"] == "Q: What is $1+1$?\nA:"
    [evalscope_style] = load("math_500", path, prompt_template="{question}\nPut it in \\boxed{{}}.")
    assert evalscope_style.messages[0]["content"] == "What is $1+1$?\nPut it in \\boxed{}."
    with pytest.raises(DatasetError, match=r"must contain \{question\}"):
        load("math_500", path, prompt_template="no question here")
    with pytest.raises(DatasetError, match=r"unknown placeholder\(s\) \{answer\}"):
        load("math_500", path, prompt_template="{question} {answer} \\boxed{{}}")


def test_duplicate_ids_are_made_unique_deterministically(tmp_path):
    rows = [{"id": "7", "problem": "a", "answer": "1"}, {"id": "7", "problem": "b", "answer": "2"},
            {"problem": "c", "answer": "3"}, {"problem": "c", "answer": "3"}]
    ids = [s.id for s in load("aime24", write_jsonl(tmp_path / "a.jsonl", rows))]
    assert ids[:2] == ["7", "7#2"] and ids[3] == ids[2] + "#2" and len(set(ids)) == 4


def test_gsm8k_gold_variants(tmp_path):
    rows = [{"question": "q1", "answer": "work\n#### 1,234"}, {"question": "q2", "answer": "#### -5"},
            {"question": "q3", "answer": "42"}, {"question": "q4", "answer": "#### $3.50"}]
    assert [s.gold for s in load("gsm8k", write_jsonl(tmp_path / "g.jsonl", rows))] == ["1234", "-5", "42", "3.50"]
    with pytest.raises(DatasetError, match=r"g2\.jsonl, line 1: the answer has no final '#### N' line"):
        load("gsm8k", write_jsonl(tmp_path / "g2.jsonl", [{"question": "q", "answer": "about seven"}]))


def test_aime_gold_must_be_an_integer(tmp_path):
    path = write_jsonl(tmp_path / "aime.jsonl", [{"problem": "p", "answer": "023"}, {"problem": "q", "answer": "1/2"}])
    with pytest.raises(DatasetError, match=r"aime\.jsonl, line 2: answer '1/2' is not an integer"):
        load("aime24", path)
    # with a limit only the records needed are read (a large file is streamed): the bad
    # record after them is never parsed; without one, every record is validated
    assert [s.gold for s in load("aime24", path, limit=1)] == ["023"]
    with pytest.raises(DatasetError, match="not an integer"):
        load("aime24", path, limit=2)
    ok = write_jsonl(tmp_path / "ok.jsonl", [{"problem": "p", "answer": "023"}, {"problem": "q", "answer": 7}])
    assert [s.gold for s in load("aime24", ok)] == ["023", "7"]


# ----------------------------------------------------------------------------- malformed files


def test_malformed_jsonl_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"problem": "a", "answer": "1"}\n\n{"problem": "b", "answer": \n')
    with pytest.raises(DatasetError, match=r"bad\.jsonl, line 3: invalid JSON"):
        load("math_500", path)
    path.write_text('{"problem": "a", "answer": "1"}\n["not", "an", "object"]\n')
    with pytest.raises(DatasetError, match=r"bad\.jsonl, line 2: expected a JSON object, got list"):
        load("math_500", path)


def test_malformed_json_and_csv(tmp_path):
    (tmp_path / "bad.json").write_text('[\n  {"problem": "a", "answer": "1"},\n  {"problem": }\n]')
    with pytest.raises(DatasetError, match=r"bad\.json, line 3: invalid JSON"):
        load("math_500", tmp_path / "bad.json")
    (tmp_path / "shape.json").write_text('{"rows": []}')
    with pytest.raises(DatasetError, match=r"expected a JSON list of records"):
        load("math_500", tmp_path / "shape.json")
    # a quoted field spanning two lines, then a row with one field too many on line 5
    (tmp_path / "bad.csv").write_text('problem,answer\n"two\nlines",1\nok,2\nextra,3,oops\n')
    with pytest.raises(DatasetError, match=r"bad\.csv, line 5: 3 fields but the header has 2"):
        load("math_500", tmp_path / "bad.csv")
    (tmp_path / "short.csv").write_text("problem,answer,level\nq,1,2\nonly-one\n")
    with pytest.raises(DatasetError, match=r"short\.csv, line 3: 1 fields but the header has 3"):
        load("math_500", tmp_path / "short.csv")


def test_not_utf8_names_the_line(tmp_path):
    (tmp_path / "latin.jsonl").write_bytes(b'{"problem": "a", "answer": "1"}\n{"problem": "caf\xe9", "answer": "2"}\n')
    with pytest.raises(DatasetError, match=r"latin\.jsonl, line 2: not UTF-8"):
        load("math_500", tmp_path / "latin.jsonl")


def test_missing_field_names_it_and_the_fields_found(tmp_path):
    path = write_jsonl(tmp_path / "m.jsonl", [{"problem": "a", "answer": "1"}, {"problem": "b", "result": "2", "level": 2}])
    with pytest.raises(DatasetError) as err:
        load("math_500", path)
    msg = str(err.value)
    assert "m.jsonl, line 2: missing answer field 'answer' or 'solution'" in msg
    assert "Fields found: 'problem', 'result', 'level'" in msg


def test_gpqa_missing_option_column(tmp_path):
    header = [h for h in GPQA_HEADER if h != "Incorrect Answer 3"]
    rows = [[c for h, c in zip(GPQA_HEADER, row) if h != "Incorrect Answer 3"] for row in INVENTED_GPQA]
    path = write_csv(tmp_path / "gpqa_diamond.csv", header, rows)
    with pytest.raises(DatasetError, match=r"gpqa_diamond\.csv, line 2: missing option field 'Incorrect Answer 3'"):
        load("gpqa", path)


@pytest.mark.parametrize(
    "make, fragment",
    [(lambda p: p / "nope.jsonl", "no such file or folder"),
     (lambda p: (p / "notes.txt").write_text("x") and p / "notes.txt", "unsupported file type"),
     (lambda p: (p / "empty").mkdir() or p / "empty", "holds no data files"),
     (lambda p: (p / "broken.zip").write_bytes(b"PK\x03\x04junk") and p / "broken.zip", "not a valid zip archive"),
     (lambda p: (p / "empty.jsonl").write_text("\n\n") and p / "empty.jsonl", "no records found")],
)
def test_bad_paths(tmp_path, make, fragment):
    with pytest.raises(DatasetError, match=fragment):
        load("math_500", make(tmp_path))


def test_few_shot_is_refused_clearly(tmp_path):
    with pytest.raises(DatasetError, match="few-shot prompting is not available"):
        load("gsm8k", write_jsonl(tmp_path / "g.jsonl", [{"question": "q", "answer": "#### 1"}]), few_shot_num=4)


# ----------------------------------------------------------------------------- folders and archives


def test_folder_picks_the_benchmark_files_in_natural_order(tmp_path):
    write_jsonl(tmp_path / "math500_test.jsonl", MATH_ROWS)
    write_jsonl(tmp_path / "math500_train.jsonl", [{"problem": "train only", "answer": "0"}])
    write_jsonl(tmp_path / "gsm8k_test.jsonl", [{"question": "q", "answer": "#### 1"}])
    (tmp_path / ".cache").mkdir()
    write_jsonl(tmp_path / ".cache" / "math500_test.jsonl", [{"problem": "hidden", "answer": "0"}])
    assert [s.id for s in load("math_500", tmp_path)] == ["t/1.json", "t/2.json", "t/3.json"]
    assert len(load("gsm8k", tmp_path)) == 1
    parts = tmp_path / "parts"
    parts.mkdir()
    write_jsonl(parts / "aime25_II.jsonl", [{"id": "II-1", "problem": "second exam", "answer": "2"}])
    write_jsonl(parts / "aime25_I.jsonl", [{"problem": "first exam", "answer": "1"}])
    samples = load("aime25", parts)
    assert [(s.subset, s.gold) for s in samples] == [("AIME2025-I", "1"), ("AIME2025-II", "2")]


def test_zip_members_read_in_memory_and_chosen_by_name(tmp_path):
    archive = tmp_path / "bundle.zip"
    buf = io.StringIO()
    csv.writer(buf).writerows([GPQA_HEADER, *INVENTED_GPQA])
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("dataset/gpqa_diamond.csv", buf.getvalue())
        zf.writestr("dataset/gpqa_diamond_formatted.jsonl", json.dumps({"Question": "x", "Answer": "y"}) + "\n")
        zf.writestr("dataset/license.txt", "CC BY 4.0")
    before = sorted(p.name for p in tmp_path.iterdir())
    samples = load("gpqa", archive)
    assert len(samples) == 3 and samples[0].meta["source"] == "bundle.zip!dataset/gpqa_diamond.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing extracted
    with zipfile.ZipFile(tmp_path / "nodata.zip", "w") as zf:
        zf.writestr("readme.md", "nothing")
    with pytest.raises(DatasetError, match="holds no data files"):
        load("gpqa", tmp_path / "nodata.zip")


@pytest.mark.skipif(shutil.which("zip") is None, reason="the `zip` tool is needed to make an encrypted archive")
def test_password_zip_of_invented_rows(tmp_path):
    write_csv(tmp_path / "gpqa_diamond.csv", GPQA_HEADER, INVENTED_GPQA)
    subprocess.run(["zip", "-q", "-P", "s3cret-pw", "gpqa.zip", "gpqa_diamond.csv"], cwd=tmp_path, check=True)
    (tmp_path / "gpqa_diamond.csv").unlink()
    samples = load("gpqa", tmp_path / "gpqa.zip", password="s3cret-pw")
    assert [s.id for s in samples] == ["recTEST000000001", "recTEST000000002", "recTEST000000003"]
    with pytest.raises(DatasetError, match="password-protected"):
        load("gpqa", tmp_path / "gpqa.zip")
    with pytest.raises(DatasetError) as err:
        load("gpqa", tmp_path / "gpqa.zip", password="guess")
    assert "wrong password" in str(err.value) and "guess" not in str(err.value)


# ----------------------------------------------------------------------------- GPQA-like prompts


def test_gpqa_prompt_gold_and_repeats_on_invented_rows(tmp_path):
    bench = get_benchmark("gpqa")
    samples = load("gpqa", write_csv(tmp_path / "gpqa_diamond.csv", GPQA_HEADER, INVENTED_GPQA))
    first = samples[0]
    order = option_order("Which invented particle carries the zorblat charge?", 0)
    options = ["the quibbon", "the flimmon", "the gastron", "the nobon"]
    assert first.meta["choices"] == tuple(options[i] for i in order)
    assert first.gold == "ABCD"[order.index(0)]
    expected = (
        "Answer the following multiple choice question. The last line of your response should be of the "
        "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of A,B,C,D. "
        "Think step by step before answering.\n\nWhich invented particle carries the zorblat charge?\n\n"
        + "\n".join(f"{letter}) {options[i]}" for letter, i in zip("ABCD", order))
    )
    assert first.messages == [{"role": "user", "content": expected}]
    assert (first.meta["domain"], first.meta["subdomain"], first.subset) == ("Physics", "Invented physics", "gpqa_diamond")
    assert samples[2].meta["problem"] == "In the fictional reaction, what colour is the\nproduct?"  # CSV multi-line cell
    orders = {tuple(bench.for_repeat(first, r).meta["choices"]) for r in range(8)}
    assert len(orders) >= 4  # repeats see different orders
    for r in range(8):
        shown = bench.for_repeat(first, r)
        assert shown.meta["choices"]["ABCD".index(shown.gold)] == "the quibbon"
        assert shown.meta["repeat"] == r and shown.id == first.id


def test_gpqa_custom_template_survives_repeats(tmp_path):
    bench = get_benchmark("gpqa")
    path = write_csv(tmp_path / "gpqa_diamond.csv", GPQA_HEADER, INVENTED_GPQA)
    [sample] = load("gpqa", path, prompt_template="Q: {question}\nOptions:\n{choices}\nReply ANSWER: X", limit=1)
    again = bench.for_repeat(sample, 3)
    assert again.messages[0]["content"].startswith("Q: Which invented particle carries the zorblat charge?\nOptions:\nA) ")
    assert again.messages[0]["content"].endswith("\nReply ANSWER: X")
    with pytest.raises(DatasetError, match=r"must contain \{choices\}"):
        load("gpqa", path, prompt_template="Q: {question}")


def test_option_order_is_a_stable_permutation():
    assert option_order("q", 0) == option_order("q", 0)
    assert sorted(option_order("q", 5)) == [0, 1, 2, 3]
    # fixed by sha256, not by the interpreter: the same on every machine and Python
    assert option_order("Which invented particle carries the zorblat charge?", 0) == option_order(
        "Which invented particle carries the zorblat charge?", 0
    )
    firsts = {option_order(f"question {i}", 0)[0] for i in range(200)}
    assert firsts == {0, 1, 2, 3}


def test_option_order_same_in_a_fresh_interpreter():
    code = "from thinklens.benchmarks.gpqa import option_order; print(option_order('abc', 2))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONHASHSEED": "12345"})
    assert out.stdout.strip() == str(option_order("abc", 2))


# ----------------------------------------------------------------------------- cache


def test_parsed_files_are_cached_until_the_file_changes(tmp_path, monkeypatch):
    calls = []
    real = local._PARSERS[".jsonl"]
    monkeypatch.setitem(local._PARSERS, ".jsonl", lambda data, display: calls.append(display) or real(data, display))
    path = write_jsonl(tmp_path / "math500.jsonl", MATH_ROWS)
    assert len(load("math_500", path)) == 3
    assert len(load("math_500", path, subset_list=["Level 1"])) == 2
    assert calls == ["math500.jsonl"]  # parsed once
    write_jsonl(path, MATH_ROWS[:2])  # new size and mtime: parsed again
    assert len(load("math_500", path)) == 2
    assert len(calls) == 2


# ----------------------------------------------------------------------------- hubs


def _fake_hf_cache(cache: Path, repo_id: str, files: dict[str, str]) -> None:
    """The Hugging Face cache layout as huggingface_hub writes it (refs/main -> snapshots/<commit>/...)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = cache / ("datasets--" + repo_id.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    for rel, text in files.items():
        target = repo_dir / "snapshots" / commit / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_hugging_face_hub_from_the_cache_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _fake_hf_cache(tmp_path, "HuggingFaceH4/MATH-500", {"test.jsonl": "".join(json.dumps(r) + "\n" for r in MATH_ROWS)})
    samples = get_benchmark("math_500").load(DatasetArgs(cache_dir=str(tmp_path), subset_list=["Level 3"]))
    assert [s.id for s in samples] == ["t/2.json"]
    assert samples[0].meta["source"] == "HuggingFaceH4/MATH-500/test.jsonl"
    # another repo named by dataset_id: its split's files are found like a folder's
    _fake_hf_cache(tmp_path, "someone/aime-copy", {
        "data/test.jsonl": json.dumps({"problem": "p", "answer": "5"}) + "\n",
        "data/train.jsonl": json.dumps({"problem": "t", "answer": "6"}) + "\n",
    })
    assert [s.gold for s in load("aime24", "someone/aime-copy", cache_dir=str(tmp_path))] == ["5"]


def test_hugging_face_hub_not_cached_offline_explains(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DatasetError) as err:
        get_benchmark("gsm8k").load(DatasetArgs(cache_dir=str(tmp_path)))
    msg = str(err.value)
    assert "openai/gsm8k" in msg and "not in the cache" in msg and "--dataset-path" in msg


def test_path_like_ids_are_never_sent_to_the_hub(tmp_path):
    with pytest.raises(DatasetError, match="no such file or folder"):
        load("math_500", "data/math500_test.jsonl")


def test_modelscope_missing_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "modelscope", None)
    monkeypatch.setitem(sys.modules, "modelscope.msdatasets", None)
    with pytest.raises(DatasetError, match=r"pip install 'thinklens\[modelscope\]'"):
        get_benchmark("math_500").load({"hub": "modelscope"})


def test_modelscope_loads_each_config_as_a_subset(monkeypatch, tmp_path):
    calls = []

    class FakeMsDataset:  # stands in for modelscope (not installable offline); records how it is called
        @staticmethod
        def load(dataset_id, subset_name, split, cache_dir=None):
            calls.append((dataset_id, subset_name, split, cache_dir))
            part = subset_name.rsplit("-", 1)[1]
            return [{"question": f"Problem {part}-{i}", "answer": str(i)} for i in (1, 2)]

    package = types.ModuleType("modelscope")
    submodule = types.ModuleType("modelscope.msdatasets")
    submodule.MsDataset = FakeMsDataset
    monkeypatch.setitem(sys.modules, "modelscope", package)
    monkeypatch.setitem(sys.modules, "modelscope.msdatasets", submodule)

    samples = get_benchmark("aime25").load({"hub": "modelscope", "cache_dir": str(tmp_path)})
    assert calls == [("opencompass/AIME2025", "AIME2025-I", "test", str(tmp_path)),
                     ("opencompass/AIME2025", "AIME2025-II", "test", str(tmp_path))]
    assert [(s.subset, s.gold) for s in samples] == [("AIME2025-I", "1"), ("AIME2025-I", "2"),
                                                      ("AIME2025-II", "1"), ("AIME2025-II", "2")]
    calls.clear()
    only_two = get_benchmark("aime25").load({"hub": "modelscope", "subset_list": ["AIME2025-II"]})
    assert [c[1] for c in calls] == ["AIME2025-II"] and len(only_two) == 2


# ----------------------------------------------------------------------------- large files

_PEAK_SCRIPT = """
import json, sys, time, tracemalloc
from thinklens.benchmarks import get_benchmark
tracemalloc.start()
t0 = time.perf_counter()
samples = get_benchmark("math_500").load({"local_path": sys.argv[1], "limit": 3})
print(json.dumps({"n": len(samples), "ids": [s.id for s in samples], "seconds": time.perf_counter() - t0,
                  "peak_mb": tracemalloc.get_traced_memory()[1] / 2**20}))
"""


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_limit_reads_only_the_rows_it_needs_from_a_large_file(fmt, tmp_path):
    """A ~80 MB file with limit 3: streamed, so a fraction of a second and a few MB, not the
    whole file in memory (measured in a fresh interpreter)."""
    filler = "Compute the value of the expression below, step by step. " * 160  # ~9 kB per row
    n = 9000
    path = tmp_path / f"large.{fmt}"
    if fmt == "jsonl":
        with open(path, "w") as fh:
            for i in range(n):
                fh.write(json.dumps({"problem": f"{filler} ({i})", "answer": str(i), "level": 1,
                                     "unique_id": f"big/{i}"}) + "\n")
    elif fmt == "csv":
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["problem", "answer", "level", "unique_id"])
            for i in range(n):
                writer.writerow([f"{filler} ({i})", str(i), 1, f"big/{i}"])
    else:
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        with pq.ParquetWriter(path, pa.schema([("problem", pa.string()), ("answer", pa.string()),
                                               ("level", pa.int64()), ("unique_id", pa.string())])) as writer:
            for start in range(0, n, 500):  # many row groups: only the first is needed
                rows = range(start, min(n, start + 500))
                writer.write_table(pa.table({"problem": [f"{filler} ({i})" for i in rows],
                                             "answer": [str(i) for i in rows], "level": [1] * len(rows),
                                             "unique_id": [f"big/{i}" for i in rows]}))
    assert path.stat().st_size > 50 * 2**20 or fmt == "parquet"  # parquet compresses the filler
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[1] / "src"),
                                                                    os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(path)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["n"] == 3 and result["ids"] == ["big/0", "big/1", "big/2"]
    assert result["peak_mb"] < 20, result  # whole-file reading peaks at several times the file size
    assert result["seconds"] < 5, result  # generous: a shared machine; whole-file reading takes ~10 s
