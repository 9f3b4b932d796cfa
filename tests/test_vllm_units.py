"""The vllm backend's pure parts (no vLLM needed): sampling parameters as the server builds
them, one seed per repeat as the API path derives it, exact token accounting of the
reasoning, the config and CLI surface, and the Prometheus parser the vLLM tests rely on."""

from __future__ import annotations

import argparse

import pytest

from thinklens.backend import make_backend, repeat_seed
from thinklens.commands.eval_cmd import config_from_args, register
from thinklens.config import GenerationConfig, make_config
from thinklens.engines.vllm.outputs import FinishedRequest, reasoning_tokens, to_generation
from thinklens.engines.vllm.sampling import resolve_sampling
from thinklens.errors import ConfigError
from tests.helpers.vllm_server import PromMetrics

CLOSE = 151647


def test_unset_fields_come_from_the_checkpoint_set_fields_win():
    gen = GenerationConfig(temperature=0.6, max_tokens=100, seed=5, stop=["###"])
    choice = resolve_sampling(gen, {"temperature": 1.0, "top_p": 0.95, "top_k": 20, "repetition_penalty": 1.05})
    assert choice.params == {"temperature": 0.6, "top_p": 0.95, "top_k": 20, "repetition_penalty": 1.05,
                             "max_tokens": 100, "stop": ["###"]}
    assert choice.from_checkpoint == {"top_p": 0.95, "top_k": 20, "repetition_penalty": 1.05}


def test_each_repeat_gets_the_api_paths_seed_and_no_max_tokens_means_the_rest_of_the_context():
    choice = resolve_sampling(GenerationConfig(seed=7))
    assert [choice.for_repeat(r, 100, 2048)["seed"] for r in range(3)] == [7, 8, 9]
    assert [repeat_seed(7, r) for r in range(3)] == [7, 8, 9]  # the API path's derivation
    assert choice.for_repeat(0, 100, 2048)["max_tokens"] == 1948  # SamplingParams alone would say 16
    assert "seed" not in resolve_sampling(GenerationConfig()).for_repeat(3, 10, 100)


def test_extra_body_splits_into_sampling_template_and_ignored():
    gen = GenerationConfig(extra_body={"chat_template_kwargs": {"enable_thinking": True}, "min_tokens": 4,
                                       "logit_bias": {"151645": -100}, "ignore_eos": True, "service_tier": "x"})
    choice = resolve_sampling(gen)
    assert choice.chat_template_kwargs == {"enable_thinking": True}
    assert choice.params["min_tokens"] == 4 and choice.params["ignore_eos"] is True
    assert choice.params["logit_bias"] == {151645: -100.0}  # JSON's string keys -> token ids
    assert choice.ignored_extra == ("service_tier",)
    with pytest.raises(ConfigError, match="logit_bias"):
        resolve_sampling(GenerationConfig(extra_body={"logit_bias": {"eos": 1}}))
    with pytest.raises(ConfigError, match="chat_template_kwargs"):
        resolve_sampling(GenerationConfig(extra_body={"chat_template_kwargs": "enable_thinking"}))


def _done(text: str, ids: list[int], finish: str = "stop") -> FinishedRequest:
    return FinishedRequest(text=text, token_ids=ids, prompt_tokens=9, finish_reason=finish, start=1.0, e2e=0.5,
                           ttft=0.1)


def test_reasoning_ends_at_the_closing_tags_token():
    # Prefilled <think>: "a b</think> 42" -> 3 reasoning tokens (a, b, </think>), 2 answer tokens + EOS.
    gen = to_generation(_done("a b</think> 42", [10, 11, CLOSE, 12, 13, 151645]), prefilled=True,
                        think_tags=[("<think>", "</think>")], close_ids=frozenset({CLOSE}), endpoint="vllm:x")
    assert (gen.reasoning, gen.content, gen.reasoning_source) == ("a b", "42", "lone_close_tag")
    assert (gen.usage.prompt_tokens, gen.usage.completion_tokens, gen.usage.reasoning_tokens) == (9, 6, 3)
    assert gen.usage.reasoning_tokens_estimated is False
    assert (gen.timings.start, gen.timings.ttft, gen.timings.e2e) == (1.0, 0.1, 0.5)


def test_truncated_inside_the_reasoning_is_all_reasoning_and_counted():
    gen = to_generation(_done("still thinking", [1, 2, 3], "length"), prefilled=True,
                        think_tags=[("<think>", "</think>")], close_ids=frozenset({CLOSE}), endpoint="vllm:x")
    assert gen.truncated and gen.truncated_in_reasoning and gen.usage.reasoning_tokens == 3
    assert gen.reasoning_source == "unclosed_open_tag"


def test_no_reasoning_and_multi_token_tags():
    plain = to_generation(_done("42", [5]), prefilled=False, think_tags=[("<think>", "</think>")],
                          close_ids=frozenset({CLOSE}), endpoint="e")
    assert plain.reasoning_source == "none" and plain.usage.reasoning_tokens == 0 and plain.content == "42"
    # A tag that is several tokens in this vocabulary: share of characters, marked estimated.
    assert reasoning_tokens("think_tags", 50, "x" * 100, list(range(10)), frozenset()) == (5, True)
    aborted = to_generation(_done("", [], "abort"), prefilled=True, think_tags=[("<think>", "</think>")],
                            close_ids=frozenset(), endpoint="e")
    assert not aborted.ok


def test_engine_settings_belong_to_the_vllm_backend_only():
    base = {"model": "m", "datasets": ["math_500"]}
    config = make_config({**base, "eval_type": "vllm", "tensor_parallel_size": 2, "data_parallel_size": 4,
                          "engine_args": {"gpu_memory_utilization": 0.9}})
    assert (config.tensor_parallel_size, config.pipeline_parallel_size, config.data_parallel_size) == (2, 1, 4)
    with pytest.raises(ConfigError, match="tensor_parallel_size.*eval_type 'vllm'"):
        make_config({**base, "api_url": "http://127.0.0.1:1/v1", "tensor_parallel_size": 2})
    with pytest.raises(ConfigError, match="data_parallel_size"):
        make_config({**base, "eval_type": "vllm", "data_parallel_size": 0})


def test_cli_flags_reach_the_config():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["eval", "--eval-type", "vllm", "--model", "./ckpt", "--datasets", "aime24", "-tp", "2",
                              "--data-parallel-size", "4", "--engine-args", '{"gpu_memory_utilization": 0.9}'])
    config = make_config(config_from_args(args))
    assert config.eval_type == "vllm" and config.tensor_parallel_size == 2 and config.data_parallel_size == 4
    assert config.engine_args == {"gpu_memory_utilization": 0.9}
    bad = parser.parse_args(["eval", "--model", "m", "--datasets", "aime24", "--engine-args", "[1]"])
    with pytest.raises(ConfigError, match="--engine-args must be a JSON object"):
        config_from_args(bad)


def test_without_vllm_the_backend_is_a_clear_error():
    try:
        import vllm  # noqa: F401
        pytest.skip("vLLM is installed in this venv")
    except ImportError:
        pass
    config = make_config({"model": "m", "datasets": ["math_500"], "eval_type": "vllm"})
    with pytest.raises(ConfigError, match=r"needs vLLM.*thinklens\[vllm\]"):
        make_backend(config)


def test_prometheus_histograms_and_deltas():
    text = "\n".join([
        "# TYPE vllm:time_to_first_token_seconds histogram",
        'vllm:time_to_first_token_seconds_bucket{engine="0",le="0.01"} 1.0',
        'vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1"} 3.0',
        'vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf"} 4.0',
        'vllm:time_to_first_token_seconds_count{engine="0"} 4.0',
        'vllm:time_to_first_token_seconds_sum{engine="0"} 0.5',
        'vllm:request_success_total{finished_reason="stop"} 3.0',
        'vllm:request_success_total{finished_reason="length"} 5.0',
    ])
    m = PromMetrics.parse(text)
    assert m.get("vllm:request_success_total") == 8 and m.get("vllm:request_success_total", finished_reason="stop") == 3
    assert m.mean("vllm:time_to_first_token_seconds") == 0.125
    assert m.quantile("vllm:time_to_first_token_seconds", 0.5) == pytest.approx(0.01 + 0.09 * (2 - 1) / 2)
    assert m.minus(m).get("vllm:request_success_total") == 0
