"""The papers' TeX shown as text in the book's glued HTML tables (cnneff.scorecard.tex): every quote and
claim text comes out without raw TeX by the browser check's own rule, plain text is left alone, and the
tables that show them (scorecard, ledger, errata) carry no TeX."""
import pandas as pd
import pytest

from cnneff import claims
from cnneff.scorecard.ledger import errata_html, ledger_html, load_ledger
from cnneff.scorecard.tex import tex_to_text
from helpers.scripts import load_script

check_book = load_script("check_book")
RAW_TEX = check_book.RAW_TEX


@pytest.mark.parametrize("tex, text", [
    (r"the model limits the $\alpha \cdot \beta^2 \cdot \gamma^2$ to 2",
     "the model limits the α · β² · γ² to 2"),
    (r"$$w = \sqrt{c/(r^2d)}, \quad \text{s.t. } 0 < c < 1.$$", "w = √(c/(r²d)), s.t. 0 < c < 1."),
    (r"between $0.03 \cdot \mathcal{C}_0$ and $1.05 \cdot \mathcal{C}_0$.", "between 0.03 · 𝒞₀ and 1.05 · 𝒞₀."),
    (r"We set c in $\{0.9, 0.5, 0.25\}$, and", "We set c in {0.9, 0.5, 0.25}, and"),
    (r"calculated as $2^{-\phi} \cdot C_0$.", "calculated as 2⁻ᵠ · C₀."),
    (r"(the difference $\leq 3\%$)", "(the difference ≤ 3%)"),
    (r"Bit_budget = Number_of_parameters \cdot n + 2^n \cdot 32", "Bit_budget = Number_of_parameters · n + 2ⁿ · 32"),
    (r"$$Bit_budget = Number_of_parameters \cdot n \quad (3)$$", "Bit_budget = Number_of_parameters · n (3)"),
    (r"$\frac{a+b}{2}$ and $h_{ij}$ and $x^{k+1}$", "(a+b)/2 and hᵢⱼ and x^(k+1)"),
    (r"MobileNetV2 $0.5 \times [38]$", "MobileNetV2 0.5 × [38]"),
])
def test_tex_becomes_unicode_text(tex, text):
    assert tex_to_text(tex) == text
    assert not RAW_TEX.search(tex_to_text(tex))


@pytest.mark.parametrize("plain", [
    "top-1 of 77.1 % at 390 M MACs", "a {set} in braces and a_name with an underscore", "costs 5 $ per hour",
    "2^ϕ as the paper prints it", "",
])
def test_text_without_tex_is_left_as_it_is(plain):
    assert tex_to_text(plain) == plain


def _fields():
    data = load_ledger()
    for section in ("entries", "errata"):
        for entry in data[section]:
            for key, value in entry.items():
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, str):
                        yield f"ledger {section} {entry.get('id', entry.get('where'))} {key}", v
    for c in claims.load()["claims"]:
        for key in ("what", "where"):
            if isinstance(c.get(key), str):
                yield f"claims {c['id']} {key}", c[key]


def test_every_quote_and_claim_text_shows_no_raw_tex():
    """The rule runs both ways: the raw fields do hold TeX the check would flag, the shown ones none."""
    fields = list(_fields())
    raw = [name for name, v in fields if RAW_TEX.search(v)]
    assert len(raw) >= 20, "the ledger and claims.yaml quote the papers' TeX; the check should see it raw"
    shown = [(name, tex_to_text(v)) for name, v in fields if RAW_TEX.search(tex_to_text(v)) or "\\" in tex_to_text(v)]
    assert not shown, shown[:5]


def test_the_ledger_and_errata_tables_carry_no_tex():
    card = pd.DataFrame(columns=["id", "verdict", "reason", "paper_value", "ours", "unit"])
    for page in (ledger_html(card), errata_html(card)):
        assert "\\cdot" not in page and "$$" not in page and not RAW_TEX.search(page)
