"""The `[local]` extra (torch + transformers): checked once, with a message that says how to install it."""

from __future__ import annotations

import importlib

INSTALL_HINT = "pip install 'thinklens[local]'"
MIN_TRANSFORMERS = (4, 45)


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def require_local_deps() -> None:
    """Raise ImportError (with the install hint) unless torch and transformers are importable."""
    missing = []
    for name in ("torch", "transformers"):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            missing.append(f"{name} ({exc})")
    if missing:
        raise ImportError(
            f"the checkpoint backend needs torch and transformers; missing: {'; '.join(missing)}. "
            f"Install them with: {INSTALL_HINT}"
        )
    import transformers

    if _version_tuple(transformers.__version__) < MIN_TRANSFORMERS:
        raise ImportError(
            f"the checkpoint backend needs transformers>={'.'.join(map(str, MIN_TRANSFORMERS))}, "
            f"found {transformers.__version__}. Upgrade with: {INSTALL_HINT}"
        )
