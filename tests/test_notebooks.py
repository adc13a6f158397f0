"""The notebooks: stored clean, parameters first, and executed top to bottom in smoke mode.

Each notebook starts (after its title) with one parameters cell whose values read
environment variables (`AGEKIT_DATA_ROOT`, `AGEKIT_SMOKE`, `AGEKIT_EPOCHS`, ...; see
notebooks/README.md). The execution test runs every notebook with `AGEKIT_SMOKE=1` on
synthetic data in a fresh kernel, writing only under pytest's temporary folder.
"""

import ast
import os
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
PARAMETERS = {"DATA_ROOT", "SMOKE", "EPOCHS", "BACKBONE"}
CELL_TIMEOUT = 300  # seconds per cell; the whole smoke run of a notebook takes well under a minute

ids = [path.stem for path in NOTEBOOKS]


def _read(path):
    return nbformat.read(path, as_version=4)


def _assigned_names(source):
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_the_notebooks_are_there():
    stems = {path.stem.split("_")[0] for path in NOTEBOOKS}
    assert stems >= {f"{i:02d}" for i in range(1, 9)}, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_stored_valid_and_without_outputs(path):
    nb = _read(path)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} of {path.name} has outputs"
            assert cell.execution_count is None, f"cell {index} of {path.name} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_title_then_one_parameters_cell(path):
    cells = _read(path).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# "), path.name
    assert cells[1].cell_type == "code", f"{path.name}: the parameters cell must follow the title"
    names = _assigned_names(cells[1].source)
    assert names >= PARAMETERS, f"{path.name} parameters cell lacks {sorted(PARAMETERS - names)}"
    for name in ("DATA_ROOT", "SMOKE", "EPOCHS"):  # overridable without editing
        assert f"AGEKIT_{name}" in cells[1].source, f"{path.name}: {name} reads no AGEKIT_{name}"
    for cell in cells[2:]:  # one place for the parameters
        if cell.cell_type == "code":
            assert not (_assigned_names(cell.source) & PARAMETERS), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_writes_nothing_into_the_repository(path):
    source = "\n".join(c.source for c in _read(path).cells if c.cell_type == "code")
    for risky in ("'runs/", '"runs/', "notebooks/"):
        assert risky not in source, f"{path.name} names a path in the repository: {risky}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_runs_in_smoke_mode(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    # The kernel inherits this environment: smoke sizes, synthetic data, agekit importable
    # from the checkout, and every temporary folder (synthetic data, runs) under tmp_path.
    for name in list(os.environ):
        if name.startswith("AGEKIT_") and name not in ("AGEKIT_SHARED_DATA",):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AGEKIT_SMOKE", "1")
    monkeypatch.setenv("AGEKIT_RUN_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "agg")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    nb = _read(path)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the cell, with its traceback
