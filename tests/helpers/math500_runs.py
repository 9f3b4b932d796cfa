"""Real MATH-500 runs built over HTTP: stored model outputs replayed by `thinklens
mock-server`, evaluated by `run_task` into a run folder (as tests/test_compare.py does)."""

from __future__ import annotations

from pathlib import Path

from thinklens import TaskConfig, run_task
from thinklens.mock_server import MockServerConfig, run_mock_server

from .shared_data import shared_data_dir

DATA = shared_data_dir()
MATH500 = DATA / "benchmarks" / "math500_test.jsonl"
R1_OUTPUTS = [DATA / "model_outputs" / f"meitann_R1-Distill-Qwen-32B_math500_{p}.jsonl"
              for p in ("part1_400", "part2_100")]
QWQ_OUTPUTS = DATA / "model_outputs" / "dongximing_QwQ-32B_math500_idx100-499_seed123.tar.gz"
R1_LABELS = DATA / "model_outputs" / "meitann_R1-Distill-Qwen-32B_math500_minvalidprefix_labels.jsonl"
QWEN2_TOKENIZER = DATA / "tokenizers" / "qwen2"


def have_r1() -> bool:
    return MATH500.exists() and all(p.exists() for p in R1_OUTPUTS)


def rows_file(tmp: Path, name: str, start: int, stop: int) -> Path:
    path = tmp / f"{name}.jsonl"
    lines = MATH500.read_text(encoding="utf-8").splitlines()[start:stop]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def replay_run(outputs: list[Path], model: str, data: Path, out: Path, **dataset_args) -> Path:
    with run_mock_server(MockServerConfig(replay=outputs, tokens_per_chunk=256)) as server:
        run_task(TaskConfig(
            api_url=server.url, model=model, eval_type="service", datasets=["math_500"],
            dataset_args={"math_500": {"dataset_id": str(data), "few_shot_num": 0, **dataset_args}},
            eval_batch_size=64, generation_config={"max_tokens": 32000, "temperature": 0.6, "top_p": 0.95},
            output=str(out), progress=False, retry_backoff=0.01, grading_timeout=60,
        ))
    return out
