"""Load a checkpoint: a local folder offline, or a Hub id through the Hugging Face cache.

A Hub id (`Qwen/Qwen3-0.6B`) is downloaded once into the cache that huggingface_hub
manages (`$HF_HOME/hub`, default `~/.cache/huggingface/hub`); later runs, and runs with
`HF_HUB_OFFLINE=1`, read it from there.  A folder is loaded with `local_files_only`, so
evaluating a fresh fine-tune never touches the network.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from ..errors import ConfigError
from .deps import _version_tuple
from .device import Placement

# Sampling defaults a checkpoint may ship in generation_config.json (Qwen3: T=0.6, top_p=0.95,
# top_k=20).  vLLM and SGLang apply them when a request leaves a field unset; so do we.
SAMPLING_DEFAULT_FIELDS = ("do_sample", "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_new_tokens")

_TRANSFORMERS = _version_tuple(transformers.__version__)


@dataclass
class LoadedCheckpoint:
    model: Any  # a transformers PreTrainedModel
    tokenizer: Any  # a transformers tokenizer, padding on the left
    placement: Placement
    source: str  # "local folder <path>" or "Hugging Face Hub <id>"
    input_device: torch.device  # where input ids go (the embedding's device when sharded)
    eos_token_ids: list[int]
    pad_token_id: int
    context_length: int | None
    generation_defaults: dict[str, Any] = field(default_factory=dict)  # from generation_config.json

    def describe(self) -> str:
        params = sum(p.numel() for p in self.model.parameters())
        return f"{self.source}: {params / 1e6:,.1f}M parameters on {self.placement.describe()}"


def is_local_path(model: str) -> bool:
    """True for an existing folder; ConfigError for a path-like name that does not exist."""
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"--model {model}: expected a checkpoint folder (config.json, weights, tokenizer), got a file")
        return True
    looks_like_path = model.startswith(("/", "./", "../", "~", ".\\")) or "\\" in model or model.count("/") > 1
    if looks_like_path:
        raise ConfigError(f"--model {model}: no such checkpoint folder")
    return False


def load_checkpoint(model_ref: str, placement: Placement) -> LoadedCheckpoint:
    """Tokenizer + model, ready for batched left-padded generation.  Errors are ConfigErrors."""
    local = is_local_path(model_ref)
    if local:
        folder = Path(model_ref).expanduser()
        if not (folder / "config.json").is_file():
            raise ConfigError(
                f"{folder} has no config.json: not a transformers checkpoint folder "
                "(save one with model.save_pretrained(dir) and tokenizer.save_pretrained(dir))"
            )
        ref, source = str(folder), f"local folder {folder}"
    else:
        ref, source = model_ref, f"Hugging Face Hub {model_ref}"
    common = {"local_files_only": True} if local else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(ref, **common)
        model = AutoModelForCausalLM.from_pretrained(ref, **common, **_placement_kwargs(placement))
    except ConfigError:
        raise
    except Exception as exc:  # transformers/hub raise OSError, ValueError, HTTP errors, ...
        raise ConfigError(_load_error_message(model_ref, local, exc)) from None
    if placement.device != "auto" and not _placed_at_load(placement):
        model.to(placement.device)
    model.eval()
    if getattr(tokenizer, "chat_template", None) is None:
        raise ConfigError(
            f"{model_ref} has no chat template (tokenizer_config.json 'chat_template' or chat_template.jinja). "
            "thinklens evaluates chat/reasoning models through their template; save the tokenizer of the "
            "instruct model you fine-tuned from into the checkpoint folder."
        )
    tokenizer.padding_side = "left"  # decoder-only batches: prompts end where generation starts

    defaults = _generation_defaults(model)
    eos = _eos_ids(model, tokenizer)
    if tokenizer.pad_token_id is None:
        if not eos:
            raise ConfigError(f"{model_ref}: the tokenizer has neither a pad nor an eos token; cannot batch")
        tokenizer.pad_token = tokenizer.convert_ids_to_tokens(eos[0])
    pad = int(tokenizer.pad_token_id)
    # A neutral generation config on the model: everything generate() does is decided by the
    # config we pass per batch (transformers >= 4.50 fills its unset fields from the model's,
    # so not even EOS is left here: `ignore_eos` passes none).
    model.generation_config = GenerationConfig(pad_token_id=pad, bos_token_id=model.generation_config.bos_token_id)
    text_config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    context = getattr(text_config, "max_position_embeddings", None)
    return LoadedCheckpoint(
        model=model,
        tokenizer=tokenizer,
        placement=placement,
        source=source,
        input_device=model.get_input_embeddings().weight.device,
        eos_token_ids=eos,
        pad_token_id=pad,
        context_length=int(context) if context else None,
        generation_defaults=defaults,
    )


def _placed_at_load(placement: Placement) -> bool:
    """Load weights straight onto the GPU (device_map, needs accelerate) rather than through
    host memory; CPU loads need neither."""
    return placement.device != "cpu" and importlib.util.find_spec("accelerate") is not None


def _placement_kwargs(placement: Placement) -> dict[str, Any]:
    dtype_key = "dtype" if _TRANSFORMERS >= (4, 56) else "torch_dtype"  # renamed in 4.56
    kwargs: dict[str, Any] = {dtype_key: placement.dtype}
    if placement.device == "auto":
        kwargs["device_map"] = "auto"
    elif _placed_at_load(placement):
        kwargs["device_map"] = placement.device  # weights go straight to the device
    return kwargs


def _generation_defaults(model: Any) -> dict[str, Any]:
    config = getattr(model, "generation_config", None)
    if config is None:
        return {}
    try:
        explicit = config.to_diff_dict()  # only what generation_config.json set
    except Exception:  # pragma: no cover - very old configs
        explicit = config.to_dict()
    return {k: explicit[k] for k in SAMPLING_DEFAULT_FIELDS if explicit.get(k) is not None}


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids: list[int] = []
    configured = getattr(model.generation_config, "eos_token_id", None)
    for value in ([configured] if isinstance(configured, int) else list(configured or [])):
        if value is not None and int(value) not in ids:
            ids.append(int(value))
    if tokenizer.eos_token_id is not None and int(tokenizer.eos_token_id) not in ids:
        ids.append(int(tokenizer.eos_token_id))
    return ids


def _load_error_message(model_ref: str, local: bool, exc: Exception) -> str:
    detail = " ".join(str(exc).split())[:400] or type(exc).__name__
    if local:
        return f"cannot load the checkpoint folder {model_ref}: {detail}"
    cache = os.environ.get("HF_HOME", "~/.cache/huggingface")
    hint = (
        f"Check the model id; the network (or HF_ENDPOINT for a mirror); HF_TOKEN for gated models. "
        f"Downloads are cached under {cache}/hub, and a cached model loads with HF_HUB_OFFLINE=1. "
        "A local folder works too: --model ./my-checkpoint"
    )
    if "does not recognize this architecture" in detail or "model type" in detail:
        hint = "This transformers is too old for the model's architecture: pip install -U transformers"
    return f"cannot load {model_ref} from the Hugging Face Hub: {detail}. {hint}"
