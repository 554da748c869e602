"""Load a file under scripts/ as a module for a test.

The scripts are not a package: people run them as ``python scripts/NAME.py``. Tests that call their
functions import them through :func:`load_script`, one way for every test file.
"""
import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script(name: str) -> ModuleType:
    """Return ``scripts/<name>.py`` executed as a fresh module called ``name`` (not put in sys.modules)."""
    path = SCRIPTS / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no script {path}: the name is the file's stem under scripts/, e.g. 'check_book'")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
