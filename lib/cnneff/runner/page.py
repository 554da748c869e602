"""What an executed notebook page shows beyond its cells: the re-run box
under the parameters (each value used and what it means, the commands that
re-run it), and the scrubbing of what differs between two executions."""
from __future__ import annotations

import ast
import json
from pathlib import Path

from ..paths import ROOT, base_profile
from .params import source_path

__all__ = ["assignments", "rerun_box", "scrub", "REHEARSAL_BANNER"]

# The first cell of every page of the rehearsal profile (make rehearsal).
REHEARSAL_BANNER = [
    "```{warning}\n",
    "**A rehearsal: these numbers mean nothing.** This page ran the gpu profile's code paths with only the sizes\n",
    "shrunk (epochs, images, image sides, repeats), on the CPU, on tiny generated copies of the papers' data sets\n",
    "laid out as their publishers ship them (`cnneff rehearsal-data`). It proves that the full run\n",
    "(`make reproduce PROFILE=gpu DATA_ROOT=...`) runs and writes every metric its claims read; it tests none of them.\n",
    "```\n",
]


def assignments(source: str) -> list[tuple[str, str, str]]:
    """(name, value as written, comment) of each ``name = value  # comment`` line."""
    import ast

    out = []
    for line in source.splitlines():
        code, _, comment = line.partition("  #")
        try:
            body = ast.parse(code.strip()).body
        except SyntaxError:
            body = []
        node = body[0] if body else None
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            out.append((node.targets[0].id, code.split("=", 1)[1].strip(), comment.strip().lstrip("#").strip()))
    return out


def _report_box(name: str, profile: str) -> list[str]:
    """The re-run box of a page that trains nothing (the scorecard): its one
    parameter, ``profile``, names the results it reads.  Returns Markdown lines."""
    return "\n".join([
        "````{admonition} Re-run this page",
        ":class: tip",
        "",
        f"This page is the notebook `notebooks/{name}.ipynb` executed with the `{base_profile(profile)}` profile. "
        "It trains nothing: its one parameter, `profile`, names the results it reads "
        f"(`results/<profile>/*/metrics.json`). Score another profile's results with:",
        "",
        "```bash",
        f"cnneff run {name} --profile smoke",
        f"papermill notebooks/{name}.ipynb out.ipynb -p profile smoke",
        "```",
        "",
        f"{{download}}`Download the clean source notebook <../../notebooks/{name}.ipynb>`",
        "````",
    ]).splitlines(keepends=True)


def rerun_box(name: str, profile: str = "cpu", used: dict | None = None) -> list[str]:
    """Markdown lines of the box every executed notebook page shows under its
    parameters: each parameter with the value this run used (``used``, as
    written in papermill's injected cell; else the default) and its meaning
    (the comment of its line in the parameters cell), the ``cnneff run`` and
    plain papermill commands, and a link to the clean source notebook."""
    cell = next(c for c in json.loads(source_path(name).read_text())["cells"]
                if "parameters" in c.get("metadata", {}).get("tags", []))
    used = used or {}
    rows, names = [], []
    for key, default, meaning in assignments("".join(cell["source"])):
        if key == "profile":
            continue
        value = used.get(key, default).replace("|", "\\|")
        rows.append(f"| `{key}` | `{value}` | {meaning.replace('|', '/')} |")
        names.append(key)
    if not rows:  # a report such as the scorecard: its one parameter is the profile whose results it reads
        return _report_box(name, profile)
    roles = [(k, v) for k, v, _ in assignments("".join(cell["source"])) if v.startswith('{"preset"')]
    if roles:  # a training role changes field by field (cnneff run merges; plain papermill replaces the mapping)
        role, spec = roles[0][0], ast.literal_eval(roles[0][1])
        example = f"{role} '{{epochs: 10}}'"
        pm_example = f"-y \"{role}: {{preset: {spec['preset']}, epochs: 10}}\""
    else:
        example = f"{next((k for k in ('seeds', 'threads') if k in names), names[0])} VALUE"
        pm_example = f"-p {example}"
    return "\n".join([
        "````{admonition} Re-run this page",
        ":class: tip",
        "",
        f"This page is the notebook `notebooks/{name}.ipynb` executed with the `{base_profile(profile)}` profile"
        + (f" and the changes of run folder `{profile}`" if profile != base_profile(profile) else "")
        + ". The parameters it ran with:",
        "",
        "| parameter | value | meaning |",
        "| --- | --- | --- |",
        *rows,
        "",
        f"Re-run it with other values (results go to `results/{base_profile(profile)}+KEY=VALUE-HASH/`, "
        "the book's results stay untouched):",
        "",
        "```bash",
        f"cnneff run {name} -p {example}",
        f"papermill notebooks/{name}.ipynb out.ipynb {pm_example}   # metrics in ./cnneff-results/",
        "```",
        "",
        f"{{download}}`Download the clean source notebook <../../notebooks/{name}.ipynb>`",
        "````",
    ]).splitlines(keepends=True)


def scrub(path: Path, name: str | None = None, profile: str = "cpu", output: Path | None = None) -> None:
    """Remove what differs between two executions of the same notebook and
    what names this machine from an executed notebook: papermill's absolute
    input/output paths, its start/end times and durations (notebook and cells);
    hide papermill's injected-parameters cell from the book and add the
    re-run box (:func:`rerun_box`) under the parameters cell.  ``output``:
    the path the copy will have once in place (it is scrubbed in a staging
    folder), recorded as papermill's output path.  Returns None."""
    nb = json.loads(path.read_text())
    pm_meta = nb.get("metadata", {}).get("papermill", {})
    if output is not None and "output_path" in pm_meta:
        pm_meta["output_path"] = str(output)
    for key in ("start_time", "end_time", "duration", "exception"):
        pm_meta.pop(key, None)
    for key in ("input_path", "output_path"):
        if key in pm_meta:
            p = Path(pm_meta[key])
            pm_meta[key] = p.relative_to(ROOT).as_posix() if p.is_absolute() and p.is_relative_to(ROOT) else p.name
    for cell in nb.get("cells", []):
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")  # the book shows the parameters once, in the re-run box
    if name and not any("rerun-box" in c.get("metadata", {}).get("tags", []) for c in nb.get("cells", [])):
        injected = next((c for c in nb["cells"] if "injected-parameters" in c.get("metadata", {}).get("tags", [])), None)
        used = {k: v for k, v, _ in assignments("".join(injected["source"]))} if injected else {}
        at = next((i + 1 for i, c in enumerate(nb["cells"]) if "parameters" in c.get("metadata", {}).get("tags", [])), 1)
        nb["cells"].insert(at, dict(cell_type="markdown", id=f"rerun-{name}"[:64], metadata={"tags": ["rerun-box"]},
                                    source=rerun_box(name, profile, used)))
    if base_profile(profile) == "rehearsal" and not any("rehearsal-banner" in c.get("metadata", {}).get("tags", [])
                                                       for c in nb.get("cells", [])):
        nb["cells"].insert(0, dict(cell_type="markdown", id=f"rehearsal-{name}"[:64],
                                   metadata={"tags": ["rehearsal-banner"]}, source=REHEARSAL_BANNER))
    from ..core import atomic_write_text

    atomic_write_text(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")

