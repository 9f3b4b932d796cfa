"""Console table columns that survive 80 columns (a log, a pipe, CI).

rich shrinks a table that is too wide by wrapping its wrappable columns and, when that
is not enough, by cutting cells with an ellipsis ("DeepSeek-R1-Distill-Qwe…", "NoA…").
Here names fold onto further lines (deliberately, every character kept), numbers never
wrap, and a header is never narrower than its longest word, so nothing is cut mid-word.
"""

from __future__ import annotations

from rich.table import Table


def add_column(table: Table, header: str, *, text: bool = False) -> None:
    """`text`: a name (model, dataset, subset), left-aligned, folded when the table must
    shrink; otherwise a number, right-aligned, kept on one line."""
    longest_word = max((len(w) for w in header.split()), default=0)
    if text:
        table.add_column(header, justify="left", overflow="fold", min_width=longest_word)
    else:
        table.add_column(header, justify="right", no_wrap=True, min_width=longest_word)
