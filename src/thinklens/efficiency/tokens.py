"""Token counts on the original text, with exact character offsets.

The evaluated model's own tokenizer is loaded with `tokenizers` (from a folder, a
`tokenizer.json`, a folder of `vocab.json` + `merges.txt`, or a hub id); a text is
tokenized once and "tokens up to character c" is a binary search over the token
start offsets, so T̂ is counted on the very text the model wrote, never on steps
re-joined or rewritten.  Without a tokenizer the server's usage counts are used and
marked approximate (T̂ then scales T by the character share).
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

# Qwen2 / Qwen2.5 / QwQ / DeepSeek-R1-Distill-Qwen pre-tokenization (their tokenizer.json).
QWEN2_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


@dataclass(frozen=True)
class TokenizedText:
    """A text's token start offsets (characters): `tokens_before(c)` counts the tokens
    that start before character c, i.e. the tokens needed to write text[:c]."""

    starts: Sequence[int]

    @property
    def count(self) -> int:
        return len(self.starts)

    def tokens_before(self, offset: int) -> int:
        return bisect_left(self.starts, offset)


class TokenCounter:
    """Exact counts from a `tokenizers.Tokenizer` (special tokens never added)."""

    exact = True

    def __init__(self, tokenizer: object, name: str):
        self.tokenizer = tokenizer
        self.name = name

    def tokenize(self, texts: list[str]) -> list[TokenizedText]:
        # encode_batch runs on all cores in Rust; offsets are character offsets.
        if not texts:
            return []
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=False)  # type: ignore[attr-defined]
        return [TokenizedText(_starts(e.offsets)) for e in encodings]

    def count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=False)  # type: ignore[attr-defined]
        return [len(e.ids) for e in encodings]


def _starts(offsets: list[tuple[int, int]]) -> list[int]:
    # Byte-level BPE may split one character over several tokens (same offsets):
    # keep them all, each is a token the model wrote.
    return [start for start, _ in offsets]


def qwen2_tokenizer(vocab: Path, merges: Path) -> object:
    """The Qwen2 byte-level BPE built from vocab.json + merges.txt, as its tokenizer.json defines it."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE

    tok = Tokenizer(BPE.from_file(str(vocab), str(merges)))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    return tok


def _gpt2_tokenizer(vocab: Path, merges: Path) -> object:
    from tokenizers import Tokenizer, decoders, pre_tokenizers
    from tokenizers.models import BPE

    tok = Tokenizer(BPE.from_file(str(vocab), str(merges)))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def _from_folder(folder: Path) -> object | None:
    from tokenizers import Tokenizer

    if (folder / "tokenizer.json").is_file():
        return Tokenizer.from_file(str(folder / "tokenizer.json"))
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    if vocab.is_file() and merges.is_file():
        cls = ""
        cfg = folder / "tokenizer_config.json"
        if cfg.is_file():
            try:
                cls = str(json.loads(cfg.read_text(encoding="utf-8")).get("tokenizer_class") or "")
            except (ValueError, OSError):
                cls = ""
        # Qwen2's split pattern unless the folder says it is a GPT-2 tokenizer.
        return _gpt2_tokenizer(vocab, merges) if cls.startswith("GPT2") else qwen2_tokenizer(vocab, merges)
    return None


def load_token_counter(spec: str) -> TokenCounter:
    """A folder, a tokenizer.json file, or a Hugging Face hub id (e.g. Qwen/QwQ-32B)."""
    path = Path(spec).expanduser()
    try:
        if path.is_file():
            from tokenizers import Tokenizer

            return TokenCounter(Tokenizer.from_file(str(path)), spec)
        if path.is_dir():
            tok = _from_folder(path)
            if tok is None:
                raise ConfigError(
                    f"{path} holds no tokenizer.json and no vocab.json + merges.txt; point --tokenizer at the "
                    "model's tokenizer folder or give its hub id"
                )
            return TokenCounter(tok, spec)
    except ConfigError:
        raise
    except Exception as exc:  # a corrupt file: say which
        raise ConfigError(f"cannot load the tokenizer from {spec}: {exc}") from None
    return TokenCounter(_from_hub(spec), spec)


def _from_hub(repo_id: str) -> object:
    if repo_id.count("/") != 1 or repo_id.startswith((".", "/")):
        raise ConfigError(f"tokenizer {repo_id!r} is neither an existing path nor a hub id like 'Qwen/QwQ-32B'")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:  # pragma: no cover - a core dependency
        raise ConfigError("huggingface_hub is needed to download a tokenizer by hub id") from None
    from tokenizers import Tokenizer

    errors = []
    try:
        return Tokenizer.from_file(hf_hub_download(repo_id, "tokenizer.json"))
    except Exception as exc:  # noqa: BLE001 - any hub failure: try the next source, report all
        errors.append(f"tokenizer.json: {type(exc).__name__}: {exc}")
    try:
        vocab = Path(hf_hub_download(repo_id, "vocab.json"))
        merges = Path(hf_hub_download(repo_id, "merges.txt"))
        folder = vocab.parent
        tok = _from_folder(folder) if (folder / "merges.txt").exists() else qwen2_tokenizer(vocab, merges)
        if tok is not None:
            return tok
    except Exception as exc:  # noqa: BLE001
        errors.append(f"vocab.json/merges.txt: {type(exc).__name__}: {exc}")
    try:  # sentencepiece-only models: transformers' fast tokenizer wraps a tokenizers.Tokenizer
        from transformers import AutoTokenizer  # type: ignore[import-not-found]

        return AutoTokenizer.from_pretrained(repo_id, use_fast=True).backend_tokenizer
    except ImportError:
        errors.append("transformers is not installed")
    except Exception as exc:  # noqa: BLE001
        errors.append(f"transformers: {type(exc).__name__}: {exc}")
    raise ConfigError(
        f"cannot load tokenizer {repo_id!r} from the hub ({'; '.join(e.splitlines()[0][:200] for e in errors)}). "
        "Download it and pass the folder with --tokenizer, or run without --tokenizer to use the "
        "server's token counts (approximate)."
    )


@dataclass(frozen=True)
class ApproximateTokens:
    """No tokenizer: the server's count of the whole text, prefixes by character share."""

    total: int
    length: int  # characters of the text

    @property
    def count(self) -> int:
        return self.total

    def tokens_before(self, offset: int) -> int:
        if self.length <= 0:
            return 0
        return round(self.total * min(max(offset, 0), self.length) / self.length)
