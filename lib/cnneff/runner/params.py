"""Which notebooks exist, which parameters each declares, and the values a
run uses: the notebook's defaults, the profile's ``params/<profile>/NAME.yaml``
and the command line's overrides, checked against the declared names and types
before any kernel starts."""
from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import yaml

from ..paths import NOTEBOOKS, PARAMS, PROFILES, base_profile

__all__ = ["RunError", "notebook_names", "source_path", "declared_parameters", "notebook_parameters", "profile_parameters",
           "run_folder", "overrides_digest", "parse_value", "expand_data_root", "checked_parameters"]


class RunError(RuntimeError):
    """A notebook could not be run (unknown name or parameter, or it failed)."""


def notebook_names() -> list[str]:
    """Names (file stems) of the notebooks under ``notebooks/``, sorted."""
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def source_path(name: str) -> Path:
    """The source ``notebooks/<name>.ipynb`` of a notebook NAME (a file stem
    under notebooks/, never a path: ``/abs/x``, ``../x`` or ``x.ipynb`` are
    refused with the list of names).  Returns the path; RunError otherwise."""
    names = notebook_names()
    if name not in names:
        what = "a path" if ("/" in name or os.sep in name or name.endswith(".ipynb")) else "no notebook"
        hint = (f"; `cnneff run` takes notebook names from {NOTEBOOKS}, not paths" if what == "a path" else
                f" in {NOTEBOOKS}")
        raise RunError(f"{name!r} is {what}{hint}; valid names: {', '.join(names)} or 'all'")
    return NOTEBOOKS / f"{name}.ipynb"


def declared_parameters(name: str) -> dict[str, tuple[object, bool]]:
    """{parameter: (default, whether the default is a literal)} of the notebook's
    parameters cell (papermill's inspection; a non-literal default is kept as its source text)."""

    import papermill as pm

    out = {}
    for key, info in pm.inspect_notebook(str(source_path(name))).items():
        try:
            out[key] = (ast.literal_eval(info["default"]), True)
        except (ValueError, SyntaxError):
            out[key] = (info["default"], False)
    return out


def notebook_parameters(name: str) -> dict:
    """The parameters declared in the notebook's ``parameters`` cell, as
    ``{name: default value}`` (papermill's inspection, evaluated literally)."""
    return {k: v for k, (v, _) in declared_parameters(name).items()}


# A profile file may hold two sections besides its common keys: ``paper_data`` (applied when DATA_ROOT is
# set: the papers' own data at paper scale) and ``embedded`` (applied when it is not: the same experiments
# on the embedded data sets, sized as an evidence run).  The gpu profile uses both.
DATA_SECTIONS = ("paper_data", "embedded")


def profile_parameters(name: str, profile: str) -> dict:
    """Values that ``params/<profile>/<name>.yaml`` sets (empty if the file is
    absent): its common keys, then its ``paper_data`` section when DATA_ROOT
    is set, else its ``embedded`` section.  Returns a dict."""
    if profile not in PROFILES:
        raise RunError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    path = PARAMS / profile / f"{name}.yaml"
    if not path.is_file():
        return {}
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise RunError(f"{path} must be a mapping of parameter: value")
    section = values.get("paper_data" if os.environ.get("DATA_ROOT") else "embedded") or {}
    if not isinstance(section, dict):
        raise RunError(f"{path}: its paper_data / embedded sections must be mappings of parameter: value")
    return {**{k: v for k, v in values.items() if k not in DATA_SECTIONS}, **section}


def overrides_digest(overrides: dict) -> str:
    """The first 8 hex digits of the sha256 of ``overrides`` as canonical JSON
    (sorted keys): the identity of a run's exact parameters.  Returns it."""
    import hashlib

    text = json.dumps(overrides, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def run_folder(profile: str, overrides: dict | None = None) -> str:
    """Name of the results folder of a run: the profile itself without
    overrides, else ``<profile>+KEY=VALUE,...-HASH``: a readable prefix (sorted
    keys; characters that do not belong in a folder name become ``_``; at most
    48 characters) and :func:`overrides_digest` of the exact values, e.g.
    ``cpu+data=folder_data_rmfd_a-3f9c2a1b``.  Two different requests never
    share a folder; a run with overrides never writes over the committed
    ``results/<profile>/``.  Returns the name."""
    if not overrides:
        return profile
    import re

    parts = [f"{k}={json.dumps(v, separators=(',', ':')) if not isinstance(v, str) else v}"
             for k, v in sorted(overrides.items())]
    readable = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_.,=\-]", "_", ",".join(parts)))[:48].strip("_.,=-")
    return f"{profile}+{readable}-{overrides_digest(overrides)}"


class _NoAliasLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors and aliases (``&a [*a]`` would be a
    list that holds itself; ``*a`` chains grow exponentially)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent) and self.peek_event().anchor in self.anchors:
            raise yaml.composer.ComposerError(None, None, "an alias (*name)", self.peek_event().start_mark)
        return super().compose_node(parent, index)


def parse_value(text: str, key: str | None = None):
    """Interpret a ``-p KEY VALUE`` value as YAML (``3`` -> int, ``[64, 96]`` ->
    list, ``true`` -> bool), keeping it a string when YAML cannot read it.
    YAML anchors and aliases (``&a [*a]``) are refused: RunError naming
    ``key``.  Returns the value."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.composer.ComposerError as e:
        if e.problem == "an alias (*name)":
            raise RunError(f"-p {key or 'VALUE'} {text!r}: YAML aliases (*name) are not accepted in a "
                           "parameter value; write the value out in full") from None
        return text
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


def checked_parameters(name: str, profile: str, overrides: dict | None) -> tuple[dict, dict]:
    """(declared parameters, values as written) of one run; RunError for a
    value the notebook does not declare or whose type differs from the
    declared default's (``epochs: "4x"`` where the default is 4).  In the gpu
    profile without ``DATA_ROOT``, values that need it are left out, so the
    notebook runs the paper's settings on its embedded data set."""
    literal = declared_parameters(name)
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
    from .checks import check_values

    check_values(name, raw)  # ranges, finite numbers, device names: before any kernel starts
    if base_profile(profile) == "gpu" and not os.environ.get("DATA_ROOT"):
        raw = {k: v for k, v in raw.items() if not (isinstance(v, str) and "DATA_ROOT" in v)}
    raw = _merge_mappings(name, declared, profile_parameters(name, profile), overrides or {}, raw)
    return declared, raw


def _merge_mappings(name: str, declared: dict, profile_values: dict, overrides: dict, raw: dict) -> dict:
    """A mapping parameter (a training role such as ``baseline = {"preset":
    "mask_baseline"}``) changes field by field: the notebook's default, then
    the profile's keys, then the command line's.  A mapping with a
    ``preset`` key is checked as training settings
    (:meth:`~cnneff.train.config.TrainConfig.from_spec`) before any kernel
    starts.  Returns ``raw`` with the merged mappings."""
    out = dict(raw)
    for key, default in declared.items():
        if not isinstance(default, dict) or key not in raw:
            continue
        merged = dict(default)
        for layer in (profile_values.get(key), overrides.get(key)):
            if isinstance(layer, dict):
                merged.update(layer)
        out[key] = merged
        if isinstance(merged.get("preset"), str):
            from ..train.config import ConfigError, TrainConfig  # lazily: it imports torch

            try:
                TrainConfig.from_spec(merged)
            except ConfigError as e:
                raise RunError(f"notebook {name!r}: parameter {key!r} = {merged!r}: {e}") from None
    return out

