"""One vocabulary across commands (issue 15): every eval flag says what it does and its
default (and the stated default is TaskConfig's), one name per concept with the other
kept as an alias, multi-value flags behave alike, and errors say what to do."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from thinklens.cli import build_parser, main
from thinklens.commands.eval_cmd import config_from_args
from thinklens.config import GenerationConfig, TaskConfig, make_config
from thinklens.errors import ConfigError
from thinklens.runner import plan_items
from tests.helpers.calibration import MockServerProcess


def _subparser(name: str):
    parser = build_parser()
    return parser._subparsers._group_actions[0].choices[name]  # noqa: SLF001


def _options(name: str):
    return [a for a in _subparser(name)._actions if a.option_strings and a.dest != "help"]  # noqa: SLF001


def test_every_eval_flag_has_one_line_of_help_with_its_default():
    missing = [a.option_strings[0] for a in _options("eval")
               if not a.help or ("default" not in a.help and a.dest not in {"config", "model", "datasets", "regrade",
                                                                               "dataset_args", "output", "device",
                                                                               "dtype", "api_url", "write_predictions", "dataset_path",
                                                                               "dataset_password", "extra_body"})]
    assert missing == []


# dest -> the TaskConfig (or GenerationConfig) default the help text must state
_STATED = {
    "eval_batch_size": 32, "timeout_connect": 30, "timeout_first_token": 1800, "timeout_idle": 300,
    "max_retries": 5, "retry_backoff": 1, "grading_timeout": 10, "n": 1,
    "judge_strategy": "rule", "eval_type": "service", "dataset_hub": "huggingface",
}


@pytest.mark.parametrize("dest, value", sorted(_STATED.items()))
def test_stated_defaults_are_the_configs_defaults(dest, value):
    [action] = [a for a in _options("eval") if a.dest == dest]
    stated = re.search(r"default ([\w.]+)", action.help)
    assert stated and stated.group(1) == str(value), action.help
    field = TaskConfig.model_fields.get(dest) or GenerationConfig.model_fields[dest]
    assert field.default == value


def _eval_args(*argv: str):
    return _subparser("eval").parse_args(list(argv))


def test_one_name_per_concept_with_the_other_as_alias():
    # eval and perf both take --url and --api-url; eval's requests in flight is --concurrency
    a = _eval_args("--url", "http://h:1/v1", "--concurrency", "8", "--model", "m", "--datasets", "gsm8k")
    b = _eval_args("--api-url", "http://h:1/v1", "--eval-batch-size", "8", "--model", "m", "--datasets", "gsm8k")
    assert config_from_args(a) == config_from_args(b)
    assert config_from_args(a)["eval_batch_size"] == 8
    perf = _subparser("perf")
    assert perf.parse_args(["--api-url", "http://h:1/v1", "--model", "m"]).url == ["http://h:1/v1"]
    eff = _subparser("efficiency")
    assert eff.parse_args(["RUN", "--max-trace-tokens", "100"]).max_tokens == 100
    assert eff.parse_args(["RUN", "--max-tokens", "100"]).max_tokens == 100  # the guide's name
    [filt] = [a for a in _options("efficiency") if a.dest == "max_tokens"]
    assert "not a generation cap" in filt.help


def test_first_token_timeouts_differ_for_a_reason_said_in_help():
    [ev] = [a for a in _options("eval") if a.dest == "timeout_first_token"]
    [pf] = [a for a in _options("perf") if a.dest == "timeout_first_token"]
    assert "perf's is 600" in ev.help and "eval waits 1800" in pf.help and pf.default == 600


def test_multi_value_flags_take_several_values_after_one_flag_everywhere(tmp_path, capsys, shared_data):
    math = shared_data("benchmarks/math500_test.jsonl")
    gsm = shared_data("benchmarks/gsm8k_test.jsonl")
    assert main(["benchmarks", "--json", "--dataset-path", f"math_500={math}", f"gsm8k={gsm}"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["math_500"]["counted_from"] == str(math) and rows["gsm8k"]["counted_from"] == str(gsm)
    one = config_from_args(_eval_args("--dataset-path", f"math_500={math}", f"gsm8k={gsm}"))
    repeated = config_from_args(_eval_args("--dataset-path", f"math_500={math}", "--dataset-path", f"gsm8k={gsm}"))
    assert one == repeated and one["dataset_args"]["gsm8k"] == {"dataset_id": str(gsm)}
    assert _eval_args("--stop", "a", "b", "--stop", "c").stop == ["a", "b", "c"]
    assert _subparser("perf").parse_args(["--url", "u", "--model", "m", "--slo", "ttft=2s", "tpot=50ms"]).slo == [
        "ttft=2s", "tpot=50ms"]


_BASE = ["eval", "--api-url", "http://127.0.0.1:9/v1", "--model", "m", "--datasets", "math_500"]


def test_limit_zero_says_what_to_do(tmp_path, capsys):
    assert main([*_BASE, "--limit", "0", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "leave --limit out for all samples" in err and "Value error" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("bad", [{"limit": 1.5}, {"limit": 0}, {"limit": -0.2}, {"eval_type": "gpu"},
                                 {"api_url": "127.0.0.1:8000"}])
def test_no_pydantic_prefix_in_messages(bad):
    with pytest.raises(ConfigError) as exc:
        make_config({"model": "m", "api_url": "http://127.0.0.1:9/v1", "datasets": ["math_500"], **bad})
    message = str(exc.value)
    assert "Value error" not in message and next(iter(bad)) in message


def test_fractional_limit_is_a_share_of_each_dataset(shared_data):
    math = shared_data("benchmarks/math500_test.jsonl")
    args = _eval_args("--api-url", "http://127.0.0.1:9/v1", "--model", "m", "--datasets", "math_500",
                      "--dataset-path", f"math_500={math}", "--limit", "0.1")
    config = make_config(config_from_args(args))
    assert config.limit == 0.1
    items, _ = plan_items(config)
    assert len(items) == 50
    first = plan_items(make_config({**config.model_dump(), "limit": 50}))[0]
    assert [i.key for i in items] == [i.key for i in first]  # the first 10 %, like a count
    with pytest.raises(SystemExit):
        _eval_args("--limit", "a tenth")


def test_dataset_name_errors_resolve_aliases_and_suggest(tmp_path, capsys, shared_data):
    math = shared_data("benchmarks/math500_test.jsonl")
    # an alias in --dataset-path is the dataset itself
    config = make_config(config_from_args(_eval_args("--api-url", "http://127.0.0.1:9/v1", "--model", "m",
                                                     "--datasets", "math_500", "--dataset-path", f"math500={math}")))
    assert config.dataset_args == {"math_500": {"dataset_id": str(math)}}
    # a typo in --datasets next to a right --dataset-path: the did-you-mean, not "dataset_args names..."
    assert main(["eval", "--api-url", "http://127.0.0.1:9/v1", "--model", "m", "--datasets", "math_5000",
                 "--dataset-path", f"math_500={math}", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'math_500'" in err and "not in datasets" not in err


def test_perf_hub_error_advises_only_perf_flags(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf")}
    with MockServerProcess("--tokens", "5") as server:
        out = subprocess.run([sys.executable, "-m", "thinklens", "perf", "--url", server.url, "--model", "mock-model",
                              "--dataset", "math_500", "--concurrency", "1", "-n", "1", "-o", str(tmp_path / "p"),
                              "--quiet"], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 2, out.stderr
    assert "cannot reach the Hugging Face Hub" in out.stderr
    assert "--dataset-path PATH" in out.stderr
    assert "--dataset-hub" not in out.stderr and "NAME=PATH" not in out.stderr
