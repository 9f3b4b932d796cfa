"""Evaluate a local checkpoint with transformers, no server (`eval_type='checkpoint'`).

Importing this package needs the `[local]` extra (torch + transformers); without it
the import raises ImportError with the install hint, which `make_backend` turns into
a ConfigError.  Nothing else in thinklens imports torch.
"""

from .deps import INSTALL_HINT, require_local_deps

require_local_deps()

from .backend import CheckpointBackend  # noqa: E402
from .device import Placement, choose_placement  # noqa: E402
from .engine import GenerationRequest, LocalEngine  # noqa: E402
from .loading import LoadedCheckpoint, is_local_path, load_checkpoint  # noqa: E402
from .sampling import SamplingPlan, resolve_sampling  # noqa: E402

__all__ = [
    "INSTALL_HINT", "CheckpointBackend", "GenerationRequest", "LoadedCheckpoint", "LocalEngine", "Placement",
    "SamplingPlan", "choose_placement", "is_local_path", "load_checkpoint", "require_local_deps", "resolve_sampling",
]
