"""Where `perf` prompts come from: exact-length random text, a prompts file, a thinklens
benchmark, or the speed-benchmark lengths.

Every source yields `PerfPrompt`s: the chat messages, the client's token count of the
prompt text (exact for random prompts; the server's `usage` is still what the results
report) and the `max_tokens` to ask for.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..errors import ConfigError, DatasetError

# The Qwen speed-benchmark table (Qwen2.5 "Speed Benchmark": batch size 1, 2048 new
# tokens, prompts of these lengths); the long variant adds the 64k/128k rows.
SPEED_BENCHMARK_INPUT_LENGTHS = (1, 6144, 14336, 30720)
SPEED_BENCHMARK_LONG_INPUT_LENGTHS = (63488, 129024)
SPEED_BENCHMARK_OUTPUT_TOKENS = 2048

# Fields accepted for the prompt text of one row of a JSONL prompts file.
TEXT_KEYS = ("prompt", "question", "problem", "query", "instruction", "input", "text")
OUTPUT_KEYS = ("max_tokens", "output_tokens", "output_len")


@dataclass(frozen=True)
class PerfPrompt:
    messages: list[dict[str, Any]]
    input_tokens: int | None = None  # client-side count of the message text
    output_tokens: int | None = None  # max_tokens to request; None: the model decides


class PromptPool:
    """Hands out prompts in order, cycling when a run needs more than there are.

    Reuse is counted: a server with prefix caching answers a repeated prompt faster, so
    the run warns when prompts came round again.
    """

    def __init__(self, prompts: list[PerfPrompt]):
        if not prompts:
            raise DatasetError("no prompts to send (the prompt source is empty)")
        self.prompts = prompts
        self.handed_out = 0

    def next(self) -> PerfPrompt:
        prompt = self.prompts[self.handed_out % len(self.prompts)]
        self.handed_out += 1
        return prompt

    @property
    def last_was_repeat(self) -> bool:
        """Whether the prompt just handed out had been sent before."""
        return self.handed_out > len(self.prompts)

    @property
    def reused(self) -> int:
        return max(0, self.handed_out - len(self.prompts))

    def __len__(self) -> int:
        return len(self.prompts)


# ---- random prompts of exact token length ---------------------------------------------
class RandomPromptFactory:
    """Random text that the tokenizer encodes to exactly N tokens.

    Text is decoded from random printable vocabulary tokens, re-encoded, and trimmed or
    extended until the count is exact (decode/encode is not an identity for BPE: pieces
    merge across their boundaries).  A shared prefix of `prefix_tokens` tokens, when
    asked for, is the same text in every prompt (to measure prefix caching).
    """

    def __init__(self, tokenizer: Any, *, seed: int = 0, prefix_tokens: int = 0):
        self.tok = tokenizer
        self.rng = random.Random(seed)
        self.pool = _printable_token_ids(tokenizer)
        if len(self.pool) < 100:
            raise ConfigError("the tokenizer has too few printable tokens to build random prompts")
        self.prefix_text = self._exact_batch("", [prefix_tokens])[0] if prefix_tokens > 0 else ""
        self.prefix_tokens = prefix_tokens

    def count(self, text: str) -> int:
        return len(self.tok.encode(text, add_special_tokens=False).ids) if text else 0

    def prompt_text(self, n_tokens: int) -> str:
        return self.prompt_texts([n_tokens])[0]

    def prompt_texts(self, lengths: list[int]) -> list[str]:
        """One prompt of exactly n tokens per n in `lengths` (encoded in batches)."""
        for n in lengths:
            if n < max(1, self.prefix_tokens):
                raise ConfigError(f"an input length of {n} tokens is shorter than --prefix-tokens {self.prefix_tokens}")
        return self._exact_batch(self.prefix_text, lengths)

    def _random_text(self, k: int) -> str:
        return self.tok.decode(self.rng.choices(self.pool, k=k)) if k > 0 else ""

    def _counts(self, texts: list[str]) -> list[list[int]]:
        encode = getattr(self.tok, "encode_batch_fast", self.tok.encode_batch)  # no offsets: ~2x faster
        return [e.ids for e in encode(texts, add_special_tokens=False)]

    def _exact_batch(self, prefix: str, lengths: list[int]) -> list[str]:
        base = self.count(prefix)
        suffixes = [self._random_text(max(0, n - base)) for n in lengths]
        pending = list(range(len(lengths)))
        for _ in range(64):
            if not pending:
                return [prefix + s for s in suffixes]
            encoded = self._counts([prefix + suffixes[i] for i in pending])
            still = []
            for i, ids in zip(pending, encoded):
                n, total = lengths[i], len(ids)
                if total == n:
                    continue
                still.append(i)
                if total < n:
                    suffixes[i] += self._random_text(n - total)
                    continue
                # Too long: keep the first n tokens (pieces merged across a boundary may
                # re-split differently: the next round checks again).
                text = self.tok.decode(ids[:n])
                if text.startswith(prefix):
                    suffixes[i] = text[len(prefix) :]
                else:
                    sids = self.tok.encode(suffixes[i], add_special_tokens=False).ids
                    suffixes[i] = self.tok.decode(sids[: max(0, len(sids) - (total - n))])
            pending = still
        raise ConfigError(f"could not build prompts of exactly {lengths[pending[0]]} tokens with this tokenizer")


_PRINTABLE_CACHE: dict[int, tuple[Any, list[int]]] = {}


def _printable_token_ids(tokenizer: Any) -> list[int]:
    """Vocabulary ids that decode alone to printable text (no partial UTF-8, no control
    characters, no special tokens).  Cached per tokenizer: it decodes the whole vocabulary."""
    hit = _PRINTABLE_CACHE.get(id(tokenizer))
    if hit is not None and hit[0] is tokenizer:
        return hit[1]
    ids = _compute_printable(tokenizer)
    if len(_PRINTABLE_CACHE) > 8:
        _PRINTABLE_CACHE.clear()
    _PRINTABLE_CACHE[id(tokenizer)] = (tokenizer, ids)
    return ids


def _compute_printable(tokenizer: Any) -> list[int]:
    specials = (
        {
            tid
            for tid in (tokenizer.token_to_id(t.content) for t in tokenizer.get_added_tokens_decoder().values())
            if tid is not None
        }
        if hasattr(tokenizer, "get_added_tokens_decoder")
        else set()
    )
    size = tokenizer.get_vocab_size(with_added_tokens=False)
    ids = [i for i in range(size) if i not in specials]
    texts = tokenizer.decode_batch([[i] for i in ids], skip_special_tokens=True)
    return [i for i, t in zip(ids, texts) if t and t.isprintable() and "\ufffd" not in t]


def random_prompts(
    tokenizer: Any,
    count: int,
    input_tokens: int,
    output_tokens: int | None,
    *,
    prefix_tokens: int = 0,
    range_ratio: float = 0.0,
    seed: int = 0,
) -> list[PerfPrompt]:
    """`count` random prompts; with `range_ratio` r the lengths are uniform in
    [n(1-r), n(1+r)] (input and output alike), else exactly n."""
    factory = RandomPromptFactory(tokenizer, seed=seed, prefix_tokens=prefix_tokens)
    rng = random.Random(seed + 1)
    n_in = [_jitter(rng, input_tokens, range_ratio, lo=max(1, prefix_tokens)) for _ in range(count)]
    n_out = [_jitter(rng, output_tokens, range_ratio, lo=1) if output_tokens else output_tokens for _ in range(count)]
    out: list[PerfPrompt] = []
    batch = 64
    for i in range(0, count, batch):
        texts = factory.prompt_texts(n_in[i : i + batch])
        out.extend(
            PerfPrompt([{"role": "user", "content": t}], a, b)
            for t, a, b in zip(texts, n_in[i : i + batch], n_out[i : i + batch])
        )
    return out


def _jitter(rng: random.Random, n: int, ratio: float, lo: int) -> int:
    if ratio <= 0:
        return n
    return max(lo, rng.randint(int(n * (1 - ratio)), int(n * (1 + ratio))))


# ---- prompts files ---------------------------------------------------------------------
def file_prompts(path: str | Path, *, tokenizer: Any = None, output_tokens: int | None = None) -> list[PerfPrompt]:
    """Prompts from a file: JSONL (one row per prompt: `messages`, or a text field such
    as `prompt`/`question`, or a ShareGPT `conversations` row), ShareGPT-style JSON (a
    list of `{"conversations": [{"from": "human", "value": ...}, {"from": "gpt", ...}]}`)
    or plain text (one prompt per line).

    `max_tokens` comes from `output_tokens` when given, else from the row
    (`max_tokens`/`output_tokens`), else, for ShareGPT rows with a tokenizer, from the
    length of the recorded reply (what vLLM's ShareGPT benchmark does)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetError(f"prompts file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    rows: Iterable[tuple[str, Any]]
    if path.suffix == ".txt":
        rows = ((f"{path}:{i}", line) for i, line in enumerate(text.splitlines(), 1) if line.strip())
    elif stripped.startswith("[") and path.suffix != ".jsonl":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
        rows = ((f"{path}[{i}]", row) for i, row in enumerate(data))
    else:
        rows = _jsonl_rows(path, text)
    prompts = []
    for where, row in rows:
        prompt = _row_prompt(where, row, tokenizer, output_tokens)
        if prompt is not None:
            prompts.append(prompt)
    if not prompts:
        raise DatasetError(f"{path}: no prompts found")
    return prompts


def _jsonl_rows(path: Path, text: str) -> Iterable[tuple[str, Any]]:
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"{path}:{lineno}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None


def _count(tokenizer: Any, text: str) -> int | None:
    return len(tokenizer.encode(text, add_special_tokens=False).ids) if tokenizer is not None else None


def _row_prompt(where: str, row: Any, tokenizer: Any, output_tokens: int | None) -> PerfPrompt | None:
    if isinstance(row, str):
        return PerfPrompt([{"role": "user", "content": row}], _count(tokenizer, row), output_tokens)
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: a prompt row must be a JSON object or a string, got {type(row).__name__}")
    row_out = next((row[k] for k in OUTPUT_KEYS if isinstance(row.get(k), int) and row[k] > 0), None)
    if "conversations" in row:
        return _sharegpt_prompt(where, row["conversations"], tokenizer, output_tokens or row_out)
    messages = row.get("messages")
    if messages is not None:
        if not (isinstance(messages, list) and messages and all(isinstance(m, dict) and "role" in m for m in messages)):
            raise DatasetError(f"{where}: `messages` must be a non-empty list of {{role, content}} objects")
        text = "\n".join(str(m.get("content") or "") for m in messages)
        return PerfPrompt(messages, _count(tokenizer, text), output_tokens or row_out)
    for key in TEXT_KEYS:
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return PerfPrompt([{"role": "user", "content": value}], _count(tokenizer, value), output_tokens or row_out)
    raise DatasetError(
        f"{where}: no prompt in this row; give `messages`, `conversations` or one of {', '.join(TEXT_KEYS)}"
    )


_HUMAN = {"human", "user"}
_MODEL = {"gpt", "assistant", "model", "chatgpt", "bard", "bing"}


def _sharegpt_prompt(where: str, turns: Any, tokenizer: Any, output_tokens: int | None) -> PerfPrompt | None:
    if not isinstance(turns, list):
        raise DatasetError(f"{where}: `conversations` must be a list of turns")
    system = None
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise DatasetError(f"{where}: each turn of `conversations` must be an object with from/value")
        who = str(turn.get("from") or turn.get("role") or "").lower()
        value = turn.get("value", turn.get("content"))
        if who == "system" and isinstance(value, str):
            system = value
            continue
        if who in _HUMAN and isinstance(value, str) and value.strip():
            reply = turns[i + 1] if i + 1 < len(turns) and isinstance(turns[i + 1], dict) else {}
            reply_text = (
                reply.get("value", reply.get("content"))
                if str(reply.get("from") or reply.get("role") or "").lower() in _MODEL
                else None
            )
            out = output_tokens
            if out is None and isinstance(reply_text, str) and tokenizer is not None:
                out = max(1, _count(tokenizer, reply_text) or 1)
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": value}
            ]
            return PerfPrompt(messages, _count(tokenizer, (system or "") + value), out)
    return None  # a conversation without a human turn: nothing to send (vLLM skips these too)


# ---- thinklens benchmarks --------------------------------------------------------------
def benchmark_prompts(
    name: str,
    *,
    dataset_path: str | None = None,
    limit: int | None = None,
    tokenizer: Any = None,
    output_tokens: int | None = None,
) -> list[PerfPrompt]:
    """The prompts thinklens would send for benchmark `name` (real prompts, so the model
    writes real reasoning lengths)."""
    from ..benchmarks import DatasetArgs, get_benchmark  # part of thinklens: an ImportError here is a bug
    from ..benchmarks.hub import HubError
    try:
        bench = get_benchmark(name)
        samples = bench.load(DatasetArgs(dataset_id=dataset_path, limit=limit))
    except HubError as exc:  # its default advice names eval's flags (--dataset-hub, NAME=PATH)
        raise DatasetError(exc.advise(local=f"or read a local copy: --dataset {name} --dataset-path PATH",
                                      other_hub=None)) from None
    except (ConfigError, DatasetError):
        raise
    except KeyError as exc:
        raise ConfigError(f"--dataset {name}: {exc}") from None
    out = []
    for sample in samples:
        text = "\n".join(str(m.get("content") or "") for m in sample.messages)
        out.append(PerfPrompt(list(sample.messages), _count(tokenizer, text), output_tokens))
    return out
