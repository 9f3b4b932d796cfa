"""A tiny randomly initialised Qwen2 checkpoint with the real Qwen2 tokenizer.

For tests and benchmarks of the checkpoint backend without downloading a model: the
real byte-level BPE (vocab.json + merges.txt, 151,643 tokens, the special tokens at
their real ids), a Qwen-style chat template that reads `enable_thinking`, and a model
small enough to generate hundreds of tokens per second on one CPU core.  Its outputs
are noise; everything around them (templates, batching, decoding, timing) is real.
"""

from __future__ import annotations

from pathlib import Path

import torch

# Special tokens are not in vocab.json; Qwen2 puts them right after it (151643..151645).
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
# Single tokens in Qwen3 / R1-distill tokenizers, kept non-special as there.
THINK_TOKENS = ("<think>", "</think>")
QWEN2_PRETOKENIZE = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# Thinking on: the prompt opens the reasoning (QwQ / R1-distill style, so the output has only
# `</think>`).  enable_thinking=false: an empty reasoning block is prefilled (Qwen3 style).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- else %}"
    "{{- '<think>\\n' }}"
    "{%- endif %}"
    "{%- endif %}"
)


def build_qwen2_tokenizer(tokenizer_dir: str | Path, chat_template: str = CHAT_TEMPLATE):
    """A transformers fast tokenizer from the Qwen2 vocab.json + merges.txt."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE
    from transformers import PreTrainedTokenizerFast

    folder = Path(tokenizer_dir)
    bpe = Tokenizer(BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt")))
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    bpe.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    bpe.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK_TOKENS])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = chat_template
    return tokenizer


def build_tiny_checkpoint(
    out_dir: str | Path,
    tokenizer_dir: str | Path,
    *,
    layers: int = 2,
    hidden: int = 64,
    heads: int = 4,
    kv_heads: int = 2,
    context: int = 1024,
    seed: int = 0,
    generation_config: dict | None = None,
) -> Path:
    """Save tokenizer + random Qwen2 weights into `out_dir` (a loadable checkpoint folder)."""
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    tokenizer = build_qwen2_tokenizer(tokenizer_dir)
    eos, pad = tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=context,
        tie_word_embeddings=False,  # tied random weights make greedy repeat the last prompt token
        bos_token_id=pad,
        eos_token_id=eos,
        pad_token_id=pad,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=[eos, pad], pad_token_id=pad, **(generation_config or {}))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
