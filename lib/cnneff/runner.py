"""Execute the book's notebooks with papermill, one profile at a time.

``run_notebook("architectures_and_costs", profile="cpu", overrides={...})``
reads the profile's values from ``params/<profile>/<name>.yaml`` (absent: the
notebook's own defaults, which *are* the cpu profile), applies ``overrides``,
refuses any parameter the notebook does not declare, and executes
``notebooks/<name>.ipynb`` into ``results/<profile>/<name>.ipynb``.  The run
goes to a temporary file first: a failed run never replaces the last good
executed notebook, it is kept beside it as ``<name>.failed.ipynb``.
:func:`check_runs` checks a whole batch (names, parameters, DATA_ROOT, a
writable results folder) before the first notebook starts.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import yaml

from .paths import NOTEBOOKS, PARAMS, PROFILES, RESULTS, ROOT, base_profile, results_dir

__all__ = ["RunError", "notebook_names", "notebook_parameters", "profile_parameters", "run_notebook",
           "is_up_to_date", "expand_data_root", "check_runs", "run_folder"]


class RunError(RuntimeError):
    """A notebook could not be run (unknown name or parameter, or it failed)."""


def notebook_names() -> list[str]:
    """Names (file stems) of the notebooks under ``notebooks/``, sorted."""
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def _source(name: str) -> Path:
    path = NOTEBOOKS / f"{name}.ipynb"
    if not path.is_file():
        raise RunError(f"no notebook {name!r} in {NOTEBOOKS}; valid names: {', '.join(notebook_names())} or 'all'")
    return path


def _declared(name: str) -> dict[str, tuple[object, bool]]:
    """{parameter: (default, whether the default is a literal)} of the notebook's
    parameters cell (papermill's inspection; a non-literal default is kept as its source text)."""
    import ast

    import papermill as pm

    out = {}
    for key, info in pm.inspect_notebook(str(_source(name))).items():
        try:
            out[key] = (ast.literal_eval(info["default"]), True)
        except (ValueError, SyntaxError):
            out[key] = (info["default"], False)
    return out


def notebook_parameters(name: str) -> dict:
    """The parameters declared in the notebook's ``parameters`` cell, as
    ``{name: default value}`` (papermill's inspection, evaluated literally)."""
    return {k: v for k, (v, _) in _declared(name).items()}


def profile_parameters(name: str, profile: str) -> dict:
    """Values that ``params/<profile>/<name>.yaml`` sets (empty if the file is absent)."""
    if profile not in PROFILES:
        raise RunError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    path = PARAMS / profile / f"{name}.yaml"
    if not path.is_file():
        return {}
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise RunError(f"{path} must be a mapping of parameter: value")
    return values


def run_folder(profile: str, overrides: dict | None = None) -> str:
    """Name of the results folder of a run: the profile itself without
    overrides, else ``<profile>+KEY=VALUE,...`` (sorted; characters that do not
    belong in a folder name become ``_``), e.g. ``cpu+epochs=10``.  A run with
    overrides never writes over the committed ``results/<profile>/``."""
    if not overrides:
        return profile
    import re

    parts = [f"{k}={json.dumps(v, separators=(',', ':')) if not isinstance(v, str) else v}"
             for k, v in sorted(overrides.items())]
    return profile + "+" + re.sub(r"[^A-Za-z0-9_.,=+\-\[\]]", "_", ",".join(parts))[:150]


def parse_value(text: str):
    """Interpret a ``-p KEY VALUE`` value as YAML (``3`` -> int, ``[64, 96]`` ->
    list, ``true`` -> bool), keeping it a string when YAML cannot read it."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def expand_data_root(value, notebook: str = "", key: str = ""):
    """Replace ``$DATA_ROOT`` / ``${DATA_ROOT}`` in a string parameter (the GPU
    profile's paths, e.g. ``folder:${DATA_ROOT}/rmfd``) by the environment
    variable; other values pass unchanged.  Raises :class:`RunError` if the value
    needs DATA_ROOT and it is not set."""
    if not isinstance(value, str) or "DATA_ROOT" not in value:
        return value
    if not os.environ.get("DATA_ROOT"):
        raise RunError(f"parameter {key!r} of {notebook!r} is {value!r}: set DATA_ROOT to the folder that holds "
                       "the papers' data sets, e.g. `make reproduce PROFILE=gpu DATA_ROOT=/data`")
    return value.replace("${DATA_ROOT}", os.environ["DATA_ROOT"]).replace("$DATA_ROOT", os.environ["DATA_ROOT"])


def _type_name(v) -> str:
    return "null" if v is None else {bool: "true/false", int: "an integer", float: "a number", str: "a string",
                                    list: "a list", dict: "a mapping"}.get(type(v), type(v).__name__)


def _same_type(value, default) -> bool:
    """True if ``value`` may replace ``default``: the same type, an integer
    where a number is expected, or either one null."""
    if value is None or default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def _checked_parameters(name: str, profile: str, overrides: dict | None) -> tuple[dict, dict]:
    """(declared parameters, values as written) of one run; RunError for a
    value the notebook does not declare or whose type differs from the
    declared default's (``epochs: "4x"`` where the default is 4).  In the gpu
    profile without ``DATA_ROOT``, values that need it are left out, so the
    notebook runs the paper's settings on its embedded data set."""
    literal = _declared(name)
    declared = {k: v for k, (v, _) in literal.items()}
    raw = {**profile_parameters(name, profile), **(overrides or {})}
    unknown = sorted(set(raw) - set(declared))
    if unknown:
        raise RunError(
            f"notebook {name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(declared)}"
        )
    for key, value in raw.items():
        default, is_literal = literal[key]
        if not is_literal:
            continue  # the default is an expression: nothing to compare with
        if not _same_type(value, default):
            raise RunError(f"notebook {name!r}: parameter {key!r} must be {_type_name(default)} like its default "
                           f"{default!r}, got {value!r} ({_type_name(value)})")
    if base_profile(profile) == "gpu" and not os.environ.get("DATA_ROOT"):
        raw = {k: v for k, v in raw.items() if not (isinstance(v, str) and "DATA_ROOT" in v)}
    return declared, raw


def _check_writable(folder: Path) -> None:
    """RunError unless ``folder`` can be created and written (a temporary file is made and removed)."""
    from .core import probe_writable  # lazily: core imports torch

    try:
        probe_writable(folder)
    except OSError as e:
        raise RunError(f"results folder {folder} is not writable ({e.strerror or e}); make it writable or set "
                       "CNNEFF_RESULTS_DIR to a writable folder; nothing was run") from None


def check_runs(names: list[str], profile: str = "cpu", overrides: dict | None = None,
               force: bool | dict = True, out: str | Path | None = None, require_data_root: bool = False) -> None:
    """Check a batch of runs before any starts: every name exists, every
    parameter is declared, DATA_ROOT is set if any value needs it, and the
    results folder is writable.  ``force`` as :func:`run_notebook` (a dict:
    per name); notebooks that would be skipped as up to date are not checked
    for DATA_ROOT.  Returns None; raises one :class:`RunError` listing every
    parameter that needs DATA_ROOT."""
    needs = []
    for name in names:
        _, raw = _checked_parameters(name, profile, overrides)
        if require_data_root:  # the papers' data sets are asked for: every value that names them counts
            raw = {**profile_parameters(name, profile), **(overrides or {})}
        forced = force.get(name, True) if isinstance(force, dict) else force
        if not forced and is_up_to_date(name, profile, overrides, out):
            continue
        needs += [f"{name}.{k}" for k, v in raw.items() if isinstance(v, str) and "DATA_ROOT" in v]
    if needs and not os.environ.get("DATA_ROOT"):
        more = f" and {len(needs) - 6} more" if len(needs) > 6 else ""
        raise RunError(f"set DATA_ROOT to the folder that holds the papers' data sets (e.g. `make reproduce "
                       f"PROFILE={profile} DATA_ROOT=/data`): {', '.join(needs[:6])}{more} need it; nothing was run")
    _check_writable(_results_base(out) / run_folder(profile, overrides))


def _results_base(out: str | Path | None = None) -> Path:
    """The folder that holds the profile folders of a run: ``out`` if given,
    else ``$CNNEFF_RESULTS_DIR`` or ``results/``."""
    return Path(out) if out else Path(os.environ.get("CNNEFF_RESULTS_DIR") or RESULTS)


def _stamp(name: str, params: dict, folder: Path | None = None) -> dict:
    """Hashes of what an executed notebook depends on: its source, its parameter
    values, the library (every file under lib/cnneff/, claims.yaml included)
    and, for the scorecard, every metrics.json it reads (of ``folder`` and of
    its base profile), so that a build from committed results re-runs nothing."""

    def digest(paths):
        h = hashlib.sha256()
        for p in sorted(paths):
            h.update((p.relative_to(ROOT).as_posix() if p.is_relative_to(ROOT) else p.name).encode())
            h.update(p.read_bytes())
        return h.hexdigest()

    lib = [p for p in (ROOT / "lib" / "cnneff").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    out = dict(source=digest([_source(name)]), library=digest(lib),
               parameters=hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest())
    if name == "scorecard" and folder is not None:
        inputs = sorted(folder.glob("*/metrics.json"))
        base = folder.parent / base_profile(folder.name)
        if base != folder:
            have = {p.parent.name for p in inputs}
            inputs += [p for p in sorted(base.glob("*/metrics.json")) if p.parent.name not in have]
        h = hashlib.sha256()
        for p in inputs:
            h.update(f"{p.parent.name}/{p.name}".encode())
            h.update(p.read_bytes())
        out["metrics"] = h.hexdigest()
    return out


def is_up_to_date(name: str, profile: str = "cpu", overrides: dict | None = None,
                  out: str | Path | None = None, folder: str | None = None) -> bool:
    """True if the executed copy of ``name`` for this run (``results/<run
    folder>/<name>.ipynb``, see :func:`run_folder`) exists and its stamp
    matches the current source, parameters and library (and, for the
    scorecard, the metrics it reads), so ``make book`` can skip it."""
    where = _results_base(out) / (folder or run_folder(profile, overrides))
    final, stamp_file = where / f"{name}.ipynb", where / f"{name}.stamp.json"
    if not final.is_file() or not stamp_file.is_file():
        return False
    params = {**profile_parameters(name, profile), **(overrides or {})}
    return json.loads(stamp_file.read_text()) == _stamp(name, params, where)


def _assignments(source: str) -> list[tuple[str, str, str]]:
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


def rerun_box(name: str, profile: str = "cpu", used: dict | None = None) -> list[str]:
    """Markdown lines of the box every executed notebook page shows under its
    parameters: each parameter with the value this run used (``used``, as
    written in papermill's injected cell; else the default) and its meaning
    (the comment of its line in the parameters cell), the ``cnneff run`` and
    plain papermill commands, and a link to the clean source notebook."""
    cell = next(c for c in json.loads(_source(name).read_text())["cells"]
                if "parameters" in c.get("metadata", {}).get("tags", []))
    used = used or {}
    rows, names = [], []
    for key, default, meaning in _assignments("".join(cell["source"])):
        if key == "profile":
            continue
        value = used.get(key, default).replace("|", "\\|")
        rows.append(f"| `{key}` | `{value}` | {meaning.replace('|', '/')} |")
        names.append(key)
    if not rows:  # a report such as the scorecard: its one parameter is the profile whose results it reads
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
    example = next((k for k in ("epochs", "scratch_epochs", "threads") if k in names), names[0])
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
        f"Re-run it with other values (results go to `results/{base_profile(profile)}+KEY=VALUE/`, "
        "the book's results stay untouched):",
        "",
        "```bash",
        f"cnneff run {name} -p {example} VALUE",
        f"papermill notebooks/{name}.ipynb out.ipynb -p {example} VALUE   # metrics in ./cnneff-results/",
        "```",
        "",
        f"{{download}}`Download the clean source notebook <../../notebooks/{name}.ipynb>`",
        "````",
    ]).splitlines(keepends=True)


def _scrub(path: Path, name: str | None = None, profile: str = "cpu") -> None:
    """Remove what differs between two executions of the same notebook and
    what names this machine from an executed notebook: papermill's absolute
    input/output paths, its start/end times and durations (notebook and cells);
    hide papermill's injected-parameters cell from the book and add the
    re-run box (:func:`rerun_box`) under the parameters cell."""
    nb = json.loads(path.read_text())
    pm_meta = nb.get("metadata", {}).get("papermill", {})
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
        used = {k: v for k, v, _ in _assignments("".join(injected["source"]))} if injected else {}
        at = next((i + 1 for i, c in enumerate(nb["cells"]) if "parameters" in c.get("metadata", {}).get("tags", [])), 1)
        nb["cells"].insert(at, dict(cell_type="markdown", id=f"rerun-{name}"[:64], metadata={"tags": ["rerun-box"]},
                                    source=rerun_box(name, profile, used)))
    from .core import atomic_write_text

    atomic_write_text(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def run_notebook(name: str, profile: str = "cpu", overrides: dict | None = None, progress: bool = True,
                 force: bool = True, out: str | Path | None = None, folder: str | None = None) -> Path:
    """Execute notebook ``name`` with ``profile``'s parameters (and
    ``overrides``) and return the path of the executed copy.

    Without overrides the copy goes to ``results/<profile>/<name>.ipynb``;
    with overrides to a run folder of its own, ``results/<profile>+KEY=VALUE/``
    (:func:`run_folder`), never over the committed profile; ``out`` puts the
    profile folders under another folder.  The notebook's metrics follow
    (``CNNEFF_RESULTS_DIR`` is set for its kernel).  ``folder`` names the
    run folder explicitly (the scorecard of another run's folder).  Raises :class:`RunError`
    naming the notebook's parameters if a profile or override sets an unknown
    one, and :class:`RunError` (with the failed copy's path) if execution fails."""
    import papermill as pm

    source = _source(name)
    base = _results_base(out)
    folder_name = folder or run_folder(profile, overrides)
    out_dir = base / folder_name
    final = out_dir / f"{name}.ipynb"
    if not force and is_up_to_date(name, profile, overrides, out, folder):
        print(f"{name}: up to date (source, parameters and library unchanged since its last good run)")
        return final
    declared, raw = _checked_parameters(name, profile, overrides)  # raw: as written, what the stamp hashes
    params = {k: expand_data_root(v, name, k) for k, v in raw.items()}
    if "profile" in declared:
        params["profile"] = folder_name  # the notebook writes its metrics into its run folder

    _check_writable(out_dir)
    failed = out_dir / f"{name}.failed.ipynb"
    tmp = out_dir / f".{name}.running.ipynb"
    t0 = time.perf_counter()
    saved_env = os.environ.get("CNNEFF_RESULTS_DIR")
    os.environ["CNNEFF_RESULTS_DIR"] = str(base)  # the kernel inherits it: save_metrics writes beside the copy
    try:
        pm.execute_notebook(str(source), str(tmp), parameters=params, cwd=str(ROOT), progress_bar=progress,
                            kernel_name="python3")
    except BaseException as e:
        kept = False
        if tmp.exists():
            try:
                os.replace(tmp, failed)
                kept = True
            except OSError:
                tmp.unlink(missing_ok=True)
        if isinstance(e, KeyboardInterrupt):
            raise
        why = f"{e.ename}: {e.evalue}" if hasattr(e, "ename") else f"{type(e).__name__}: {e}"
        why = " ".join(why.split())
        where = f"the failed run is kept in {failed}" if kept else "no copy of the failed run could be written"
        raise RunError(f"notebook {name!r} failed ({why}); {where}; "
                       f"the last good run (if any) is still {final}") from e
    finally:
        if saved_env is None:
            os.environ.pop("CNNEFF_RESULTS_DIR", None)
        else:
            os.environ["CNNEFF_RESULTS_DIR"] = saved_env
    _scrub(tmp, name, folder_name)
    os.replace(tmp, final)
    failed.unlink(missing_ok=True)
    from .core import atomic_write_text

    atomic_write_text(out_dir / f"{name}.stamp.json", json.dumps(_stamp(name, raw, out_dir), indent=1) + "\n")
    print(f"{name}: executed in {time.perf_counter() - t0:.0f} s -> {final.relative_to(ROOT) if final.is_relative_to(ROOT) else final}")
    return final
