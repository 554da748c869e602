"""Sphinx extension of the book: a NamedTuple field's documentation from its source comment.

Autodoc documents each field of a ``typing.NamedTuple`` with the docstring Python generates for it,
"Alias for field number N", which tells a reader nothing.  The library documents its fields with a
trailing comment instead (``crop: int  # centre crop side, pixels``); this extension puts that comment in
place of the generated text (capitalised, ending in a full stop), and "The ``name`` field (number N)." where a
field has no comment.  It reads the source only: the library is not changed.
"""
from __future__ import annotations

import inspect
import pydoc
import re

FIELD = re.compile(r"^\s+(\w+)\s*:[^#=]*(?:=[^#]*)?(?:#\s*(.*))?$")
GENERATED = re.compile(r"^Alias for field number (\d+)$")


def field_comments(cls) -> dict[str, str]:
    """Returns ``{field name: its trailing comment}`` read from the class's source ('' where none)."""
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return {}
    out = {}
    for line in lines[1:]:
        m = FIELD.match(line)
        if m and m.group(1) in getattr(cls, "_fields", ()):
            out[m.group(1)] = (m.group(2) or "").strip()
    return out


def sentence(text: str) -> str:
    """``text`` as a sentence: first letter capitalised, a full stop at the end."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) and not text.endswith("..") else text.rstrip(".") + "."


def plain(text: str) -> str:
    """``text`` (a source comment, plain text) escaped for reST: its ``*``, backquotes, ``|`` and ``_`` literal."""
    return re.sub(r"([\\*`|_])", r"\\\1", text)


def document_field(app, what, name, obj, options, lines):
    """``autodoc-process-docstring`` handler: replaces a NamedTuple field's generated docstring."""
    text = [line for line in lines if line.strip()]
    if what not in ("attribute", "property") or len(text) != 1:
        return
    m = GENERATED.match(text[0].strip())
    if not m:
        return
    owner, _, field = name.rpartition(".")
    cls = pydoc.locate(owner)  # the NamedTuple class: its module's import, then attribute by attribute
    comment = field_comments(cls).get(field, "") if cls is not None else ""
    lines[:] = [plain(sentence(comment)) if comment else f"The ``{field}`` field (number {m.group(1)})."]


def setup(app):
    app.connect("autodoc-process-docstring", document_field)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
