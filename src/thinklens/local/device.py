"""Where the model runs and in which precision: CUDA > MPS > CPU, bf16 where the hardware has it.

Defaults, and why:
- CUDA: bfloat16 when the GPU supports it (Ampere and newer), else float16.  Reasoning
  models are trained and released in bf16; fp16 can overflow in long generations.
- MPS (Apple silicon): bfloat16 when this torch/macOS can allocate it, else float16.
- CPU: bfloat16 when the CPU has native bf16 instructions (AVX512-BF16 or AMX: Intel
  Sapphire Rapids and newer, AMD Zen 4 and newer), float32 otherwise.  Decoding is
  memory-bound and bf16 halves the bytes; on a Zen 4 core bf16 matmuls measured 1-3x
  faster than fp32 (docs/local.md).  Without those instructions bf16 is emulated and
  slower, so fp32 stays the default there.
`--device` / `--dtype` override both.  `--device auto` shards a model too large for one
GPU over all visible GPUs (transformers `device_map="auto"`, needs accelerate).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError

DTYPES: dict[str, torch.dtype | str] = {
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
    "float32": torch.float32, "fp32": torch.float32, "float": torch.float32,
    "auto": "auto",  # the dtype stored in the checkpoint's config.json
}


@dataclass(frozen=True)
class Placement:
    device: str  # "cuda:0", "mps", "cpu", or "auto" (sharded over all GPUs)
    dtype: torch.dtype | str  # a torch dtype, or "auto" (the checkpoint's own)
    note: str  # how it was chosen, for the log line

    @property
    def sharded(self) -> bool:
        return self.device == "auto"

    def describe(self) -> str:
        dtype = self.dtype if isinstance(self.dtype, str) else str(self.dtype).removeprefix("torch.")
        return f"{self.device}, {dtype} ({self.note})"


def choose_placement(device: str | None = None, dtype: str | None = None) -> Placement:
    """Validate `--device`/`--dtype` (clear errors, before any loading) and fill the defaults."""
    resolved_device, device_note = _choose_device(device)
    if dtype is None or dtype == "":
        resolved_dtype, dtype_note = _default_dtype(resolved_device)
    else:
        key = dtype.lower().removeprefix("torch.")
        if key not in DTYPES:
            raise ConfigError(f"--dtype must be one of bfloat16, float16, float32 or auto, got {dtype!r}")
        resolved_dtype, dtype_note = DTYPES[key], "--dtype"
        if resolved_dtype is torch.float16 and resolved_device == "cpu":
            raise ConfigError(
                "--dtype float16 is not supported on CPU by many torch kernels; use float32 (default) or bfloat16"
            )
    return Placement(resolved_device, resolved_dtype, f"{device_note}; {dtype_note}")


def _choose_device(device: str | None) -> tuple[str, str]:
    if device is None or device == "":
        if torch.cuda.is_available():
            return "cuda:0", "auto-detected CUDA"
        if _mps_available():
            return "mps", "auto-detected Apple MPS"
        return "cpu", "no GPU found"
    name = device.lower()
    if name == "cpu":
        return "cpu", "--device"
    if name == "auto":
        if not torch.cuda.is_available():
            raise ConfigError("--device auto shards the model over CUDA GPUs, but torch sees none")
        try:
            import accelerate  # noqa: F401  (device_map="auto" needs it)
        except ImportError:
            raise ConfigError("--device auto needs accelerate: pip install 'thinklens[local]'") from None
        return "auto", f"--device auto over {torch.cuda.device_count()} GPU(s)"
    if name == "mps":
        if not _mps_available():
            raise ConfigError("--device mps requested, but this torch build has no usable MPS backend")
        return "mps", "--device"
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            build = "a CPU-only torch build" if torch.version.cuda is None else f"torch built for CUDA {torch.version.cuda}"
            raise ConfigError(f"--device {device} requested, but torch sees no CUDA GPU ({build})")
        index = 0
        if name != "cuda":
            try:
                index = int(name.split(":", 1)[1])
            except ValueError:
                raise ConfigError(f"--device {device!r}: expected cuda or cuda:N") from None
        if not 0 <= index < torch.cuda.device_count():
            raise ConfigError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) visible")
        return f"cuda:{index}", "--device"
    raise ConfigError(f"--device must be cuda, cuda:N, mps, cpu or auto, got {device!r}")


def _default_dtype(device: str) -> tuple[torch.dtype, str]:
    if device.startswith("cuda") or device == "auto":
        index = 0 if device == "auto" else int(device.split(":")[1])
        if _cuda_native_bf16(index):
            return torch.bfloat16, "bf16: supported by the GPU"
        return torch.float16, "fp16: this GPU has no bf16"
    if device == "mps":
        try:
            torch.ones(1, dtype=torch.bfloat16, device="mps")
            return torch.bfloat16, "bf16 on MPS"
        except (RuntimeError, TypeError):
            return torch.float16, "fp16: this MPS has no bf16"
    if cpu_has_native_bf16():
        return torch.bfloat16, "bf16: this CPU has native bf16 (AVX512-BF16/AMX)"
    return torch.float32, "fp32: this CPU has no native bf16"


def cpu_has_native_bf16() -> bool:
    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):  # torch >= 2.3
        check = getattr(cpu, probe, None)
        try:
            if check is not None and check():
                return True
        except (RuntimeError, AttributeError):
            continue
    return False


def _cuda_native_bf16(index: int) -> bool:
    # Native bf16 tensor cores from compute capability 8.0 (Ampere); torch's own
    # is_bf16_supported() may report emulated support on older GPUs, which is slow.
    major, _ = torch.cuda.get_device_capability(index)
    return major >= 8


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
