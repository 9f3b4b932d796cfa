"""Recorded model outputs to replay, and the lookup from a request to its record.

A replay file is JSONL; each record names its problem (`problem` | `prompt` |
`question`), its reasoning (`reasoning` | `full_reasoning` | `reasoning_content`)
and its answer (`content` | `result` | `response`).  Rows with `status: failed`
replay as an empty answer with no reasoning (that is what the client got).  A
record without a reasoning field whose answer holds `</think>` is split there
(raw outputs of models that think inside the content, e.g. QwQ).  An optional
`finish_reason` is passed on (e.g. "length" for outputs cut by the token cap).
SkyThought evaluation rows (`question`, `code`: the generation; Sky-T1's
`<|begin_of_thought|>` / `<|begin_of_solution|>` markers split it) are read too.
A `.tar.gz` / `.tgz` / `.tar` file is read in memory: each `*.json` member holds a
record or a list of them, and `generation.json` rows (`input_text`, `real_answer`,
as saved by SGLang-based eval scripts) are taken as problem and raw output.

Lookup: the record whose problem text occurs in the request's last user message;
when several do, the longest problem wins.  Fast for thousands of records: the
whole message and its text before the benchmark instruction (surrounding
whitespace ignored) are tried as dict keys first, then an index of problem
prefixes is probed at every position of the message (linear in the message
length, not in the number of records).
"""

from __future__ import annotations

import json
import tarfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from .tokens import tokenize

PROBLEM_KEYS = ("problem", "prompt", "question")
REASONING_KEYS = ("reasoning", "full_reasoning", "reasoning_content")
CONTENT_KEYS = ("content", "result", "response")

# Prompts usually append an instruction to the problem; the text before it is the
# most likely exact key.
_INSTRUCTION_MARKERS = ("\nPlease reason", "\n\nPlease reason", "\nAnswer the following")
_PREFIX_LEN = 24  # problems at least this long are found through the prefix index
_CACHE_SIZE = 4096


@dataclass
class ReplayRecord:
    problem: str
    reasoning: str
    content: str
    failed: bool = False
    finish_reason: str | None = None
    source: str = ""  # "file:line", for messages and /stats
    _reasoning_tokens: list[str] | None = field(default=None, repr=False)
    _content_tokens: list[str] | None = field(default=None, repr=False)

    # Tokenized on first use: loading thousands of long traces stays instant.
    @property
    def reasoning_tokens(self) -> list[str]:
        if self._reasoning_tokens is None:
            self._reasoning_tokens = tokenize(self.reasoning)
        return self._reasoning_tokens

    @property
    def content_tokens(self) -> list[str]:
        if self._content_tokens is None:
            self._content_tokens = tokenize(self.content)
        return self._content_tokens


def _first_str(row: dict, keys: tuple[str, ...]) -> tuple[str | None, str | None]:
    for key in keys:
        if key in row:
            value = row[key]
            if value is None:
                return key, ""
            if not isinstance(value, str):
                return key, None
            return key, value
    return None, ""


def _split_think(content: str) -> tuple[str, str]:
    """Raw `<think>r</think>c` or `r</think>c` -> (r, c); an unclosed `<think>r` -> (r, "")."""
    stripped = content.lstrip()
    if "</think>" in content:
        reasoning, _, answer = content.partition("</think>")
        reasoning = reasoning.lstrip()
        if reasoning.startswith("<think>"):
            reasoning = reasoning[len("<think>") :]
        return reasoning, answer
    if stripped.startswith("<think>"):
        return stripped[len("<think>") :], ""
    return "", content


def parse_record(row: object, source: str) -> ReplayRecord:
    """One JSONL row -> record; ConfigError naming the file and line when unusable."""
    if not isinstance(row, dict):
        raise ConfigError(f"{source}: a replay record must be a JSON object, got {type(row).__name__}")
    key, problem = _first_str(row, PROBLEM_KEYS)
    if key is not None and problem is None:
        raise ConfigError(f"{source}: field {key!r} must be a string")
    if key is None or not problem:
        raise ConfigError(
            f"{source}: no problem text; a replay record needs one of the keys {', '.join(PROBLEM_KEYS)}"
        )
    r_key, reasoning = _first_str(row, REASONING_KEYS)
    c_key, content = _first_str(row, CONTENT_KEYS)
    if reasoning is None:
        raise ConfigError(f"{source}: field {r_key!r} must be a string or null")
    if content is None:
        raise ConfigError(f"{source}: field {c_key!r} must be a string or null")
    finish = row.get("finish_reason")
    if finish is not None and finish not in ("stop", "length"):
        raise ConfigError(f"{source}: finish_reason must be 'stop' or 'length', got {finish!r}")
    failed = str(row.get("status", "")).lower() == "failed"
    if failed:
        reasoning, content = "", ""
    elif r_key is None and "think>" in content:
        reasoning, content = _split_think(content)
        if finish is None and "</think>" not in row[c_key]:
            finish = "length"  # the model never closed its reasoning: it hit the cap
    return ReplayRecord(
        problem=problem, reasoning=reasoning, content=content, failed=failed,
        finish_reason=finish, source=source,
    )


_THOUGHT_OPEN, _THOUGHT_CLOSE = "<|begin_of_thought|>", "<|end_of_thought|>"
_SOLUTION_MARKERS = ("<|begin_of_solution|>", "<|end_of_solution|>")


def _skythought_row(row: object) -> object:
    """A SkyThought evaluation row (`question`, `code`: a list whose first element is the
    whole generation) -> a replay row.  Sky-T1 models think between `<|begin_of_thought|>`
    and `<|end_of_thought|>` and answer between the solution markers; a thought that never
    closes was cut by the token cap.  Other rows pass unchanged."""
    if not (isinstance(row, dict) and "question" in row and isinstance(row.get("code"), list) and row["code"]
            and isinstance(row["code"][0], str) and not any(k in row for k in CONTENT_KEYS)):
        return row
    text = row["code"][0]
    out: dict = {"problem": row["question"]}
    start = text.find(_THOUGHT_OPEN)
    if start >= 0:
        thought, closed, answer = text[start + len(_THOUGHT_OPEN):].partition(_THOUGHT_CLOSE)
        out["reasoning"] = thought.strip()
        out["content"] = answer if closed else ""
        if not closed:
            out["finish_reason"] = "length"
    else:
        out["content"] = text  # a model without the thought format: all of it is the answer
    for marker in _SOLUTION_MARKERS:
        out["content"] = out["content"].replace(marker, "")
    out["content"] = out["content"].strip()
    return out


_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def _generation_row(row: object) -> object:
    """A `generation.json` element (input_text, real_answer: a raw output whose chat
    template prefilled `<think>`) -> a replay row; other rows pass unchanged."""
    if not (isinstance(row, dict) and "input_text" in row and "real_answer" in row):
        return row
    answer = row["real_answer"]
    if isinstance(answer, str) and not answer.lstrip().startswith("<think>"):
        answer = "<think>\n" + answer  # the prefill, so an unclosed trace replays as reasoning cut by the cap
    return {"problem": row["input_text"], "content": answer}


def _load_archive(path: Path) -> list[ReplayRecord]:
    """Every `*.json` member of a tar archive: a record or a list of records each
    (e.g. one `generation.json` per problem), read in memory."""
    records: list[ReplayRecord] = []
    try:
        tar = tarfile.open(path)
    except (OSError, tarfile.TarError) as exc:
        raise ConfigError(f"cannot read replay archive {path}: {exc}") from exc
    with tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".json")),
                         key=lambda m: m.name)
        for member in members:
            source = f"{path}:{member.name}"
            handle = tar.extractfile(member)
            try:
                data = json.load(handle)  # type: ignore[arg-type]
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{source}: invalid JSON ({exc})") from exc
            rows = data if isinstance(data, list) else [data]
            for i, row in enumerate(rows):
                records.append(parse_record(_generation_row(row), f"{source}[{i}]"))
    if not records:
        raise ConfigError(f"replay archive {path} holds no .json member")
    return records


def load_replay_files(paths: tuple[Path, ...] | list[Path]) -> list[ReplayRecord]:
    records: list[ReplayRecord] = []
    for path in paths:
        if str(path).endswith(_ARCHIVE_SUFFIXES):
            records.extend(_load_archive(Path(path)))
            continue
        try:
            handle = open(path, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read replay file {path}: {exc.strerror}") from exc
        with handle:
            for lineno, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                source = f"{path}:{lineno}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{source}: invalid JSON ({exc.msg}, column {exc.colno})") from exc
                records.append(parse_record(_skythought_row(row), source))
    return records


class ReplayIndex:
    """Finds the record whose problem occurs in a message (longest match wins)."""

    def __init__(self, records: list[ReplayRecord]) -> None:
        self.records = records
        self._exact: dict[str, ReplayRecord] = {}
        self._by_prefix: dict[str, list[ReplayRecord]] = {}
        self._short: list[ReplayRecord] = []
        self.duplicates = 0
        for record in records:
            if record.problem in self._exact:
                self.duplicates += 1  # the first file/line wins
                continue
            self._exact[record.problem] = record
            stripped = record.problem.strip()
            if stripped and stripped != record.problem:
                self._exact.setdefault(stripped, record)
            if len(record.problem) >= _PREFIX_LEN:
                self._by_prefix.setdefault(record.problem[:_PREFIX_LEN], []).append(record)
            else:
                self._short.append(record)
        self._cache: OrderedDict[str, ReplayRecord | None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._exact)

    def lookup(self, message: str) -> ReplayRecord | None:
        cached = self._cache.get(message, _MISSING)
        if cached is not _MISSING:
            self._cache.move_to_end(message)
            return cached  # type: ignore[return-value]
        found = self._lookup(message)
        self._cache[message] = found
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return found

    def _lookup(self, message: str) -> ReplayRecord | None:
        exact = self._exact
        whole = exact.get(message) or exact.get(message.strip())
        if whole is not None:
            return whole  # nothing longer than the whole message can occur in it
        best: ReplayRecord | None = None
        best_len = 0
        for marker in _INSTRUCTION_MARKERS:
            head, sep, _ = message.partition(marker)
            if sep:
                hit = exact.get(head) or exact.get(head.strip())
                if hit is not None and len(hit.problem) > best_len:
                    best, best_len = hit, len(hit.problem)
        # Probe the prefix index at every position: exact substring, longest wins.
        by_prefix = self._by_prefix
        n = _PREFIX_LEN
        for i in range(len(message) - n + 1):
            bucket = by_prefix.get(message[i : i + n])
            if bucket is None:
                continue
            for cand in bucket:
                if len(cand.problem) > best_len and message.startswith(cand.problem, i):
                    best, best_len = cand, len(cand.problem)
        for cand in self._short:
            if len(cand.problem) > best_len and cand.problem in message:
                best, best_len = cand, len(cand.problem)
        return best


_MISSING = object()
