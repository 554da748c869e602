"""pyproject.toml and environment.yml must pin the same packages and versions."""
import re
import tomllib

import yaml

from cnneff.paths import ROOT


def _pins(lines):
    out = {}
    for line in lines:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line.strip())
        assert m, f"not an exact pin: {line!r}"
        out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def test_same_pins_in_pyproject_and_environment_yml():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert _pins(project["dependencies"]) == _pins(pip_section)


def test_torch_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins(project["dependencies"])
    assert pins["torch"] == "2.15.0" and pins["torchvision"] == "0.29.2"
    assert pins["jupyter-book"] == "1.0.4.post1"
