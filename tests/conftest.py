import os
import warnings

import pytest

warnings.filterwarnings("ignore", message="IProgress not found")


@pytest.fixture(autouse=True, scope="session")
def _results_sandbox(tmp_path_factory):
    """Never let a test write into the committed results/ folder."""
    if not os.environ.get("CNNEFF_RESULTS_DIR"):
        os.environ["CNNEFF_RESULTS_DIR"] = str(tmp_path_factory.mktemp("results"))
    yield
