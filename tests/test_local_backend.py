"""The transformers backend (`eval_type='checkpoint'`) on a tiny random Qwen2 model.

The model is created here (2 layers, hidden size 64) with the real Qwen2 tokenizer from
the shared data folder and a Qwen-style chat template; its outputs are noise, so the
tests check what the backend does around them: templates, batching, sampling streams,
where a row ends, usage, timings, and the whole pipeline (store, grading, report,
resume) exactly as for an API run.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers.shared_data import shared_data_dir

pytestmark = pytest.mark.local

torch = pytest.importorskip("torch", reason="the [local] extra (torch) is not installed: pip install 'thinklens[local]'")
pytest.importorskip("transformers", reason="the [local] extra (transformers) is not installed: pip install 'thinklens[local]'")
# One intra-op thread: on a CPU shared with other test processes torch's spinning worker
# threads make a tiny model ~10x slower (measured), and the model is too small to gain.
torch.set_num_threads(1)

from thinklens.backend import make_backend  # noqa: E402
from thinklens.config import make_config  # noqa: E402
from thinklens.errors import ConfigError  # noqa: E402
from thinklens.records import Sample  # noqa: E402
from thinklens.runner import run_task  # noqa: E402
from thinklens.store import RunStore  # noqa: E402

SHARED = shared_data_dir()
TOKENIZER_DIR = SHARED / "tokenizers" / "qwen2"
MATH500 = SHARED / "benchmarks" / "math500_test.jsonl"


# Qwen3 ships these sampling defaults in generation_config.json; requests that leave them
# unset use them (as vLLM does).  The tests below mostly set temperature themselves.
QWEN3_DEFAULTS = {"do_sample": True, "temperature": 0.6, "top_p": 0.95, "top_k": 20}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    if not (TOKENIZER_DIR / "vocab.json").is_file() or not MATH500.is_file():
        pytest.skip(f"shared data not found in {SHARED} (set THINKLENS_SHARED_DATA to the data folder)")
    from tests.helpers.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-qwen2"), TOKENIZER_DIR, generation_config=QWEN3_DEFAULTS)


@pytest.fixture(scope="module")
def loaded(checkpoint):
    """Loaded once for the tests that vary only the generation settings."""
    from thinklens.local import choose_placement, load_checkpoint

    return load_checkpoint(str(checkpoint), choose_placement("cpu", "float32"))


def _config(model: Path | str, **generation):
    # float32 unless a test says otherwise: exact comparisons across batch shapes need it.
    extra = {"dtype": "float32", **{k: generation.pop(k) for k in ("eval_batch_size", "device", "dtype") if k in generation}}
    return make_config({
        "model": str(model), "eval_type": "checkpoint", "datasets": ["math_500"],
        "generation_config": {"max_tokens": 6, "temperature": 0, **generation}, **extra,
    })


def _sample(i: int, text: str | None = None) -> Sample:
    # Prompts of different lengths: batches are really left padded.
    content = text or f"Compute {'x + ' * (3 * i)}{i}. Please reason step by step."
    return Sample(f"s{i}", "math_500", "default", [{"role": "user", "content": content}], str(i))


async def _generate(config, samples, *, together: bool = True, repeats=None, loaded=None):
    if loaded is None:
        backend = make_backend(config)
    else:
        from thinklens.local import CheckpointBackend

        backend = CheckpointBackend(config, loaded=loaded)
    try:
        await backend.check()
        repeats = repeats or [None] * len(samples)
        if together:
            gens = await asyncio.gather(*(backend.generate(s, r) for s, r in zip(samples, repeats)))
        else:
            gens = [await backend.generate(s, r) for s, r in zip(samples, repeats)]
        return list(gens), list(backend.batcher.batch_sizes), backend.engine
    finally:
        await backend.close()


def _text(gen) -> str:
    return gen.reasoning + "|" + gen.content


# ---- generation ---------------------------------------------------------------------------
def test_max_tokens_hit_is_length_and_prefilled_template_reads_as_reasoning(checkpoint):
    samples = [_sample(i) for i in range(3)]
    # Loaded by the backend itself (check()), as `thinklens eval` does.
    gens, batches, engine = asyncio.run(_generate(_config(checkpoint, max_tokens=5, eval_batch_size=8), samples))
    assert batches == [3]  # three concurrent calls, one left-padded batch
    prompts = [engine.render(s.messages) for s in samples]
    assert all(p.endswith("<|im_start|>assistant\n<think>\n") for p in prompts)  # the template opened <think>
    for gen, prompt in zip(gens, prompts):
        assert gen.ok, gen.error
        assert gen.finish_reason == "length" and gen.truncated
        assert gen.usage.completion_tokens == 5
        assert gen.usage.prompt_tokens == len(engine.loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        # No </think> in 5 noise tokens: all of it is reasoning, cut off while thinking.
        assert gen.reasoning_source == "unclosed_open_tag" and gen.content == "" and gen.reasoning
        assert gen.usage.reasoning_tokens == 5 and gen.usage.reasoning_tokens_estimated is False
        t = gen.timings
        assert t.start and 0 < t.ttft <= t.e2e and t.ttfat is None
        assert gen.endpoint == "local:cpu"
    assert len({g.usage.prompt_tokens for g in gens}) == 3


def test_chat_template_kwargs_and_stop_strings(checkpoint, loaded):
    sample = _sample(1)
    kwargs = {"chat_template_kwargs": {"enable_thinking": False}}
    (free,), _, engine = asyncio.run(_generate(_config(checkpoint, max_tokens=12, **kwargs), [sample], loaded=loaded))
    assert engine.render(sample.messages).endswith("<think>\n\n</think>\n\n")  # thinking off: empty block prefilled
    assert free.reasoning_source == "none" and free.reasoning == "" and free.content
    assert free.timings.ttfat is not None and free.timings.ttfat >= free.timings.ttft

    # A stop string taken from the middle of that (greedy) output: generation ends there.
    tok = engine.loaded.tokenizer
    ids = tok(free.content, add_special_tokens=False)["input_ids"]
    head = tok.decode(ids[:4])
    stop = tok.decode(ids[4:6])
    assert stop.strip() and stop not in head
    (cut,), _, _ = asyncio.run(_generate(_config(checkpoint, max_tokens=12, stop=[stop], **kwargs), [sample], loaded=loaded))
    assert cut.finish_reason == "stop" and not cut.truncated
    assert cut.content == free.content[: free.content.index(stop)].strip()
    assert cut.usage.completion_tokens < 12


def test_eos_ends_a_row_with_stop_unless_ignore_eos(checkpoint, loaded):
    import dataclasses

    sample = _sample(3)
    (free,), _, engine = asyncio.run(_generate(_config(checkpoint, max_tokens=6), [sample], loaded=loaded))
    prompt = loaded.tokenizer(engine.render(sample.messages), add_special_tokens=False, return_tensors="pt")
    with torch.inference_mode():
        first = int(loaded.model(**prompt).logits[0, -1].argmax())  # greedy's first token
    as_eos = dataclasses.replace(loaded, eos_token_ids=[first])  # a checkpoint whose EOS the model emits first
    (ended,), _, _ = asyncio.run(_generate(_config(checkpoint, max_tokens=6), [sample], loaded=as_eos))
    assert ended.finish_reason == "stop" and ended.usage.completion_tokens == 1 and ended.reasoning == ""
    (ignored,), _, _ = asyncio.run(_generate(_config(checkpoint, max_tokens=6, extra_body={"ignore_eos": True}),
                                             [sample], loaded=as_eos))
    assert ignored.finish_reason == "length" and ignored.usage.completion_tokens == 6
    assert ignored.reasoning == free.reasoning


def test_greedy_and_seeded_sampling_do_not_depend_on_the_batch(checkpoint, loaded):
    samples = [_sample(i) for i in range(5)]
    for generation in ({"temperature": 0}, {"temperature": 1.0, "top_p": 0.9, "top_k": 50, "seed": 7}):
        config = _config(checkpoint, max_tokens=8, eval_batch_size=5, **generation)
        batched, sizes, _ = asyncio.run(_generate(config, samples, loaded=loaded))
        alone, sizes_alone, _ = asyncio.run(_generate(config, samples, together=False, loaded=loaded))
        assert sizes == [5] and sizes_alone == [1] * 5
        assert [_text(g) for g in batched] == [_text(g) for g in alone], generation
        assert len({_text(g) for g in batched}) == 5


def test_sampling_streams_per_repeat_and_unseeded_runs_differ(checkpoint, loaded):
    sample = _sample(2)
    seeded = _config(checkpoint, max_tokens=8, temperature=1.0, seed=11, eval_batch_size=4)
    gens, _, _ = asyncio.run(_generate(seeded, [sample] * 4, repeats=[0, 1, 0, 1], loaded=loaded))
    texts = [_text(g) for g in gens]
    assert texts[0] == texts[2] and texts[1] == texts[3] and texts[0] != texts[1]
    # Without the repeat, identical calls count as repeats 0, 1, ...: still distinct streams.
    gens, _, _ = asyncio.run(_generate(seeded, [sample] * 2, loaded=loaded))
    assert [_text(g) for g in gens] == texts[:2]
    unseeded = _config(checkpoint, max_tokens=8, temperature=1.0)
    first, _, _ = asyncio.run(_generate(unseeded, [sample], loaded=loaded))
    second, _, _ = asyncio.run(_generate(unseeded, [sample], loaded=loaded))
    assert _text(first[0]) != _text(second[0])


def test_checkpoint_sampling_defaults_apply_when_the_request_leaves_them_unset(checkpoint, loaded):
    assert loaded.generation_defaults == QWEN3_DEFAULTS  # read from the saved generation_config.json
    config = make_config({"model": str(checkpoint), "eval_type": "checkpoint", "datasets": ["math_500"],
                          "generation_config": {"max_tokens": 3, "top_k": 5}})
    (gen,), _, engine = asyncio.run(_generate(config, [_sample(0)], loaded=loaded))
    plan = engine.plan
    assert gen.ok and (plan.greedy, plan.temperature, plan.top_p, plan.top_k) == (False, 0.6, 0.95, 5)
    assert plan.from_checkpoint == {"do_sample": True, "temperature": 0.6, "top_p": 0.95}
    _, _, engine = asyncio.run(_generate(_config(checkpoint, max_tokens=3), [_sample(0)], loaded=loaded))
    assert engine.plan.greedy and engine.plan.top_p is None and not engine.plan.from_checkpoint  # temperature 0 given


def test_prompt_over_the_context_fails_alone_and_out_of_memory_splits_the_batch(checkpoint, loaded, monkeypatch):
    long_sample = _sample(9, "word " * 1100)  # > the tiny model's 1024-token context
    config = _config(checkpoint, max_tokens=4, eval_batch_size=4)
    gens, sizes, engine = asyncio.run(_generate(config, [long_sample, _sample(1), _sample(2)], loaded=loaded))
    assert sizes == [3]
    assert not gens[0].ok and "the model's context is 1024" in gens[0].error
    assert gens[1].ok and gens[2].ok and gens[1].usage.completion_tokens == 4

    from thinklens.local.engine import LocalEngine

    real = LocalEngine._generate
    seen = []

    def small_device(self, prompts):  # pretend more than two rows do not fit in memory
        seen.append(len(prompts))
        if len(prompts) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, prompts)

    monkeypatch.setattr(LocalEngine, "_generate", small_device)
    samples = [_sample(i) for i in range(5)]
    gens, sizes, engine = asyncio.run(_generate(_config(checkpoint, max_tokens=4, eval_batch_size=5), samples, loaded=loaded))
    assert sizes == [5] and seen == [5, 2, 3, 1, 2] and engine.oom_splits == 2
    assert all(g.ok and g.usage.completion_tokens == 4 for g in gens)
    monkeypatch.setattr(LocalEngine, "_generate", lambda self, prompts: (_ for _ in ()).throw(
        torch.OutOfMemoryError("out of memory")))
    (gen,), _, _ = asyncio.run(_generate(_config(checkpoint, max_tokens=4), [_sample(0)], loaded=loaded))
    assert not gen.ok and "out of memory for a single sample" in gen.error


def test_check_warns_about_unbounded_generation_and_ignored_options(checkpoint, loaded):
    from thinklens.local import CheckpointBackend

    config = make_config({"model": str(checkpoint), "eval_type": "checkpoint", "datasets": ["math_500"],
                          "generation_config": {"extra_body": {"chat_template_kwargs": {"no_such_switch": True},
                                                               "guided_json": {}}}})
    backend = CheckpointBackend(config, loaded=loaded)

    async def check():
        try:
            return await backend.check()
        finally:
            await backend.close()

    warnings = " | ".join(asyncio.run(check()))
    assert "no max_tokens" in warnings and "context limit (1024 tokens)" in warnings
    assert "extra_body keys ignored by the checkpoint backend: guided_json" in warnings
    assert "never reads chat_template_kwargs ['no_such_switch']" in warnings


# ---- the pipeline -------------------------------------------------------------------------
class _FakeOpenAIServer:
    """A minimal OpenAI-compatible server (real HTTP, non-streaming) for the API run."""

    def __init__(self):
        from aiohttp import web

        async def models(request):
            return web.json_response({"object": "list", "data": [{"id": "api-model", "object": "model"}]})

        async def chat(request):
            await request.json()
            return web.json_response({
                "id": "x", "object": "chat.completion", "model": "api-model",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "<think>short</think>The answer is \\boxed{1}."}}],
                "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29},
            })

        app = web.Application()
        app.router.add_get("/v1/models", models)
        app.router.add_post("/v1/chat/completions", chat)
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def close(self):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _structure(value):
    if isinstance(value, dict):
        return {k: _structure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_structure(value[0])] if value else []
    return type(value).__name__ if value is not None else "null"


def test_end_to_end_math500_stored_graded_reported_resumed_like_an_api_run(checkpoint, tmp_path):
    common = {
        "datasets": ["math_500"], "dataset_args": {"math_500": {"dataset_id": str(MATH500)}}, "limit": 3,
        "eval_batch_size": 2, "grading_workers": 1, "progress": False,
    }
    local = make_config({**common, "model": str(checkpoint), "eval_type": "checkpoint",
                         "output": str(tmp_path / "local"), "generation_config": {"max_tokens": 6, "temperature": 0}})
    first = run_task(local)
    assert (first.requests_sent, first.failed) == (3, 0)
    with RunStore(first.run_dir) as store:
        results = list(store.iter_results())
    assert len(results) == 3
    for r in results:
        gen = r.generation
        assert gen.ok and gen.finish_reason == "length" and gen.usage.completion_tokens == 6
        assert gen.reasoning_source == "unclosed_open_tag" and gen.endpoint == "local:cpu"
        assert r.score is not None and r.score.correct is False  # graded: truncated noise is wrong, not an error
    report = json.loads((first.run_dir / "report.json").read_text())
    overall = [row for row in report["rows"] if row["subset"] == "OVERALL"]
    assert overall and overall[0]["num"] == 3 and overall[0]["score"] == 0.0
    totals = [s for s in report["subsets"] if s["subset"] == "OVERALL"][0]
    assert (totals["generations"], totals["truncated"], totals["errors"]) == (3, 3, 0)

    again = run_task(local)  # resume: everything is stored, nothing is generated
    assert again.requests_sent == 0
    assert json.loads((again.run_dir / "report.json").read_text())["rows"] == report["rows"]

    server = _FakeOpenAIServer()
    try:
        api = run_task(make_config({**common, "model": "api-model", "api_url": server.url, "stream": False,
                                    "output": str(tmp_path / "api"), "generation_config": {"max_tokens": 6}}))
    finally:
        server.close()
    api_report = json.loads((api.run_dir / "report.json").read_text())
    assert _structure({k: v for k, v in api_report.items() if k != "config"}) == \
        _structure({k: v for k, v in report.items() if k != "config"})
    shape = lambda rep: sorted((r["dataset"], r["metric"], r["subset"], r["num"]) for r in rep["rows"])  # noqa: E731
    assert shape(api_report) == shape(report)


def test_cli_evaluates_a_hub_id_from_the_hugging_face_cache_offline(checkpoint, tmp_path):
    """`--model org/name` goes through the Hub cache ($HF_HOME): here a cache prepared by hand."""
    snapshot = tmp_path / "hf" / "hub" / "models--thinklens-test--tiny-qwen2" / "snapshots" / ("0" * 40)
    shutil.copytree(checkpoint, snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0" * 40)
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    args = ["eval", "--model", "thinklens-test/tiny-qwen2", "--eval-type", "checkpoint", "--datasets", "math_500",
            "--dataset-path", f"math_500={MATH500}", "--limit", "2", "--max-tokens", "4", "--device", "cpu",
            "--dtype", "float32", "--grading-workers", "1", "--no-progress", "-o", str(tmp_path / "run"),
            "--extra-body", '{"chat_template_kwargs": {"enable_thinking": false}}']
    # Then a Hub id that is not in the cache, offline: a clear error, no traceback.
    missing = [a.replace("tiny-qwen2", "not-cached").replace(str(tmp_path / "run"), str(tmp_path / "run2")) for a in args]
    # Both commands in one interpreter (torch is imported once): the CLI's own entry point.
    script = (
        "import sys; from thinklens.cli import main; "
        f"codes = [main({args!r}), main({missing!r})]; "
        "print('EXIT CODES', codes, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert "EXIT CODES [0, 2]" in proc.stderr, proc.stderr[-3000:]
    assert "Hugging Face Hub thinklens-test/tiny-qwen2" in proc.stderr
    assert "cannot load thinklens-test/not-cached from the Hugging Face Hub" in proc.stderr
    assert "Traceback" not in proc.stderr
    with RunStore(tmp_path / "run") as store:
        gens = [r.generation for r in store.iter_results()]
    assert len(gens) == 2 and all(g.ok and g.reasoning_source == "none" and g.usage.completion_tokens == 4 for g in gens)


# ---- clear errors -------------------------------------------------------------------------
def test_bad_device_dtype_and_model_folders_are_clear_errors(checkpoint, tmp_path):
    from thinklens.local import choose_placement
    from thinklens.local.device import cpu_has_native_bf16

    placement = choose_placement(None, None)
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        expected = torch.bfloat16 if cpu_has_native_bf16() else torch.float32
        assert (placement.device, placement.dtype) == ("cpu", expected)
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            choose_placement("cuda", None)
    with pytest.raises(ConfigError, match="--device must be"):
        choose_placement("tpu", None)
    with pytest.raises(ConfigError, match="--dtype must be"):
        choose_placement("cpu", "int8")
    with pytest.raises(ConfigError, match="not supported on CPU"):
        choose_placement("cpu", "fp16")
    assert choose_placement("cpu", "bf16").dtype is torch.bfloat16

    def load_error(model: str) -> str:
        with pytest.raises(ConfigError) as info:
            asyncio.run(_generate(_config(model), [_sample(0)]))
        return str(info.value)

    assert "no such checkpoint folder" in load_error(str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no config.json" in load_error(str(empty))
    no_template = tmp_path / "no-template"
    shutil.copytree(checkpoint, no_template)
    (no_template / "chat_template.jinja").unlink(missing_ok=True)  # transformers >= 4.47 saves it here
    config = json.loads((no_template / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (no_template / "tokenizer_config.json").write_text(json.dumps(config))
    assert "has no chat template" in load_error(str(no_template))
    # --device is checked when the backend is made, before any loading.
    with pytest.raises(ConfigError, match="--device must be"):
        make_backend(_config(checkpoint, device="tpu"))
