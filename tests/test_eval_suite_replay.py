"""The reasoning suite end to end: SkyThought's real outputs on AMC23, Minerva Math and
OlympiadBench replayed by the mock server through a real `thinklens eval`.

The per-benchmark accuracy of the run must equal grading the same outputs directly (the
split of the SkyThought format done independently, in tests/helpers/realdata.py), and
the report has a row per subset and OVERALL for each benchmark.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from thinklens import TaskConfig, run_task
from thinklens.grading import GradingPool
from thinklens.mock_server import MockServerConfig, run_mock_server
from tests.helpers.realdata import SKYTHOUGHT_FILES, SKYTHOUGHT_MODELS, skythought_cases
from tests.helpers.shared_data import shared_data_dir

DATA = shared_data_dir()
pytestmark = pytest.mark.skipif(
    not all((DATA / o).exists() and (DATA / b).exists() for o, b in SKYTHOUGHT_FILES.values()),
    reason=f"needs the SkyThought outputs and the suite's benchmark files under {DATA} (set THINKLENS_SHARED_DATA)",
)


def _direct(model: str) -> dict[str, tuple[float, float, int]]:
    """benchmark -> (thinklens accuracy graded directly, the file's score mean, n)."""
    by_bench: dict[str, list] = defaultdict(list)
    for (m, bench) in SKYTHOUGHT_FILES:
        if m == model:
            by_bench[bench] = list(skythought_cases(DATA, only=(m, bench)))
    out = {}
    with GradingPool(workers=2, timeout=60) as pool:
        for bench, cases in by_bench.items():
            scores = pool.grade_many([c.request for c in cases])
            ours = sum(1 for s in scores if s.correct) / len(cases)
            theirs = sum(c.meta["qwen_score"] for c in cases) / len(cases)
            out[bench] = (ours, theirs, len(cases))
    return out


@pytest.mark.parametrize("model", ["skyt1gemma", "qwen14b"])
def test_replayed_skythought_outputs_give_the_directly_graded_accuracy(model, tmp_path) -> None:
    files = {b: (DATA / o, DATA / bf) for (m, b), (o, bf) in SKYTHOUGHT_FILES.items() if m == model}
    with run_mock_server(MockServerConfig(replay=[o for o, _ in files.values()], tokens_per_chunk=256)) as server:
        result = run_task(TaskConfig(
            api_url=server.url, model=SKYTHOUGHT_MODELS[model], eval_type="service", datasets=list(files),
            dataset_args={b: {"dataset_id": str(bf)} for b, (_, bf) in files.items()},
            eval_batch_size=64, generation_config={"max_tokens": 16000, "temperature": 0.0},
            output=str(tmp_path / "run"), progress=False, grading_timeout=60, grading_workers=2,
        ))
    assert result.failed == 0
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    direct = _direct(model)
    for bench, (ours, theirs, n) in direct.items():
        rows = {r["subset"]: r for r in report["rows"] if r["dataset"] == bench and r["metric"] == "AveragePass@1"}
        assert rows["OVERALL"]["num"] == n
        assert rows["OVERALL"]["score"] == pytest.approx(ours, abs=1e-4), bench
        assert len(rows) > 2  # per-subset rows (exam, course, subfield) and OVERALL
        print(f"{model} {bench}: thinklens {ours:.4f} (replayed {rows['OVERALL']['score']:.4f}), "
              f"file score {theirs:.4f}, n={n}")
