"""Pieces of the checkpoint backend that need no model: where a generated row ends, what it
costs (usage, timings), and the batching of concurrent calls into one worker thread."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers.shared_data import shared_data_dir

pytestmark = pytest.mark.local
pytest.importorskip("torch", reason="the [local] extra (torch) is not installed: pip install 'thinklens[local]'")
pytest.importorskip("transformers", reason="the [local] extra (transformers) is not installed: pip install 'thinklens[local]'")

from thinklens.local.batching import MicroBatcher  # noqa: E402
from thinklens.local.decode import Detokenizer, build_generation, end_of_row  # noqa: E402

TOKENIZER_DIR = shared_data_dir() / "tokenizers" / "qwen2"
TAGS = [("<think>", "</think>")]


@pytest.fixture(scope="module")
def tok():
    if not (TOKENIZER_DIR / "vocab.json").is_file():
        pytest.skip(f"the shared Qwen2 tokenizer is not in {TOKENIZER_DIR} (set THINKLENS_SHARED_DATA)")
    from tests.helpers.tiny import build_qwen2_tokenizer

    return build_qwen2_tokenizer(TOKENIZER_DIR)


def _ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def _finish(tok, generated, *, stop=(), reached_cap=False, prefilled=False):
    detok = Detokenizer(tok, keep=["<think>", "</think>"])
    eos = frozenset(tok.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"]))
    end = end_of_row(generated, eos_ids=eos, pad_id=tok.pad_token_id, stop=stop, decode=detok, reached_cap=reached_cap)
    steps = [100.0 + 0.5 * (i + 1) for i in range(len(generated))]  # token i chosen at 100 + 0.5(i+1)
    gen = build_generation(end, prompt_tokens=17, prefilled=prefilled, think_tags=TAGS, detok=detok,
                           start_wall=1.7e9, start=100.0, step_times=steps, finished_at=999.0, endpoint="local:cpu")
    return end, gen


def test_eos_row_splits_reasoning_counts_tokens_and_times_the_answer(tok):
    reasoning_part = "<think>\nLet me add: 2+2=4.\n</think>"
    text = reasoning_part + "\n\nThe answer is \\boxed{4}."
    ids = _ids(tok, text)
    pad, im_end = tok.pad_token_id, tok.convert_tokens_to_ids("<|im_end|>")
    end, gen = _finish(tok, ids + [im_end] + [pad] * 3)  # finished early: the batch padded this row
    assert end.finish_reason == "stop" and end.n_tokens == len(ids) + 1  # the EOS token counts (as in vLLM)
    assert (gen.reasoning, gen.content, gen.reasoning_source) == ("Let me add: 2+2=4.", "The answer is \\boxed{4}.", "think_tags")
    assert gen.usage.prompt_tokens == 17 and gen.usage.completion_tokens == len(ids) + 1
    assert gen.usage.reasoning_tokens == len(_ids(tok, reasoning_part)) and not gen.usage.reasoning_tokens_estimated
    answer_token = len(_ids(tok, reasoning_part + "\n\n"))  # "The" is this token of the output
    assert gen.timings.ttft == pytest.approx(0.5)
    assert gen.timings.ttfat == pytest.approx(0.5 * (answer_token + 1))
    assert gen.timings.e2e == pytest.approx(0.5 * (len(ids) + 1))  # when its EOS came, not the batch's end
    assert gen.timings.start == 1.7e9 and gen.finish_reason == "stop" and not gen.truncated


def test_prefilled_template_lone_close_tag_and_truncation_inside_reasoning(tok):
    ids = _ids(tok, "so 2+2=4\n</think>\n\\boxed{4}")
    _, gen = _finish(tok, ids + [tok.convert_tokens_to_ids("<|im_end|>")], prefilled=True)
    assert (gen.reasoning, gen.content, gen.reasoning_source) == ("so 2+2=4", "\\boxed{4}", "lone_close_tag")
    ids = _ids(tok, "so 2+2 is, hmm, let me think again about")
    end, gen = _finish(tok, ids, reached_cap=True, prefilled=True)
    assert end.finish_reason == "length" and gen.truncated_in_reasoning
    assert gen.reasoning_source == "unclosed_open_tag" and gen.usage.reasoning_tokens == len(ids)
    assert gen.timings.ttfat is None and gen.timings.e2e == pytest.approx(0.5 * len(ids))


def test_stop_string_cuts_the_text_and_the_token_count(tok):
    ids = _ids(tok, "The answer is 4.\n\nQuestion: what is 3+3?")
    end, gen = _finish(tok, ids, stop=["\n\nQuestion:"], reached_cap=True)
    assert end.finish_reason == "stop" and gen.content == "The answer is 4."
    # Counted up to the token that completed the stop string, not beyond.
    assert end.n_tokens == len(_ids(tok, "The answer is 4.\n\nQuestion:"))
    assert gen.reasoning_source == "none" and gen.usage.reasoning_tokens == 0


def test_special_tokens_are_dropped_but_reasoning_tags_kept(tok):
    detok = Detokenizer(tok, keep=["<think>", "</think>"])
    ids = _ids(tok, "<|im_start|>assistant\n<think>x</think>y<|im_end|>")
    assert detok(ids) == "assistant\n<think>x</think>y"
    assert Detokenizer(tok, skip_special_tokens=False)(ids) == "<|im_start|>assistant\n<think>x</think>y<|im_end|>"


# ---- batching -------------------------------------------------------------------------------
def _square_batches(delay: float = 0.0):
    threads = set()

    def run(batch):
        threads.add(threading.current_thread().name)
        time.sleep(delay)
        return [x * x for x in batch]

    return run, threads


def test_concurrent_calls_are_batched_in_a_worker_thread_without_blocking_the_loop():
    run, threads = _square_batches(delay=0.05)

    async def main():
        with ThreadPoolExecutor(1, thread_name_prefix="gen") as pool:
            batcher = MicroBatcher(run, max_batch=3, executor=pool)
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.005)

            tick = asyncio.create_task(ticker())
            results = await asyncio.gather(*(batcher.submit(i) for i in range(7)))
            tick.cancel()
            await batcher.close()
            return results, batcher.batch_sizes, ticks

    results, sizes, ticks = asyncio.run(main())
    assert results == [i * i for i in range(7)]
    assert sizes == [3, 3, 1]
    assert threads and all(name.startswith("gen") for name in threads)
    assert ticks >= 10  # the loop kept running while the batches computed


def test_workers_that_resubmit_keep_batches_full_and_errors_reach_every_caller():
    run, _ = _square_batches()

    async def workers():
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(run, max_batch=4, executor=pool)
            items = iter(range(12))

            async def worker():
                return [await batcher.submit(i) for i in items]  # like the runner's workers

            out = await asyncio.gather(*(worker() for _ in range(4)))
            await batcher.close()
            return sorted(x for part in out for x in part), batcher.batch_sizes

    values, sizes = asyncio.run(workers())
    assert values == sorted(i * i for i in range(12)) and sizes == [4, 4, 4]

    def broken(batch):
        raise RuntimeError("device lost")

    async def failing():
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(broken, max_batch=4, executor=pool)
            return await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)

    errors = asyncio.run(failing())
    assert len(errors) == 3 and all(isinstance(e, RuntimeError) and "device lost" in str(e) for e in errors)
