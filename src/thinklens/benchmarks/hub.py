"""Fetching benchmark data from the Hugging Face Hub or ModelScope.

Hugging Face: the dataset's data files (JSONL/CSV/Parquet) are downloaded with
`snapshot_download` into the normal HF cache (`HF_HOME`, or `cache_dir`), then read
like a local folder.  A later run finds them in the cache, also offline
(`HF_HUB_OFFLINE=1`).  Gated datasets (GPQA) take the token from `HF_TOKEN` or
`huggingface-cli login`.

ModelScope: `MsDataset.load` per config, imported lazily because `modelscope` is an
optional extra (`thinklens[modelscope]`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import DatasetError
from .rows import RawRow

_LOCAL_HINT = "or read a local copy: --dataset-path NAME=PATH (dataset_args {'dataset_id': PATH})"


class HubError(DatasetError):
    """A hub could not give a dataset.  Its advice names eval's flags by default; a command
    with other flags (perf) words it again through `advise`, so that no command advises a
    flag it does not take."""

    def __init__(self, what: str, *, other_hub: bool = False):
        self.what = what
        self.other_hub = other_hub  # trying the other hub could help (the Hub is unreachable)
        super().__init__(self.advise())

    def advise(self, local: str = _LOCAL_HINT, other_hub: str | None = "--dataset-hub modelscope") -> str:
        if self.other_hub and other_hub:
            return f"{self.what}. Or use {other_hub}, {local}"
        return f"{self.what}, {local}"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hf_snapshot(repo_id: str, *, patterns: Sequence[str], cache_dir: str | None = None) -> Path:
    """Download (or find in the cache) the files of dataset `repo_id` that match `patterns`."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub import errors as hf_errors
    except ImportError:  # pragma: no cover - a core dependency
        raise DatasetError("loading from the Hugging Face Hub needs huggingface_hub: pip install huggingface_hub") from None
    try:
        folder = snapshot_download(
            repo_id,
            repo_type="dataset",
            allow_patterns=list(patterns),
            cache_dir=cache_dir,
            local_files_only=_offline(),
        )
    except hf_errors.GatedRepoError:
        raise HubError(
            f"{repo_id} is gated on the Hugging Face Hub: accept its terms at "
            f"https://huggingface.co/datasets/{repo_id} and set HF_TOKEN to a token of that account"
        ) from None
    except hf_errors.RevisionNotFoundError as exc:
        raise DatasetError(f"{repo_id}: revision not found on the Hugging Face Hub ({exc})") from None
    except hf_errors.RepositoryNotFoundError:
        raise HubError(f"dataset {repo_id!r} not found on the Hugging Face Hub (or private: set HF_TOKEN)") from None
    except hf_errors.LocalEntryNotFoundError:
        where = cache_dir or os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME") or "~/.cache/huggingface"
        why = "HF_HUB_OFFLINE is set" if _offline() else "check the connection, or set HF_ENDPOINT to a mirror"
        raise HubError(
            f"cannot reach the Hugging Face Hub for {repo_id} and it is not in the cache ({where}): {why}",
            other_hub=True,
        ) from None
    except hf_errors.HFValidationError:
        raise DatasetError(f"{repo_id!r} is neither an existing local path nor a valid hub dataset id") from None
    except hf_errors.HfHubHTTPError as exc:
        raise DatasetError(f"Hugging Face Hub error for {repo_id}: {exc}") from None
    except OSError as exc:  # connection problems that huggingface_hub does not wrap
        raise HubError(f"cannot download {repo_id} from the Hugging Face Hub ({exc})") from None
    return Path(folder)


def modelscope_rows(
    dataset_id: str, *, configs: Sequence[str], split: str, cache_dir: str | None = None
) -> list[RawRow]:
    """Records of `dataset_id` from ModelScope, one `MsDataset.load` per config (subset)."""
    try:
        from modelscope.msdatasets import MsDataset
    except ImportError:
        raise DatasetError(
            "loading from ModelScope needs the modelscope package: pip install 'thinklens[modelscope]' "
            "(or use the Hugging Face Hub, the default)"
        ) from None
    rows: list[RawRow] = []
    for config in configs:
        source = f"modelscope:{dataset_id}[{config}]/{split}"
        try:
            dataset = MsDataset.load(dataset_id, subset_name=config, split=split, cache_dir=cache_dir)
            records = [dict(record) for record in dataset]
        except DatasetError:
            raise
        except Exception as exc:  # modelscope raises many unrelated types (HTTP, FileNotFound, ValueError...)
            raise HubError(f"cannot load {source} from ModelScope ({type(exc).__name__}: {exc})") from None
        rows.extend(RawRow(record, source, i, None) for i, record in enumerate(records))
    return rows
