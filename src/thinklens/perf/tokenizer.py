"""The client-side tokenizer of `perf`: exact-length random prompts and fallback counts.

`load_tokenizer(spec)` accepts what users have at hand:
- a `tokenizer.json` file, or a folder holding one (any Hugging Face fast tokenizer);
- a folder with `vocab.json` + `merges.txt` (byte-level BPE of the Qwen2 family, e.g.
  the copy in the shared test data): rebuilt with Qwen2's own pre-tokenizer regex and
  NFC normaliser, so counts match the server's tokenizer for the message text;
- a Hugging Face Hub id (`Qwen/QwQ-32B`): its `tokenizer.json` is downloaded once
  through huggingface_hub (and its cache).

Only the Rust `tokenizers` library is used: no transformers, no torch.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from ..errors import ConfigError

# Qwen2 / Qwen2.5 / QwQ pre-tokenization (from their tokenizer.json): digits one by one,
# letters with at most one leading non-letter, punctuation runs, newlines apart.
QWEN2_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def byte_level_bpe(vocab_path: Path, merges_path: Path) -> Tokenizer:
    """A Qwen2-style byte-level BPE tokenizer from `vocab.json` + `merges.txt`."""
    with open(vocab_path, encoding="utf-8") as fh:
        vocab = json.load(fh)
    merges: list[tuple[str, str]] = []
    with open(merges_path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line or line.startswith("#version"):
                continue
            left, sep, right = line.partition(" ")
            if not sep:
                raise ConfigError(f"{merges_path}: malformed merge line {line[:40]!r} (expected two tokens)")
            merges.append((left, right))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    # Special tokens sit after the vocabulary (151643.. for Qwen2), as in tokenizer.json.
    specials = [s for s in QWEN2_SPECIAL_TOKENS if s not in vocab]
    if specials:
        tok.add_special_tokens(specials)
    return tok


def load_tokenizer(spec: str | Path) -> Tokenizer:
    """Load a tokenizer from a file, a folder or a Hub id (see the module docstring)."""
    return _load_cached(str(spec))


@lru_cache(maxsize=4)
def _load_cached(spec: str) -> Tokenizer:
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix != ".json":
            raise ConfigError(f"--tokenizer {spec}: give a tokenizer.json file, a folder, or a Hub id")
        return _from_file(path)
    if path.is_dir():
        if (path / "tokenizer.json").is_file():
            return _from_file(path / "tokenizer.json")
        if (path / "vocab.json").is_file() and (path / "merges.txt").is_file():
            return byte_level_bpe(path / "vocab.json", path / "merges.txt")
        raise ConfigError(f"--tokenizer {spec}: the folder has neither tokenizer.json nor vocab.json + merges.txt")
    if spec.startswith((".", "/", "~")) or spec.count("/") != 1:
        raise ConfigError(f"--tokenizer {spec}: no such file or folder (and not a Hub id like Qwen/QwQ-32B)")
    return _from_hub(spec)


def _from_file(path: Path) -> Tokenizer:
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust side raises a plain Exception
        raise ConfigError(f"cannot read tokenizer {path}: {exc}") from None


def _from_hub(repo_id: str) -> Tokenizer:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:  # pragma: no cover - a declared dependency
        raise ConfigError("huggingface_hub is needed to fetch a tokenizer by Hub id") from None
    try:
        return _from_file(Path(hf_hub_download(repo_id, "tokenizer.json")))
    except ConfigError:
        raise
    except Exception as first:
        # Older repos ship only the slow files.
        try:
            vocab = hf_hub_download(repo_id, "vocab.json")
            merges = hf_hub_download(repo_id, "merges.txt")
        except Exception:
            raise ConfigError(
                f"--tokenizer {repo_id}: cannot download tokenizer.json from the Hugging Face Hub "
                f"({type(first).__name__}: {first}). Give a local path instead "
                "(a folder with tokenizer.json, or vocab.json + merges.txt)."
            ) from None
        return byte_level_bpe(Path(vocab), Path(merges))


def count_tokens(tokenizer: Tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False).ids) if text else 0
