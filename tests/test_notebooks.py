"""Execute every tutorial notebook top to bottom (nbclient, python3 kernel) in a temp copy.

``ECW_FAST=1`` shrinks the data inside the notebooks; the whole set should take a
few minutes on two CPU cores.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NB_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(p.name for p in NB_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 240
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _load_builder():
    spec = importlib.util.spec_from_file_location("nb_build", NB_DIR / "_build.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["nb_build"] = mod
    spec.loader.exec_module(mod)
    return mod


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


def test_notebooks_exist_and_match_generator():
    builder = _load_builder()
    assert set(NOTEBOOKS) == set(builder.NOTEBOOKS)
    for name in NOTEBOOKS:
        on_disk = nbformat.read(str(NB_DIR / name), as_version=4)
        built = builder.build(name)
        assert [c.source for c in on_disk.cells] == [c.source for c in built.cells], (
            f"{name} is out of date: run python notebooks/_build.py"
        )
        assert all(not c.get("outputs") for c in on_disk.cells if c.cell_type == "code"), (
            f"{name} has outputs stored; notebooks are kept stripped"
        )
    packaged = REPO / "ecg_cluster_widget" / "assets" / "quickstart.ipynb"
    assert packaged.read_text() == (NB_DIR / "quickstart.ipynb").read_text()


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
