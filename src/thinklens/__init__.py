"""thinklens: evaluate reasoning LLMs (accuracy, efficiency of reasoning, serving speed).

    from thinklens import TaskConfig, run_task
    run_task(TaskConfig(api_url=..., model=..., datasets=["math_500"]))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from .config import TaskConfig
    from .runner import run_task

__all__ = ["TaskConfig", "run_task", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy so that `thinklens --help` and the mock server start fast.
    if name == "TaskConfig":
        from .config import TaskConfig

        return TaskConfig
    if name == "run_task":
        from .runner import run_task

        return run_task
    raise AttributeError(name)
