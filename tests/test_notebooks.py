"""The tutorial notebooks: each ``.ipynb`` matches its percent-format script, and each
executes top to bottom (nbclient, python3 kernel) in a temp copy.

Every notebook is kept twice: ``notebooks/<name>.py`` (jupytext percent format, linted and
formatted by ruff) and ``notebooks/<name>.ipynb`` (outputs stripped), paired through
``[tool.jupytext]`` in pyproject.toml. After editing either, ``jupytext --sync
notebooks/*.ipynb`` brings the other up to date. ``ECW_FAST=1`` shrinks the data inside the
notebooks; the whole set should take a few minutes on two CPU cores.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

# Minutes in all (trainings, subprocesses, whole experiments): the full suite only.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
NB_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(p.name for p in NB_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 240
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _execute(name: str, tmp_path: Path, monkeypatch, ptbxl: Path | None = None):
    from nbclient import NotebookClient

    work = tmp_path / "nb"
    work.mkdir()
    shutil.copyfile(NB_DIR / name, work / name)
    nb = nbformat.read(str(work / name), as_version=4)
    monkeypatch.setenv("ECW_FAST", "1")
    monkeypatch.setenv("ECW_PTBXL", str(ptbxl or tmp_path / "no_ptbxl_here"))
    monkeypatch.setenv("TQDM_DISABLE", "1")
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.execute()
    return nb, work


def _outputs(nb) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _shows_explorer(nb) -> bool:
    # tqdm progress bars are widgets too; the explorer is recognised by its repr.
    return any(
        WIDGET_MIME in o.get("data", {})
        and "ClusterExplorer" in str(o["data"].get("text/plain", ""))
        for o in _outputs(nb)
    )


def _text(nb) -> str:
    parts = []
    for o in _outputs(nb):
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        elif "data" in o:
            parts.append(str(o["data"].get("text/plain", "")))
    return "\n".join(parts)


SYNC = "jupytext --sync notebooks/*.ipynb"
# The packaged copy that ``ecg-cluster-widget demo`` opens (ecg_cluster_widget/demo.py).
PACKAGED = REPO / "ecg_cluster_widget" / "assets" / "quickstart.ipynb"


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


def test_every_notebook_has_its_script():
    scripts = {p.stem for p in NB_DIR.glob("*.py") if "marimo" not in p.stem}
    assert NOTEBOOKS, "no notebooks found"
    assert {Path(n).stem for n in NOTEBOOKS} == scripts, (
        "each notebooks/<name>.ipynb needs its notebooks/<name>.py (and back): "
        "jupytext --to py:percent notebooks/<name>.ipynb"
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_matches_its_script(name):
    import jupytext

    on_disk = nbformat.read(str(NB_DIR / name), as_version=4)
    script = jupytext.read(NB_DIR / name.replace(".ipynb", ".py"), fmt="py:percent")
    assert _cells(on_disk) == _cells(script), (
        f"{name} and its .py differ in code or markdown: run {SYNC}"
    )
    assert all(not c.get("outputs") for c in on_disk.cells if c.cell_type == "code"), (
        f"{name} has outputs stored; notebooks are kept stripped "
        "(jupyter nbconvert --clear-output --inplace notebooks/*.ipynb)"
    )
    assert all(c.get("execution_count") is None for c in on_disk.cells if c.cell_type == "code")


def test_packaged_quickstart_is_the_notebook():
    assert PACKAGED.read_bytes() == (NB_DIR / "quickstart.ipynb").read_bytes(), (
        f"cp notebooks/quickstart.ipynb {PACKAGED.relative_to(REPO)}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NOTEBOOKS if n != "ptbxl.ipynb"])
def test_notebook_executes(name, tmp_path, monkeypatch):
    nb, work = _execute(name, tmp_path, monkeypatch)
    outs = _outputs(nb)
    assert not [o for o in outs if o.get("output_type") == "error"]
    if name == "teaching.ipynb":
        bokeh = [o for o in outs if "application/vnd.bokehjs_exec.v0+json" in o.get("data", {})]
        assert len(bokeh) >= 2, "prototype and Grad-CAM figures were not shown"
        assert "T-wave inversion" in _text(nb) and "pathological Q" in _text(nb)
    else:
        assert _shows_explorer(nb), f"{name} never displays the explorer"
    if name == "quickstart.ipynb":
        assert (work / "quickstart_report.html").stat().st_size > 100_000
    if name == "labeling.ipynb":
        for f in ("cluster_labels.json", "segments.csv", "segments.json", "new_segments.csv"):
            assert (work / "labels" / f).is_file(), f
        assert list((work / "labels").glob("*.tlc"))


@pytest.mark.slow
def test_ptbxl_notebook_without_data(tmp_path, monkeypatch):
    nb, _ = _execute("ptbxl.ipynb", tmp_path, monkeypatch, ptbxl=None)
    text = _text(nb)
    assert "PTB-XL not found" in text and "physionet.org" in text


@pytest.mark.slow
def test_ptbxl_notebook_with_data(tmp_path, monkeypatch, ptbxl_root):
    nb, _ = _execute("ptbxl.ipynb", tmp_path, monkeypatch, ptbxl=ptbxl_root)
    assert _shows_explorer(nb)
    text = _text(nb)
    assert "using PTB-XL at" in text and "fidelity" in text.lower()
