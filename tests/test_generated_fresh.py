"""Generated files that stay committed must match what their generator writes today, and
generated files that are not committed must stay out of git.

Committed and generated, with the test that keeps each fresh:

- ``docs/results.md``, ``docs/results_summary.md``: ``python experiments/make_results_doc.py``
  from the committed ``experiments/results/*.json`` (here);
- ``docs/api.md``: ``python docs/_gen_api.py`` from the docstrings (here);
- ``docs/evaluation/summary.md``: ``python scripts/summarize_evaluations.py`` (here);
- ``ecg_cluster_widget/views/static/widget.js``: ``npm run build`` in js/
  (tests/views/test_js_unit.py);
- the "What the errors mean" section of ``docs/troubleshooting.md``:
  ``python scripts/gen_error_docs.py`` (tests/test_error_docs.py);
- ``notebooks/*.ipynb`` and the packaged quickstart: ``jupytext --sync notebooks/*.ipynb``
  (tests/test_notebooks.py).

Not committed: the experiments' Bokeh pages (``experiments/results/*.html``), written by
``python experiments/<name>.py`` next to one shared copy of BokehJS.
"""

from __future__ import annotations

import difflib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _same(actual: str, expected: str, what: str, fix: str) -> None:
    if actual != expected:
        diff = "".join(
            list(
                difflib.unified_diff(
                    expected.splitlines(True), actual.splitlines(True), "regenerated", what
                )
            )[:40]
        )
        pytest.fail(f"{what} is stale: run {fix}\n{diff}", pytrace=False)


@pytest.fixture(scope="module")
def experiments_path():
    # make_results_doc.py imports its sibling common.py as a top-level module.
    sys.path.insert(0, str(REPO / "experiments"))
    try:
        yield
    finally:
        sys.path.remove(str(REPO / "experiments"))


def test_results_docs_match_the_committed_json(experiments_path):
    mod = _load("make_results_doc", REPO / "experiments" / "make_results_doc.py")
    doc, summary = mod.build(RESULTS)
    fix = "python experiments/make_results_doc.py"
    _same(doc, (REPO / "docs" / "results.md").read_text(encoding="utf-8"), "docs/results.md", fix)
    _same(
        summary,
        (REPO / "docs" / "results_summary.md").read_text(encoding="utf-8"),
        "docs/results_summary.md",
        fix,
    )


def test_api_reference_matches_the_docstrings():
    gen = _load("gen_api", REPO / "docs" / "_gen_api.py")
    text, missing = gen.render()
    assert not missing, f"docs/_gen_api.py lists objects that do not exist: {missing}"
    _same(text, gen.OUT.read_text(encoding="utf-8"), "docs/api.md", "python docs/_gen_api.py")


def test_evaluation_summary_matches_its_json():
    out = subprocess.run(
        [sys.executable, "scripts/summarize_evaluations.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    _same(
        out,
        (REPO / "docs" / "evaluation" / "summary.md").read_text(encoding="utf-8"),
        "docs/evaluation/summary.md",
        "python scripts/summarize_evaluations.py > docs/evaluation/summary.md",
    )


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)


def test_experiment_pages_stay_out_of_git():
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = _git("ls-files", "experiments/results").stdout.split()
    assert tracked, "the experiment results JSON should be committed"
    assert not [p for p in tracked if p.endswith(".html") or "/bokehjs/" in p], tracked
    ignored = ["experiments/results/uncertainty.html", "experiments/results/bokehjs/3/js/b.js"]
    out = _git("check-ignore", *ignored).stdout.split()
    assert sorted(out) == sorted(ignored)


def _saved_pages(tmp_path: Path) -> list[Path]:
    from bokeh.layouts import column

    sys.path.insert(0, str(REPO / "experiments"))
    try:
        common = _load("experiments_common", REPO / "experiments" / "common.py")
    finally:
        sys.path.remove(str(REPO / "experiments"))
    cfg = common.RunConfig(
        quick=False,
        seeds=[0],
        epochs=1,
        n_clusters=4,
        cache_dir=tmp_path / "cache",
        results_dir=tmp_path / "results",
        data_dir=tmp_path / "data",
        max_records=None,
        threads=1,
        command="test",
    )
    cfg.results_dir.mkdir()

    def bars():
        return common.bar_figure("bars", ["a", "b"], {"x": [1.0, 2.0], "y": [2.0, 0.5]})

    lines = common.line_figure("lines", [1, 2, 3], {"x": [0.1, 0.3, 0.2]})
    return [
        common.save_html(cfg, "one", column(bars()), "one"),
        common.save_html(cfg, "two", column(bars(), lines), "two"),
    ]


def test_experiment_pages_share_one_local_bokehjs(tmp_path):
    import bokeh

    pages = _saved_pages(tmp_path)
    results = pages[0].parent
    shared = sorted(p.relative_to(results).as_posix() for p in results.rglob("*.js"))
    assert shared == [f"bokehjs/{bokeh.__version__}/js/bokeh.min.js"]
    size = (results / shared[0]).stat().st_size
    for page in pages:
        html = page.read_text(encoding="utf-8")
        # Inlined, BokehJS alone made each page over 1 MB; linked, a page is its data.
        assert page.stat().st_size < size / 20, page.stat().st_size
        assert f'<script src="{shared[0]}"' in html
        assert "https://" not in html.split("<body>")[0], "a CDN or remote script is linked"


@pytest.mark.browser
def test_experiment_page_renders_offline(tmp_path, browser):
    import bokeh

    page = _saved_pages(tmp_path)[1]
    tab = browser.new_page()
    try:
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        # Only file:// requests are let through: the page must not need the network.
        tab.route("http*://**", lambda route: route.abort())
        tab.goto(page.as_uri())
        tab.wait_for_function(
            "() => window.Bokeh && Bokeh.documents.length === 1"
            " && Bokeh.documents[0].roots().length === 1",
            timeout=30_000,
        )
        assert tab.evaluate("() => Bokeh.version") == bokeh.__version__
        # The two plots draw into canvases inside Bokeh's shadow roots.
        tab.wait_for_function(
            """() => {
                const found = [];
                const walk = (root) => root.querySelectorAll('*').forEach((el) => {
                    if (el.tagName === 'CANVAS' && el.width > 0) found.push(el);
                    if (el.shadowRoot) walk(el.shadowRoot);
                });
                walk(document);
                return found.length >= 2;
            }""",
            timeout=30_000,
        )
        assert not errors, errors
    finally:
        tab.close()
