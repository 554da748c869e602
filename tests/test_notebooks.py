"""Notebook sources are clean and parameterized; profiles set only declared parameters."""
import ast
import re

import nbformat
from pathlib import Path

import pytest
import yaml

from cnneff.paths import NOTEBOOKS, PARAMS, RESULTS
from cnneff.runner import notebook_names, notebook_parameters

NAMES = notebook_names()


def test_there_are_notebooks():
    assert "architectures_and_costs" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_source_is_clean_and_parameterized(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "store sources without outputs"
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1
    assert "profile" in notebook_parameters(name)


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
@pytest.mark.parametrize("name", NAMES)
def test_executed_copy_exists(name, profile):
    """The book shows results/cpu/; CI's nbval re-executes results/smoke/: both are committed."""
    assert (RESULTS / profile / f"{name}.ipynb").is_file(), (
        f"run `cnneff run {name} --profile {profile}` and commit results/{profile}/{name}.ipynb")


@pytest.mark.parametrize("path", sorted(PARAMS.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_profiles_set_only_declared_parameters(path):
    assert path.stem in NAMES, f"{path} names no notebook"
    values = _flat(path)
    assert set(values) <= set(notebook_parameters(path.stem))


def _flat(path) -> dict:
    """A profile file's values: its common keys and those of its paper_data / embedded sections (the gpu
    profile's, cnneff.runner.params.DATA_SECTIONS), each section a mapping of declared parameters."""
    from cnneff.runner.params import DATA_SECTIONS

    values = yaml.safe_load(path.read_text()) or {}
    out = {k: v for k, v in values.items() if k not in DATA_SECTIONS}
    for section in DATA_SECTIONS:
        assert isinstance(values.get(section) or {}, dict), f"{path.name}: {section} must be a mapping"
        out.update(values.get(section) or {})
    return out


@pytest.mark.parametrize("path", sorted(PARAMS.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_path_parameter_resolves_under_data_root(path, tmp_path, monkeypatch):
    """Input paths (data sets, weights) of a profile must live under $DATA_ROOT, so that
    `make reproduce DATA_ROOT=/data` is the only thing a user sets; output folders
    (`*_dir`) must stay in the repository: under results/<profile>/ or the git-ignored
    data/ working folder (checkpoints)."""
    from cnneff.runner import expand_data_root

    monkeypatch.setenv("DATA_ROOT", str(tmp_path))
    values = _flat(path)
    paths = {k: v for k, v in values.items() if isinstance(v, str) and "/" in v}
    for key, value in paths.items():
        if key.endswith("_dir"):
            assert value.startswith((f"results/{path.parent.name}/", "data/")), (
                f"{path.name}: {key}={value!r} is neither under results/{path.parent.name}/ nor data/")
            continue
        assert "DATA_ROOT" in value, f"{path.name}: {key}={value!r} does not start from ${{DATA_ROOT}}"
        resolved = Path(expand_data_root(value, path.stem, key).split(":", 1)[-1])
        assert resolved.is_relative_to(tmp_path), f"{path.name}: {key} resolves to {resolved}, not under DATA_ROOT"
    monkeypatch.delenv("DATA_ROOT")
    for key, value in paths.items():
        if "DATA_ROOT" in value:
            with pytest.raises(Exception, match="DATA_ROOT"):
                expand_data_root(value, path.stem, key)


@pytest.mark.parametrize("name", NAMES)
def test_papermill_reads_every_parameter(name):
    """papermill silently drops a parameter line it cannot parse (e.g. a comment with '=')."""
    import ast

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assigned = {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    assert assigned == set(notebook_parameters(name))


@pytest.mark.parametrize("path", sorted(PARAMS.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_profiles_set_values_of_the_declared_types(path, monkeypatch):
    """A profile's value has the type of the notebook's default (checked before any run)."""
    from cnneff.runner.params import checked_parameters

    monkeypatch.setenv("DATA_ROOT", "/data")
    checked_parameters(path.stem, path.parent.name, None)


@pytest.mark.parametrize("profile", ["smoke"])
@pytest.mark.parametrize("name", NAMES)
def test_executed_copy_declares_the_sources_parameters(name, profile):
    """nbval re-executes the stored copy with today's library (CI: results/smoke/): a copy made before
    the notebook gained a parameter fails in session.start (NameError), and every later cell with it.
    Re-run such a copy. (results/cpu/ is what the book shows; its stamps say when a copy is stale.)"""
    def declared(path):
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        return {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)} | {node.target.id for node in ast.parse(cell.source).body
                                               if isinstance(node, ast.AnnAssign)}

    copy = RESULTS / profile / f"{name}.ipynb"
    if not copy.is_file():
        pytest.skip(f"no {copy}")
    missing = declared(NOTEBOOKS / f"{name}.ipynb") - declared(copy)
    assert not missing, (f"results/{profile}/{name}.ipynb predates parameters {sorted(missing)}: "
                         f"run `cnneff run {name} --profile {profile}`")


# The gpu profile's sizes (its seeds, its GPU-minutes) live in params/gpu/*.yaml and in `cnneff run NAME
# --profile gpu --plan`, nowhere else: prose that types them goes stale when the file changes, and the
# executed cpu page cannot tell (its stamp does not cover params/gpu/).
_COUNT = r"(?:\d[\d,.]*|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty)"
_GPU_SIZE = re.compile(rf"\b{_COUNT}\s+(?:\w+\s+)?(?:seeds|GPU-minutes)\b|\bruns\s+{_COUNT}\s*(?:[.;)]|$)", re.I)
_GPU_TOPIC = re.compile(r"\bgpu\b|evidence run", re.I)


def gpu_sizes_typed(text: str) -> list[str]:
    """The sentences of ``text`` (prose, or one comment line) that speak of the gpu profile or its evidence run
    and type a count of seeds or GPU-minutes. Returns them, whitespace collapsed."""
    sentences = re.split(r"(?<=[.!?])\s+|\n(?=\s*#)", text)
    out = []
    for sentence in (" ".join(s.split()) for s in sentences):
        if _GPU_TOPIC.search(sentence) and _GPU_SIZE.search(sentence):
            out.append(sentence)
    return out


def test_gpu_sizes_typed_catches_counts_and_passes_pointers():
    assert gpu_sizes_typed("The GPU profile runs twelve.")
    assert gpu_sizes_typed("The GPU profile repeats it, and on the\nembedded data with ten seeds.")
    assert gpu_sizes_typed("the evidence run for one GPU: ten seeds per arm (1.2 GPU-minutes by `cnneff.plan`)")
    assert gpu_sizes_typed("seeds = [0, 1]  # 2: what fits the cpu book; the gpu profile runs 12)")
    assert not gpu_sizes_typed("The GPU profile's evidence run (the `embedded` section of "
                               "`params/gpu/foray_into_cnn_efficiency.yaml`) runs more seeds.")
    assert not gpu_sizes_typed("The CPU profile keeps five seeds. The GPU profile runs the paper's Table 2.")


@pytest.mark.parametrize("name", NAMES)
def test_prose_points_to_params_gpu_instead_of_typing_its_sizes(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    typed = [f"cell {i}: {s}" for i, c in enumerate(nb.cells) for s in gpu_sizes_typed(c.source)]
    assert not typed, (f"notebooks/{name}.ipynb types the gpu profile's sizes; point to params/gpu/{name}.yaml "
                       "(or `cnneff run NAME --profile gpu --plan`) instead:\n" + "\n".join(typed))
