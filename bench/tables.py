"""How the benchmarks print their figures: a plain table, columns aligned, under the command that made it."""

from __future__ import annotations

from collections.abc import Sequence


def print_aligned(headers: Sequence[str], cells: Sequence[Sequence[str]], title: str | None = None) -> None:
    """Print `cells` (rows of strings) under `headers`, each column as wide as its widest cell; `title` first."""
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    if title:
        print(title)
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
