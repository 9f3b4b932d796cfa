"""`Benchmark`: what a benchmark is (data) and how its rows become `Sample`s (hooks).

A benchmark is declared, not programmed: dataset ids, split, the fields that hold the
question / answer / id / subset, the prompt template and the grader kind.  Behaviour
that differs (AIME's integer golds, GSM8K's `#### N`, GPQA's shuffled options) lives
in a few overridable hooks: `question_of`, `gold_of`, `subset_of`, `id_of`,
`meta_of`, `to_sample`, `for_repeat`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..errors import DatasetError
from ..records import Sample
from . import hub, local
from .args import DatasetArgs
from .prompts import render, strip_instruction, validate_template
from .rows import RawRow, last_boxed

def text_digest(text: str, length: int = 16) -> str:
    """A stable id for a text (sha256; never Python's per-process randomised hash())."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _problem_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _looks_like_path(dataset_id: str) -> bool:
    """A hub id is exactly `owner/name`; anything else that names a file is a path."""
    if dataset_id.startswith(("/", ".", "~")) or "\\" in dataset_id or dataset_id.count("/") != 1:
        return True
    return dataset_id.lower().endswith(local.DATA_SUFFIXES + local.ARCHIVE_SUFFIXES)


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: where its data lives and how a record becomes a `Sample`."""

    name: str
    grader: str  # a grader registered in grading/kinds/ ("math", "integer", "choice", ...)
    subsets: tuple[str, ...]
    hub_id: str
    modelscope_id: str | None
    split: str
    prompt_template: str
    description: str
    # -- how a record maps to a sample (field names match case/space/underscore-insensitively)
    question_fields: tuple[str, ...] = ("problem", "question", "prompt")
    answer_fields: tuple[str, ...] = ("answer", "solution")
    id_fields: tuple[str, ...] = ("id",)
    subset_field: str | None = None
    subset_format: str = "{}"  # e.g. "Level {}" turns MATH's level 3 into "Level 3"
    meta_fields: tuple[str, ...] = ()  # copied into Sample.meta under their own name when present
    # -- where the data lives
    hub_config: str | None = None  # the HF/ModelScope config ("main" for gsm8k)
    hub_verified: bool = True  # False: the hub id was written from documentation, never loaded
    hub_files: tuple[str, ...] = ()  # data files of hub_id (fnmatch); default: files named after the split
    modelscope_configs: tuple[str, ...] = ("default",)
    modelscope_split: str | None = None  # when ModelScope's copy uses another split name
    file_hints: tuple[str, ...] = ()  # name fragments that mark this benchmark's files in a folder
    sizes: Mapping[str, int] = field(default_factory=dict, compare=False)  # known samples per subset
    aliases: tuple[str, ...] = ()

    # placeholders a prompt_template must / may contain
    required_placeholders: ClassVar[tuple[str, ...]] = ("question",)
    allowed_placeholders: ClassVar[tuple[str, ...]] = ("question",)

    def __post_init__(self) -> None:
        from ..grading.registry import grader_names  # a folder listing

        if self.grader not in grader_names():
            raise ValueError(f"benchmark {self.name}: grader must be one of {grader_names()}, got {self.grader!r}")
        if not self.subsets:
            raise ValueError(f"benchmark {self.name}: at least one subset")
        validate_template(
            self.prompt_template,
            required=self.required_placeholders,
            allowed=self.allowed_placeholders,
            benchmark=self.name,
        )

    # ------------------------------------------------------------------ registry data

    @property
    def size(self) -> int | None:
        """Known number of samples (all subsets), or None when unknown."""
        return sum(self.sizes.values()) if self.sizes else None

    @property
    def fallback_subset(self) -> str:
        """The subset of records that carry no subset information."""
        return self.subsets[0] if len(self.subsets) == 1 else "default"

    @property
    def file_selection(self) -> local.FileSelection:
        return local.FileSelection(
            patterns=self.hub_files,
            hints=self.file_hints or (self.name,),
            split=self.split,
            config=self.hub_config,
        )

    # ------------------------------------------------------------------ loading

    def load(self, args: DatasetArgs | Mapping[str, Any] | None = None) -> list[Sample]:
        """Samples for `args` (subset filter, then `limit`), in the data's own order."""
        args = DatasetArgs.from_mapping(args, dataset=self.name)
        if args.few_shot_num:
            raise DatasetError(
                f"{self.name}: few-shot prompting is not available (few_shot_num={args.few_shot_num}); "
                "reasoning models are evaluated zero-shot, as in the EvalScope guide (few_shot_num: 0)"
            )
        template = args.prompt_template or self.prompt_template
        if args.prompt_template:
            validate_template(
                template, required=self.required_placeholders, allowed=self.allowed_placeholders, benchmark=self.name
            )
        wanted = self._check_subset_names(args.subset_list)
        rows: list[RawRow] = []
        samples: list[Sample] = []
        matched, complete = 0, True
        stream = self.iter_rows(args)
        try:
            for row in stream:
                rows.append(row)
                samples.append(self.to_sample(row, template))
                if wanted is None or samples[-1].subset in wanted:
                    matched += 1
                if args.limit is not None and matched >= args.limit:
                    complete = False  # enough: the rest of the file is never read
                    break
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # an open file of a stopped stream
        if not rows:
            raise DatasetError(f"{self.name}: no records found in {self._describe_source(args)}")
        samples = self._unique_ids(samples)  # ids depend only on earlier rows: the same on a prefix
        self._check_no_duplicate_sets(rows, samples, args)
        if wanted is not None:
            present = {s.subset for s in samples}
            empty = [s for s in wanted if s not in present] if complete else []
            if empty:
                raise DatasetError(
                    f"{self.name}: no samples of subset(s) {', '.join(map(repr, empty))} in "
                    f"{self._describe_source(args)}; subsets found: {', '.join(sorted(present))}"
                )
            samples = [s for s in samples if s.subset in wanted]
        if args.limit is not None:
            samples = samples[: args.limit]
        return samples

    def iter_rows(self, args: DatasetArgs) -> Iterator[RawRow]:
        """`read_rows`, streamed where the source allows it (a local jsonl/csv/parquet file)."""
        dataset_id = args.dataset_id
        if args.limit is not None and dataset_id is not None:
            path = Path(dataset_id).expanduser()
            if path.is_file():
                return local.iter_path(path, password=args.password, selection=self.file_selection)
        return iter(self.read_rows(args))

    def read_rows(self, args: DatasetArgs) -> list[RawRow]:
        """Raw records from a local path, the Hugging Face Hub or ModelScope."""
        dataset_id = args.dataset_id
        if dataset_id is not None:
            path = Path(dataset_id).expanduser()
            if path.exists() or args.hub == "local" or _looks_like_path(dataset_id):
                return local.read_path(path, password=args.password, selection=self.file_selection)
        if args.hub == "local":
            raise DatasetError(f"{self.name}: hub 'local' needs dataset_id (a path)")
        if args.hub == "modelscope":
            if dataset_id is None and self.modelscope_id is None:
                raise DatasetError(f"{self.name} has no ModelScope copy: use the Hugging Face Hub or a local path")
            configs = self._modelscope_configs(args.subset_list)
            return hub.modelscope_rows(
                dataset_id or self.modelscope_id,  # type: ignore[arg-type]
                configs=configs,
                split=self.modelscope_split or self.split,
                cache_dir=args.cache_dir,
            )
        repo_id = dataset_id or self.hub_id
        if repo_id == self.hub_id and self.hub_files:
            patterns: tuple[str, ...] = self.hub_files
        else:  # another repo: every data file, then chosen like a local folder
            patterns = tuple(f"*{suffix}" for suffix in local.DATA_SUFFIXES)
        try:
            folder = hub.hf_snapshot(repo_id, patterns=patterns, cache_dir=args.cache_dir)
        except DatasetError as exc:
            if dataset_id is None:
                raise
            # `owner/name` is also a relative path: say that it was looked for locally first.
            raise DatasetError(f"no local file or folder {dataset_id!r}, and on the Hub: {exc}") from None
        rows = local.read_path(folder, password=args.password, selection=self.file_selection)
        # Name rows after the hub dataset, not the cache folder.
        return [RawRow(r.data, f"{repo_id}/{r.source}", r.index, r.line) for r in rows]

    def _modelscope_configs(self, subset_list: list[str] | None) -> tuple[str, ...]:
        configs = self.modelscope_configs
        if subset_list and set(configs) <= set(self.subsets):  # configs are the subsets: load only those asked
            configs = tuple(c for c in configs if c in subset_list)
        return configs

    def _describe_source(self, args: DatasetArgs) -> str:
        if args.dataset_id:
            return args.dataset_id
        return self.modelscope_id if args.hub == "modelscope" else self.hub_id  # type: ignore[return-value]

    def _check_subset_names(self, subset_list: list[str] | None) -> list[str] | None:
        if subset_list is None:
            return None
        known = list(self.subsets) + ([self.fallback_subset] if self.fallback_subset not in self.subsets else [])
        for name in subset_list:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise DatasetError(
                    f"unknown subset {name!r} for {self.name}.{hint} Subsets: {', '.join(self.subsets)}"
                )
        return list(subset_list)

    @staticmethod
    def _unique_ids(samples: list[Sample]) -> list[Sample]:
        """Sample ids must be unique: the k-th repeat of an id becomes `id#k` (deterministic)."""
        seen: Counter[str] = Counter()
        out: list[Sample] = []
        for sample in samples:
            seen[sample.id] += 1
            if seen[sample.id] > 1:
                sample = Sample(f"{sample.id}#{seen[sample.id]}", sample.dataset, sample.subset,
                                sample.messages, sample.gold, sample.meta)
            out.append(sample)
        return out

    def _check_no_duplicate_sets(self, rows: list[RawRow], samples: list[Sample], args: DatasetArgs) -> None:
        """A folder holding the same benchmark twice (two formats of one data set) would count it twice."""
        sources = list(dict.fromkeys(r.source for r in rows))
        if len(sources) < 2:
            return
        first_source: dict[str, str] = {}
        repeated: dict[str, list[str]] = defaultdict(list)  # later file -> earlier file per shared problem
        for row, sample in zip(rows, samples):
            key = _problem_key(str(sample.meta.get("problem", "")))
            if len(key) < 20:  # too short to tell a copy from a coincidence
                continue
            seen = first_source.setdefault(key, row.source)
            if seen != row.source:
                repeated[row.source].append(seen)
        where = self._describe_source(args)
        if repeated:
            later, earlier = max(repeated.items(), key=lambda item: len(item[1]))
            raise DatasetError(
                f"{where} holds the same {self.name} problems more than once: {len(earlier)} problem(s) of "
                f"{later} also appear in {', '.join(dict.fromkeys(earlier))}. "
                "Point dataset_id / --dataset-path at one file, or remove the copy from the folder."
            )
        if self.size is not None and args.subset_list is None and len(samples) > self.size:
            per_file = defaultdict(int)
            for row in rows:
                per_file[row.source] += 1
            listing = ", ".join(f"{src} ({n})" for src, n in per_file.items())
            raise DatasetError(
                f"{where} gives {len(samples)} {self.name} records from {len(sources)} files, but {self.name} "
                f"has {self.size}: the files probably hold the same problems in different formats ({listing}). "
                "Point dataset_id / --dataset-path at one file, or remove the copies from the folder."
            )

    # ------------------------------------------------------------------ hooks: record -> Sample

    def question_of(self, row: RawRow) -> str:
        """The bare question text (an instruction the file already appended is removed)."""
        text = str(row.require(*self.question_fields, what="question field"))
        return strip_instruction(text, (self.prompt_template,))

    def gold_of(self, row: RawRow) -> str:
        """The gold answer as the grader expects it (a solution's last \\boxed{} when that is all there is)."""
        value = row.require(*self.answer_fields, what="answer field")
        text = str(value).strip()
        if "\\boxed" in text or "\\fbox" in text:
            boxed = last_boxed(text)
            if boxed:
                return boxed
        return text

    def subset_of(self, row: RawRow) -> str:
        if self.subset_field is not None:
            value = row.get(self.subset_field)
            if value is not None:
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                text = str(value).strip()
                prefix = self.subset_format.partition("{}")[0]
                if prefix and text.lower().startswith(prefix.lower()):  # already "Level 3"
                    text = text[len(prefix):].strip()
                return self.subset_format.format(text)
        return self.fallback_subset

    def id_of(self, row: RawRow, question: str) -> str:
        """The record's own id when it has one, else a digest of the question text."""
        value = row.get(*self.id_fields) if self.id_fields else None
        return str(value).strip() if value is not None else text_digest(question)

    def meta_of(self, row: RawRow, question: str) -> dict[str, Any]:
        meta: dict[str, Any] = {"problem": question, "row_index": row.index, "source": row.source}
        for name in self.meta_fields:
            found = row.find(name)
            if found is not None:
                meta[name] = found[1]
        return meta

    def render_prompt(self, template: str, question: str) -> str:
        return render(template, {"question": question})

    def to_sample(self, row: RawRow, template: str) -> Sample:
        question = self.question_of(row)
        return Sample(
            id=self.id_of(row, question),
            dataset=self.name,
            subset=self.subset_of(row),
            messages=[{"role": "user", "content": self.render_prompt(template, question)}],
            gold=self.gold_of(row),
            meta=self.meta_of(row, question),
        )

    def for_repeat(self, sample: Sample, repeat: int) -> Sample:
        """The sample as asked in repeat `repeat` (0-based); unchanged unless a benchmark varies it."""
        return sample

