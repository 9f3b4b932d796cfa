"""Per-dataset options: EvalScope's `dataset_args={'gpqa': {...}}`, validated up front."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DatasetError

# Accepted spellings of the hub; the value stored is the canonical name.
_HUBS = {
    "huggingface": "huggingface",
    "hf": "huggingface",
    "modelscope": "modelscope",
    "ms": "modelscope",
    # EvalScope's `dataset_hub: local`: dataset_id must then be a path.
    "local": "local",
}

# Older EvalScope releases (and its CLI) spell some keys differently; accept them so a
# guide's config works unchanged.
_KEY_ALIASES = {
    "local_path": "dataset_id",
    "dataset_hub": "hub",
    "dataset_dir": "cache_dir",
    "dataset_password": "password",
}


@dataclass(frozen=True)
class DatasetArgs:
    """Options for loading one benchmark's data.

    `dataset_id` follows EvalScope: a hub id (`HuggingFaceH4/MATH-500`) or a local file
    or folder.  `limit` keeps the first N samples after the subset filter, in the data's
    own order.  `password` opens password zips such as GPQA's official distribution; it
    is kept out of `repr` so it never lands in a log.
    """

    dataset_id: str | None = None
    subset_list: list[str] | None = None
    few_shot_num: int = 0
    hub: str = "huggingface"
    password: str | None = field(default=None, repr=False)
    prompt_template: str | None = None
    limit: int | None = None
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise in place once, at construction
        if self.dataset_id is not None:
            if not isinstance(self.dataset_id, str) or not self.dataset_id.strip():
                raise DatasetError(f"dataset_id must be a hub id or a path, got {self.dataset_id!r}")
            set_(self, "dataset_id", str(self.dataset_id).strip())
        if self.subset_list is not None:
            subsets = [self.subset_list] if isinstance(self.subset_list, str) else self.subset_list
            if not isinstance(subsets, (list, tuple)) or not all(isinstance(s, str) for s in subsets):
                raise DatasetError(f"subset_list must be a list of subset names, got {self.subset_list!r}")
            set_(self, "subset_list", list(subsets) or None)
        if isinstance(self.few_shot_num, bool) or not isinstance(self.few_shot_num, int) or self.few_shot_num < 0:
            raise DatasetError(f"few_shot_num must be an integer >= 0, got {self.few_shot_num!r}")
        hub = _HUBS.get(str(self.hub).strip().lower()) if isinstance(self.hub, str) else None
        if hub is None:
            raise DatasetError(f"unknown hub {self.hub!r}: use 'huggingface' or 'modelscope' (or 'local' with a path)")
        set_(self, "hub", hub)
        if self.limit is not None:
            limit = self.limit
            if isinstance(limit, float) and limit.is_integer():
                limit = int(limit)
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise DatasetError(f"limit must be a positive integer (the first N samples), got {self.limit!r}")
            set_(self, "limit", limit)
        if self.prompt_template is not None and not isinstance(self.prompt_template, str):
            raise DatasetError("prompt_template must be a string containing {question}")
        if self.password is not None and not isinstance(self.password, str):
            raise DatasetError("password must be a string")

    @classmethod
    def valid_keys(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None, *, dataset: str | None = None) -> "DatasetArgs":
        """Build from a `dataset_args` entry; unknown keys are an error that lists the valid ones."""
        if d is None:
            return cls()
        if isinstance(d, DatasetArgs):
            return d
        where = f" for {dataset!r}" if dataset else ""
        if not isinstance(d, Mapping):
            raise DatasetError(f"dataset_args{where} must be a mapping of options, got {type(d).__name__}")
        valid = cls.valid_keys()
        values: dict[str, Any] = {}
        unknown: list[str] = []
        for key, value in d.items():
            name = _KEY_ALIASES.get(key, key)
            if name not in valid:
                unknown.append(str(key))
            elif name in values:
                raise DatasetError(f"dataset_args{where} sets {name!r} twice (through {key!r} and its alias)")
            else:
                values[name] = value
        if unknown:
            raise DatasetError(
                f"unknown dataset_args key(s){where}: {', '.join(repr(k) for k in sorted(unknown))}. "
                f"Valid keys: {', '.join(valid)}"
            )
        return cls(**values)

    def replace(self, **changes: Any) -> "DatasetArgs":
        return dataclasses.replace(self, **changes)
