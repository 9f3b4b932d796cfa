"""Generation throughput of the checkpoint backend on CPU (or any --device).

    PYTHONPATH=src python bench/bench_local.py                      # tiny model, batch 1 and 8, fp32
    PYTHONPATH=src python bench/bench_local.py --dtype float32 bfloat16
    PYTHONPATH=src python bench/bench_local.py --shape qwen3-0.6b   # Qwen3-0.6B's shape, random weights

Through the real path (CheckpointBackend: chat template, batching, generate, decoding),
greedy, EOS ignored so every row makes exactly --new-tokens tokens.  tokens/s counts
generated tokens over the wall time of the whole batch (prefill included).  Random
weights run at the speed of trained ones: speed depends on the shapes, not the values.
It also measures this machine's matmul FLOP/s and memory bandwidth, and from them and
the tiny model's per-step overhead estimates Qwen3-0.6B's decode speed (an estimate).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # the repository root: tests.helpers (never shipped in the wheel)

import torch  # noqa: E402

from thinklens.config import make_config  # noqa: E402
from thinklens.local import CheckpointBackend, choose_placement, load_checkpoint  # noqa: E402
from tests.helpers.tiny import build_qwen2_tokenizer, build_tiny_checkpoint  # noqa: E402
from thinklens.records import Sample  # noqa: E402
from tests.helpers.shared_data import shared_data_dir  # noqa: E402

# Qwen3-0.6B's config.json (hidden 1024, 28 layers, 16 query / 8 KV heads of 128, MLP 3072, tied embeddings).
QWEN3_06B = dict(hidden=1024, layers=28, heads=16, kv_heads=8, head_dim=128, intermediate=3072, vocab=151936)


def build_qwen3_shape(out: Path, tokenizer_dir: Path) -> Path:
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    tokenizer = build_qwen2_tokenizer(tokenizer_dir)
    s = QWEN3_06B
    config = Qwen3Config(
        vocab_size=s["vocab"], hidden_size=s["hidden"], intermediate_size=s["intermediate"],
        num_hidden_layers=s["layers"], num_attention_heads=s["heads"], num_key_value_heads=s["kv_heads"],
        head_dim=s["head_dim"], max_position_embeddings=40960, tie_word_embeddings=True,
        eos_token_id=151645, pad_token_id=151643, bos_token_id=151643,
    )
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=[151645, 151643], pad_token_id=151643)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


PROMPTS = [
    "Find the sum of all positive integers n such that n^2 - 19n + 99 is a perfect square.",
    "What is the smallest positive integer with exactly 12 divisors?",
    "Compute the number of ordered pairs (a, b) of integers with a^2 + b^2 = 25.",
    "If x + 1/x = 3, what is x^3 + 1/x^3?",
    "How many trailing zeros does 100! have?",
    "Evaluate the sum 1 + 2 + ... + 100.",
    "A circle has area 16 pi. What is its circumference?",
    "What is the remainder when 2^100 is divided by 7?",
]


async def _run(backend: CheckpointBackend, batch: int) -> float:
    samples = [Sample(f"p{i}", "bench", "default", [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}], "")
               for i in range(batch)]
    start = time.perf_counter()
    gens = await asyncio.gather(*(backend.generate(s) for s in samples))
    elapsed = time.perf_counter() - start
    bad = [g.error for g in gens if not g.ok]
    if bad:
        raise SystemExit(f"generation failed: {bad[0]}")
    return elapsed


def bench_generation(folder: Path, device: str, dtype: str, batches: list[int], new_tokens: int, repeats: int):
    placement = choose_placement(device, dtype)
    loaded = load_checkpoint(str(folder), placement)
    config = make_config({
        "model": str(folder), "eval_type": "checkpoint", "datasets": ["math_500"], "eval_batch_size": max(batches),
        "generation_config": {"max_tokens": new_tokens, "temperature": 0, "extra_body": {"ignore_eos": True}},
    })
    rows = []

    async def main():
        backend = CheckpointBackend(config, loaded=loaded)
        try:
            await backend.check()
            await _run(backend, 1)  # warm-up (allocator, kernels)
            for batch in batches:
                best = min([await _run(backend, batch) for _ in range(repeats)])
                rows.append((batch, best, batch * new_tokens / best, 1000 * best / new_tokens))
        finally:
            await backend.close()

    asyncio.run(main())
    params = sum(p.numel() for p in loaded.model.parameters())
    return params, rows


def machine_peaks(dtype: torch.dtype) -> tuple[float, float]:
    """(matmul FLOP/s at a decode-like shape, memory read bandwidth B/s) on the CPU, best of 5."""
    a = torch.randn(8, 1024, dtype=dtype)
    w = torch.randn(1024, 3072, dtype=dtype)
    big = torch.randn(64 * 2**20, dtype=torch.float32)  # 256 MiB: far beyond the caches
    flops, bw = 0.0, 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(50):
            torch.mm(a, w)
        flops = max(flops, 50 * 2 * 8 * 1024 * 3072 / (time.perf_counter() - start))
        start = time.perf_counter()
        big.sum()
        bw = max(bw, big.numel() * 4 / (time.perf_counter() - start))
    return flops, bw


def qwen3_step_cost(batch: int, bytes_per_value: int, context: int) -> tuple[float, float]:
    """(bytes read, FLOPs) of one decode step of Qwen3-0.6B at `batch` rows of `context` tokens:
    every weight once per step (the tied LM head included), plus each row's KV cache."""
    s = QWEN3_06B
    per_layer = s["hidden"] * (s["heads"] + 2 * s["kv_heads"]) * s["head_dim"] + s["heads"] * s["head_dim"] * s["hidden"]
    per_layer += 3 * s["hidden"] * s["intermediate"]
    matmul_params = s["layers"] * per_layer + s["vocab"] * s["hidden"]
    kv_per_token = s["layers"] * 2 * s["kv_heads"] * s["head_dim"] * bytes_per_value
    bytes_read = matmul_params * bytes_per_value + batch * context * kv_per_token
    flops = 2 * matmul_params * batch + batch * 4 * context * s["layers"] * s["heads"] * s["head_dim"]
    return bytes_read, flops


def estimate_qwen3(batch: int, bytes_per_value: int, flops_per_s: float, bytes_per_s: float,
                   overhead_s: float, context: int) -> float:
    """Roofline estimate of decode tokens/s: the slower of memory and compute, plus the
    per-step fixed cost (Python, sampling) measured on the tiny model."""
    bytes_read, flops = qwen3_step_cost(batch, bytes_per_value, context)
    return batch / (max(bytes_read / bytes_per_s, flops / flops_per_s) + overhead_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=["tiny", "qwen3-0.6b"], default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", nargs="+", default=["float32"])
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="best of N")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--context", type=int, default=2048, help="mean context per row for the 0.6B estimate")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer_dir = shared_data_dir() / "tokenizers" / "qwen2"
    if not (tokenizer_dir / "vocab.json").is_file():
        raise SystemExit(f"the Qwen2 tokenizer is not in {tokenizer_dir}: set THINKLENS_SHARED_DATA")
    import transformers

    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, "
          f"device {args.device}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.shape == "tiny":
            folder = build_tiny_checkpoint(Path(tmp) / "tiny", tokenizer_dir)
        else:
            folder = build_qwen3_shape(Path(tmp) / "qwen3", tokenizer_dir)
        overhead = None
        for dtype in args.dtype:
            params, rows = bench_generation(folder, args.device, dtype, args.batch, args.new_tokens, args.repeats)
            print(f"\n{args.shape} ({params / 1e6:.1f}M parameters), {dtype}, {args.new_tokens} new tokens per row")
            print(f"{'batch':>6} {'wall s':>8} {'tokens/s':>9} {'ms/step':>8}")
            for batch, wall, tps, ms in rows:
                print(f"{batch:>6} {wall:>8.2f} {tps:>9.1f} {ms:>8.1f}")
            if args.shape == "tiny" and dtype == "float32" and rows:
                # The tiny model's step is almost all fixed cost (Python, generate's bookkeeping, LM head).
                overhead = rows[0][1] / args.new_tokens
    if args.device == "cpu":
        flops, bw = machine_peaks(torch.float32)
        print(f"\nthis CPU now: ~{flops / 1e9:.0f} GFLOP/s fp32 matmul (8x1024 @ 1024x3072), ~{bw / 1e9:.1f} GB/s memory read")
        if overhead is not None:
            print(f"estimate for Qwen3-0.6B decode, fp32, {args.context} tokens of context per row "
                  "(roofline + the tiny model's per-step overhead; an estimate, not a measurement):")
            for batch in args.batch:
                tps = estimate_qwen3(batch, 4, flops, bw, overhead, args.context)
                print(f"  batch {batch}: ~{tps:.1f} tokens/s on this CPU")


if __name__ == "__main__":
    main()
