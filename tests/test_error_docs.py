"""docs/troubleshooting.md's "What the errors mean" section is generated from errors.py
(scripts/gen_error_docs.py) and must be up to date."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest

from ecg_cluster_widget import errors

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location(
        "gen_error_docs", REPO / "scripts" / "gen_error_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_troubleshooting_error_section_is_fresh(gen):
    text = gen.DOC.read_text(encoding="utf-8")
    assert gen.BEGIN in text and gen.END in text, "run: python scripts/gen_error_docs.py"
    assert gen.update(text) == text, (
        "docs/troubleshooting.md is stale: run python scripts/gen_error_docs.py"
    )
    assert gen.main(["--check"]) == 0


def test_every_error_and_warning_class_is_documented(gen):
    text = gen.DOC.read_text(encoding="utf-8")
    section = text[text.index(gen.BEGIN) : text.index(gen.END)]
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__
    ]
    assert len(classes) >= 9
    for cls in classes:
        assert f"### `{cls.__name__}`" in section, cls
    assert "values look like microvolts" in section  # DataWarning's text made it in


def test_update_only_rewrites_between_the_markers(gen, tmp_path):
    doc = tmp_path / "t.md"
    head, tail = "# Troubleshooting\n\nhand-written part\n\n", "\n\n## Later section\n\nmore text\n"
    doc.write_text(f"{head}{gen.BEGIN}\nstale generated text\n{gen.END}{tail}")
    assert gen.main(["--check", "--doc", str(doc)]) == 1
    assert gen.main(["--doc", str(doc)]) == 0
    new = doc.read_text()
    assert new.startswith(head) and new.endswith(tail) and "stale generated text" not in new
    assert "### `DataError`" in new and gen.main(["--check", "--doc", str(doc)]) == 0
    # Without markers the section is appended; the existing text stays as it was.
    bare = tmp_path / "bare.md"
    bare.write_text("# T\n\nsome text\n")
    gen.main(["--doc", str(bare)])
    assert bare.read_text().startswith(
        "# T\n\nsome text\n\n## What the errors mean\n\n" + gen.BEGIN
    )
    half = tmp_path / "half.md"
    half.write_text(f"# T\n{gen.BEGIN}\n")
    with pytest.raises(SystemExit, match="markers"):
        gen.main(["--doc", str(half)])
