"""cnneff.tables: the book's DataFrames for people (issue 19: integers as
integers, no 0..n index, a dash for nothing, no scientific notation, real superscripts)."""
import re

import numpy as np
import pandas as pd
import pytest

from cnneff import tables


def _cells(html: str) -> list[str]:
    return re.findall(r"<t[dh](?:\s[^>]*)?>(.*?)</t[dh]>", html)


def test_default_index_hidden_a_meaningful_one_kept():
    df = pd.DataFrame({"model": ["a", "b"], "x": [1.5, 2.25]})
    assert _cells(tables.to_html(df)) == ["model", "x", "a", "1.50", "b", "2.25"]
    named = tables.to_html(df.set_index("model"))
    assert _cells(named)[:3] == ["model", "x", "a"] and "<th>a</th>" in named
    shifted = pd.DataFrame({"x": [1.0]}, index=[5])  # not 0..n-1: shown
    assert "<th>5</th>" in tables.to_html(shifted)


def test_integers_as_integers_missing_as_dash_no_scientific_notation():
    df = pd.DataFrame({"batch": [256.0, 64.0], "params": [20_180_050.0, np.nan], "acc": [0.71234567, None],
                       "tiny": [1e-7, 2e-5], "mixed": [1.0, 0.5]})
    cells = _cells(tables.to_html(df))[5:]
    assert cells == ["256", "20,180,050", "0.7123", "0.0000001", "1.0", "64", "\u2013", "\u2013", "0.0000200", "0.5"]
    assert not any("e+" in c or "e-" in c or "nan" in c.lower() for c in cells)


def test_format_number_keeps_what_decides_and_drops_noise():
    assert tables.format_number(2_634_000_000) == "2,634,000,000"  # every digit of a count
    assert tables.format_number(2.64e9) == "2,640,000,000"
    assert tables.format_number(0.1 + 0.2) == "0.3" and tables.format_number(385.8) == "385.8"
    assert tables.format_number(12345.678) == "12,346" and tables.format_number(-1.29) == "-1.29"
    assert tables.format_number(float("nan")) == "\u2013" and tables.format_number(None) == "\u2013"
    assert tables.format_number(True) == "True"


def test_superscripts_and_escaping():
    df = pd.DataFrame({"model": ["EfficientNet-B^-1", "B^-phi <b>"], "B^-phi acc": [0.5, 0.6]})
    html = tables.to_html(df)
    assert "B<sup>\u22121</sup>" in html and "B<sup>\u2212\u03c6</sup> &lt;b&gt;" in html
    assert "<th style=\"text-align: right\">B<sup>\u2212\u03c6</sup> acc</th>" in html and "^" not in html


def test_register_outside_ipython_does_nothing():
    assert tables.register() is False


def test_register_installs_the_formatter():
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    assert tables.register(shell) is True
    fmt = shell.display_formatter.formatters["text/html"]
    assert fmt.lookup(pd.DataFrame({"x": [1]})) is tables.to_html
