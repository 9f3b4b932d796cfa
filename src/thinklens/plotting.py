"""matplotlib figures without pyplot, and without matplotlib when it is not installed.

Figures are an extra (`pip install 'thinklens[figures]'`: matplotlib, fontTools and
pillow are ~100 MB); the numbers they show are always written as JSON/CSV, and the
viewer draws its own charts.  Each figure is a `matplotlib.figure.Figure` on its own
Agg canvas: pyplot would select, and `matplotlib.use` would switch, the process-wide
backend, which inside a notebook or a GUI application belongs to the user; and no
figure enters pyplot's global registry, so nothing has to be closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ThinklensError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

FIGURES_EXTRA = "pip install 'thinklens[figures]'"
NO_FIGURES_NOTE = f"figures skipped: matplotlib is not installed ({FIGURES_EXTRA})"


class FiguresUnavailable(ThinklensError):
    """Drawing was asked for, and matplotlib is not installed."""


def figures_available() -> bool:
    try:
        import matplotlib  # noqa: F401  (only its package: no backend is chosen here)
    except ImportError:
        return False
    return True


def new_figure(**kwargs: Any) -> Figure:
    """`Figure(**kwargs)` with an Agg canvas attached (savefig to PNG/SVG needs no display)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise FiguresUnavailable(f"figures need matplotlib: {FIGURES_EXTRA} ({exc})") from exc
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig
