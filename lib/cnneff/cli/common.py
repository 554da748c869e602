"""What every ``cnneff`` sub-command shares: :class:`CliError`, integer
options, one-line warnings and tables that fit the terminal."""
from __future__ import annotations

import argparse
import sys

__all__ = ["CliError", "fit_table", "int_option", "warn"]


class CliError(ValueError):
    """A command-line argument cannot work; the one-line message names it and the fix."""


def int_option(text: str) -> int:
    """argparse type: an integer (``6.5`` is refused with one line).  Returns it."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def warn(message: str) -> None:
    """Print ``cnneff: warning: MESSAGE`` (one line) on stderr.  Returns None."""
    print(f"cnneff: warning: {' '.join(str(message).split())}", file=sys.stderr)


def fit_table(df, wrap: str, width: int | None = None, cap: int = 24) -> str:
    """``df`` (a DataFrame of strings) as a plain-text table that fits a
    terminal ``width`` columns wide (default: the terminal's, 100 when it is
    not a terminal): every column but ``wrap`` as wide as its widest cell up
    to ``cap`` characters (longer cells wrap onto more lines); ``wrap`` (the
    free-text column) wrapped into what is left, or, when under 40 columns
    are left, on the lines below its row, indented.  Returns the text."""
    import shutil
    import textwrap

    width = width or shutil.get_terminal_size((100, 24)).columns
    fixed = [c for c in df.columns if c != wrap]
    widths = {c: min(cap, max([len(str(c))] + [len(str(v)) for v in df[c]])) for c in fixed}
    while sum(widths.values()) + 2 * (len(fixed) - 1) > width and max(widths.values()) > 8:
        widest = max(widths, key=widths.get)  # a narrow terminal: narrow the widest column first
        widths[widest] -= 1
    room = width - sum(widths.values()) - 2 * len(fixed)
    below = room < 40
    widths[wrap] = width - 4 if below else room
    order = fixed if below else list(df.columns)

    def line(cells: dict) -> list[str]:
        parts = {c: textwrap.wrap(str(cells[c]), widths[c], break_on_hyphens=False) or [""] for c in df.columns}
        height = max(len(parts[c]) for c in order)
        rows = ["  ".join((parts[c][k] if k < len(parts[c]) else "").ljust(widths[c]) for c in order).rstrip()
                for k in range(height)]
        return rows + (["    " + t for t in parts[wrap]] if below and cells[wrap] != wrap else [])

    out = line({c: c for c in df.columns})
    for row in df.to_dict("records"):
        out += line(row)
    return "\n".join(out)
