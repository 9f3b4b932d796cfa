"""Config validation decides names and types once: dataset aliases are canonical
everywhere, and numbers are numbers (a YAML `true` is not 1).  Invented questions only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from thinklens import TaskConfig, run_task
from thinklens.cli import main
from thinklens.config import make_config
from thinklens.errors import ConfigError
from thinklens.mock_server import MockServerConfig, run_mock_server


def _tiny_math(path: Path, n: int = 3) -> Path:
    rows = [{"problem": f"What is {i} + {i}?", "answer": str(2 * i), "level": 1 + i % 2, "subject": "Algebra",
             "unique_id": f"alias/{i}.json"} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def server():
    with run_mock_server(MockServerConfig(answer=r"\boxed{2}", tokens=20)) as handle:
        yield handle


def _report(run_dir: Path) -> dict:
    return json.loads((run_dir / "report.json").read_text())


def test_alias_dataset_name_reports_its_rows(server, tmp_path):
    data = _tiny_math(tmp_path / "tiny.jsonl")
    result = run_task(TaskConfig(api_url=server.url, model="m", datasets=["math500"],
                                 dataset_args={"math500": {"local_path": str(data)}}, progress=False,
                                 output=str(tmp_path / "run")))
    assert result.requests_sent == 3
    overall = [r for r in _report(tmp_path / "run")["rows"] if r["subset"] == "OVERALL"]
    assert [(r["dataset"], r["num"]) for r in overall] == [("math_500", 3)]
    assert result.report.score("math_500", "OVERALL") == pytest.approx(1 / 3, abs=1e-3)


def test_alias_on_the_command_line_matches_the_canonical_name(server, tmp_path):
    data = _tiny_math(tmp_path / "tiny.jsonl")
    base = ["eval", "--api-url", server.url, "--model", "m", "--no-progress"]
    assert main([*base, "--datasets", "math500", "--dataset-path", f"MATH-500={data}",
                 "--output", str(tmp_path / "alias")]) == 0
    assert main([*base, "--datasets", "math_500", "--dataset-path", f"math_500={data}",
                 "--output", str(tmp_path / "canonical")]) == 0
    assert _report(tmp_path / "alias")["rows"] == _report(tmp_path / "canonical")["rows"]
    assert _report(tmp_path / "alias")["rows"]


def test_aliases_are_canonical_in_the_config():
    c = make_config(dict(model="m", api_url="http://127.0.0.1:9/v1", datasets=["math500", "math_500", "gpqa_diamond"],
                         dataset_args={"math500": {"limit": 2}, "MATH_500": {"few_shot_num": 0}}))
    assert c.datasets == ["math_500", "gpqa"]
    assert c.dataset_args == {"math_500": {"limit": 2, "few_shot_num": 0}}
    with pytest.raises(ConfigError, match="twice"):
        make_config(dict(model="m", api_url="http://127.0.0.1:9/v1", datasets=["math_500"],
                         dataset_args={"math500": {"limit": 2}, "math_500": {"limit": 3}}))


def test_dataset_password_goes_through_the_dataset_name_parser(capsys, tmp_path):
    rc = main(["eval", "--api-url", "http://127.0.0.1:9/v1", "--model", "m", "--datasets", "gpqa",
               "--dataset-password", "gpqa_dimond=x", "--output", str(tmp_path / "out")])
    assert rc == 2
    assert "did you mean 'gpqa'" in capsys.readouterr().err.lower()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("field, value", [
    ("eval_batch_size", True), ("eval_batch_size", "8"), ("limit", 2.0), ("max_retries", False),
    ("timeout_idle", True), ("generation_config", {"n": True}), ("generation_config", {"temperature": "0.6"}),
    ("generation_config", {"max_tokens": True}),
])
def test_yaml_numbers_do_not_coerce(field, value, capsys, tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"model": "m", "api_url": "http://127.0.0.1:9/v1", "datasets": ["math_500"],
                                   field: value}))
    assert main(["eval", "--config", str(cfg), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert field in err and "got" in err
    assert not (tmp_path / "out").exists()


def test_numbers_still_accepted():
    c = make_config(dict(model="m", api_url="http://127.0.0.1:9/v1", datasets=["math_500"], eval_batch_size=8,
                         timeout_idle=30, generation_config={"temperature": 1, "top_p": 0.95, "n": 2}))
    assert (c.eval_batch_size, c.timeout_idle, c.generation_config.temperature, c.generation_config.n) == (8, 30.0, 1.0, 2)
