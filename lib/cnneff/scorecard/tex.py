"""The papers' TeX shown as text: what a quote's ``$\\alpha \\cdot \\beta^2$``
looks like in the book's HTML tables (the scorecard, the ledger, the errata).

Those tables are glued HTML, which MathJax does not typeset (they are marked
``tex2jax_ignore``: a quote's dollar signs are not the book's delimiters), so a
quote would show its TeX raw.  :func:`tex_to_text` rewrites the TeX the
papers use into Unicode instead: Greek letters, operators, super- and
subscripts (``2^n`` -> 2ⁿ, ``C_0`` -> C₀), ``\\sqrt{x}`` -> √(x),
``\\mathcal{C}`` -> 𝒞, ``\\text{s.t. }`` -> s.t.  The words of the quote stay
as the paper wrote them; a name with an underscore (``Bit_budget``) stays a
name.
"""
from __future__ import annotations

import re

__all__ = ["tex_to_text", "MACROS"]

MACROS = {  # TeX command -> the character a reader sees
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "phi": "ϕ", "varphi": "φ", "theta": "θ",
    "lambda": "λ", "mu": "μ", "sigma": "σ", "tau": "τ", "pi": "π", "Delta": "Δ", "Sigma": "Σ",
    "cdot": "·", "times": "×", "approx": "≈", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠",
    "in": "∈", "sum": "∑", "prod": "∏", "infty": "∞", "pm": "±", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈",
    "rceil": "⌉", "to": "→", "rightarrow": "→", "quad": " ", "qquad": " ", "ldots": "…", "dots": "…",
    "cdots": "⋯", "log": "log", "max": "max", "min": "min", "mathrm": "", "mathit": "", "left": "", "right": "",
}
SUPERSCRIPT = dict(zip("0123456789+-=()niϕ", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵠ"))
SUBSCRIPT = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
CALLIGRAPHIC = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "𝒜ℬ𝒞𝒟ℰℱ𝒢ℋℐ𝒥𝒦ℒℳ𝒩𝒪𝒫𝒬ℛ𝒮𝒯𝒰𝒱𝒲𝒳𝒴𝒵"))

_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\w$])\$([^\s$][^$\n]*?)\$(?![\w$])", re.S)
_ESCAPED = {r"\%": "%", r"\_": "_", r"\,": " ", r"\;": " ", r"\!": "", r"\ ": " "}
_OPEN, _CLOSE = "\x01", "\x02"  # a set's braces (``\{ \}``) while TeX's grouping braces are dropped


def _script(body: str, table: dict, mark: str) -> str:
    """``body`` raised (``table`` = SUPERSCRIPT) or lowered (SUBSCRIPT) when
    every character has a Unicode form, else ``mark(body)``.  Returns text."""
    body = body.strip()
    if body and all(ch in table for ch in body):
        return "".join(table[ch] for ch in body)
    return f"{mark}{body}" if len(body) == 1 else f"{mark}({body})"


def _braced(text: str, command: str, make) -> str:
    """Every ``\\command{...}`` (balanced braces) in ``text`` replaced by ``make(inside)``.  Returns text."""
    out, i, key = [], 0, "\\" + command + "{"
    while (j := text.find(key, i)) >= 0:
        depth, k = 1, j + len(key)
        while k < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            k += 1
        out += [text[i:j], make(text[j + len(key): k - 1])]
        i = k
    return "".join(out) + text[i:]


def _math(tex: str) -> str:
    """One TeX formula as Unicode text.  Returns text."""
    for esc, ch in _ESCAPED.items():
        tex = tex.replace(esc, ch)
    tex = tex.replace("\\{", _OPEN).replace("\\}", _CLOSE)
    tex = _braced(tex, "text", lambda s: s)
    tex = _braced(tex, "mathcal", lambda s: "".join(CALLIGRAPHIC.get(c, c) for c in s))
    tex = _braced(tex, "sqrt", lambda s: "√" + (s if re.fullmatch(r"\w", s) else f"({s})"))
    tex = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: "/".join(
        x if re.fullmatch(r"[\w.]+", x) else f"({x})" for x in m.groups()), tex)
    tex = re.sub(r"\\([A-Za-z]+)", lambda m: MACROS.get(m.group(1), m.group(1)), tex)
    tex = re.sub(r"\^\{([^{}]*)\}", lambda m: _script(m.group(1), SUPERSCRIPT, "^"), tex)
    tex = re.sub(r"\^([\wϕ])", lambda m: _script(m.group(1), SUPERSCRIPT, "^"), tex)
    tex = re.sub(r"_\{([^{}]*)\}", lambda m: _script(m.group(1), SUBSCRIPT, "_"), tex)
    tex = re.sub(r"(?<=\w)_(\w)(?!\w)", lambda m: _script(m.group(1), SUBSCRIPT, "_"), tex)  # C_0, not Bit_budget
    tex = tex.replace("{", "").replace("}", "").replace(_OPEN, "{").replace(_CLOSE, "}")
    return re.sub(r"[ \t]{2,}", " ", tex).strip()


def tex_to_text(text: str) -> str:
    """``text`` with its TeX (``$...$``, ``$$...$$`` and bare commands such as
    ``\\cdot``) written as Unicode, the rest unchanged; text without a dollar
    sign or a backslash comes back as it is.  Returns text."""
    text = str(text)
    if "$" not in text and "\\" not in text:
        return text
    text = _MATH.sub(lambda m: _math(m.group(1) if m.group(1) is not None else m.group(2)), text)
    if "\\" in text:  # TeX outside dollars ("Number_of_parameters \cdot n + 2^n \cdot 32")
        text = _math_outside(text)
    return text


def _math_outside(text: str) -> str:
    """Bare TeX commands and their scripts in running text as Unicode; braces
    of the prose stay.  Returns text."""
    for esc, ch in {**_ESCAPED, r"\{": "{", r"\}": "}"}.items():
        text = text.replace(esc, ch)
    text = re.sub(r"\\([A-Za-z]+)", lambda m: MACROS.get(m.group(1), m.group(1)), text)
    text = re.sub(r"\^\{([^{}]*)\}", lambda m: _script(m.group(1), SUPERSCRIPT, "^"), text)
    return re.sub(r"(?<=\w)\^([\wϕ])(?!\w)", lambda m: _script(m.group(1), SUPERSCRIPT, "^"), text)
