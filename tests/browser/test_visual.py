"""Visual regression: screenshots of the standard views against committed baselines.

Each view (the explorer at 12x1, 6x2 and 3x4 with its rhythm strip, a highlighted
cluster, the JupyterLab dark theme, the DatasetView and the CompareView) is rendered in
JupyterLab by headless Chromium at a fixed viewport (1200x800, device scale 1) from fixed
data (``make_synthetic(60, seed=1)`` and the shipped demo model), and only the widget's
element is captured. A capture matches its baseline in ``tests/browser/baselines/`` when
at most ``tolerance(name)`` of its pixels differ by more than ``CHANNEL_DELTA`` in some
colour channel; otherwise the actual image and a diff image are written to
``tests/browser/screenshots/`` and named in the failure.

A deliberate visual change updates the baselines in the same commit::

    ECW_UPDATE_BASELINES=1 .venv/bin/python -m pytest tests/browser/test_visual.py

A missing baseline fails under ``CI=true``; locally it is written and the test fails
saying so (run again to compare against it).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from .harness import APP_READY, IN_CI, write_notebook

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
BASELINES = HERE / "baselines"
SCREENSHOTS = HERE / "screenshots"
UPDATE = os.environ.get("ECW_UPDATE_BASELINES", "").strip().lower() in ("1", "true", "yes")

#: A pixel "differs" when some channel moves by more than this (0..255): smaller moves are
#: anti-aliasing and sub-pixel text rendering, which vary between Chromium/font builds.
CHANNEL_DELTA = 32
#: At most this fraction of pixels may differ: room for text and trace anti-aliasing to
#: shift between builds (on one machine the captures are pixel-identical), while the
#: smallest deliberate changes checked below (one cluster highlighted, another colouring
#: of the scatter) move several times more; see the test_tolerance_* tests.
TOLERANCE = 0.01
#: The scatter's points cover only ~0.2 % of the DatasetView capture (mostly blank plot
#: area), so recolouring or moving every point would pass 1 %: a tighter bound there.
TOLERANCES = {"dataset_view": 0.001}


def tolerance(name: str) -> float:
    return TOLERANCES.get(name, TOLERANCE)


VIEWPORT = {"width": 1200, "height": 800}


# No blinking caret, no transitions or animations, no toasts over the widgets.
FREEZE_CSS = """
*, *::before, *::after { caret-color: transparent !important; transition: none !important;
  animation: none !important; }
.Toastify, .jp-toast-container { display: none !important; }
#jp-main-statusbar { visibility: hidden !important; }
"""

# Set explorer traits as the front end does (model.set + save): the view redraws at once
# and the kernel is told. Returns the number of base draws so far.
SEND = """([pairs]) => { const r = document.querySelector('.ecw-root');
  for (const [k, v] of pairs) r.__ecw.send(k, v);
  return (globalThis.__ecwPerf && globalThis.__ecwPerf.base.length) || 0; }"""

# Resolve once no base draw has happened for 600 ms (a resize may trigger a second one).
SETTLED = """() => new Promise((done) => {
  const n = () => (globalThis.__ecwPerf && globalThis.__ecwPerf.base.length) || 0;
  let last = n(), since = performance.now();
  const tick = () => {
    const now = n();
    if (now !== last) { last = now; since = performance.now(); }
    if (performance.now() - since > 600) done(true); else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})"""

CORNER = """() => { const c = document.querySelector('.ecw-root .ecw-canvas');
  const d = c.getContext('2d').getImageData(2, 2, 1, 1).data; return d[0] + d[1] + d[2]; }"""

CELLS = [
    """
import torch
torch.set_num_threads(1)
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.model.pretrained import load_demo_model
from ecg_cluster_widget.views.widget import ClusterExplorer
from ecg_cluster_widget.views.dataset_view import DatasetView
from ecg_cluster_widget.views.compare_view import CompareView
ds = make_synthetic(60, seed=1)
tlc = TLCExplainer(load_demo_model(), n_clusters=3, n_components=8, max_fit_points=8000,
                   progress=False).fit(ds)
w = ClusterExplorer(tlc, ds, k_range=(2, 6), progress=False, static_fallback=False)
v = DatasetView(tlc, ds, height=360, random_state=0)
c = CompareView.from_edit(tlc, ds, 0, edit="invert_t")
""",
    "w",
    "v",
    "c",
]


# ---------------------------------------------------------------------------- comparison
def load_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def save_png(arr: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(arr, dtype=np.uint8), "RGB").save(path, optimize=True)


def diff_mask(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels whose largest channel difference exceeds CHANNEL_DELTA (same-size images)."""
    return np.abs(a - b).max(axis=2) > CHANNEL_DELTA


def diff_image(base: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The baseline faded to grey, differing pixels in red."""
    grey = (base.mean(axis=2, keepdims=True) * 0.35 + 255 * 0.65).repeat(3, axis=2)
    grey[mask] = (255, 0, 0)
    return grey


def mismatch(a: np.ndarray, b: np.ndarray) -> float | None:
    """Fraction of differing pixels, or None when the sizes differ."""
    if a.shape != b.shape:
        return None
    return float(diff_mask(a, b).mean())


def check_against_baseline(name: str, png: bytes) -> None:
    """Compare a capture with baselines/<name>.png (write it when updating or missing)."""
    baseline = BASELINES / f"{name}.png"
    actual_path = SCREENSHOTS / f"{name}.actual.png"
    diff_path = SCREENSHOTS / f"{name}.diff.png"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    actual_path.write_bytes(png)
    actual = load_png(actual_path)
    if UPDATE:
        save_png(actual, baseline)
        return
    if not baseline.exists():
        if IN_CI:
            pytest.fail(
                f"CI=true and baseline {baseline.relative_to(HERE.parents[1])} is missing; "
                f"create it with ECW_UPDATE_BASELINES=1 and commit it (capture: {actual_path})",
                pytrace=False,
            )
        save_png(actual, baseline)
        pytest.fail(
            f"baseline {baseline} was missing and has been written from this run; "
            "check it, commit it and run again",
            pytrace=False,
        )
    base = load_png(baseline)
    if base.shape != actual.shape:
        pytest.fail(
            f"{name}: capture is {actual.shape[1]}x{actual.shape[0]} px but the baseline "
            f"{baseline} is {base.shape[1]}x{base.shape[0]} px (actual: {actual_path}); if "
            "the change is deliberate, rerun with ECW_UPDATE_BASELINES=1",
            pytrace=False,
        )
    mask = diff_mask(base, actual)
    frac = float(mask.mean())
    tol = tolerance(name)
    if frac > tol:
        save_png(diff_image(base, mask), diff_path)
        pytest.fail(
            f"{name}: {100 * frac:.2f}% of pixels differ from {baseline} by more than "
            f"{CHANNEL_DELTA}/255 (tolerance {100 * tol:.1f}%); actual: {actual_path}, "
            f"diff (red): {diff_path}; if the change is deliberate, rerun with "
            "ECW_UPDATE_BASELINES=1 and commit the new baseline",
            pytrace=False,
        )
    diff_path.unlink(missing_ok=True)


def test_comparison_rules():
    """The comparison itself, without a browser: identical, small, large and size changes."""
    a = np.full((50, 40, 3), 200, dtype=np.int16)
    assert mismatch(a, a.copy()) == 0.0
    b = a.copy()
    b[:, :, 1] += CHANNEL_DELTA  # at the threshold: not a difference
    assert mismatch(a, b) == 0.0
    b[0, :2] = 0  # 2 of 2000 pixels: within the tolerance
    assert mismatch(a, b) == pytest.approx(0.001) and mismatch(a, b) <= TOLERANCE
    b[:5] = 0  # 200 of 2000 pixels
    assert mismatch(a, b) == pytest.approx(0.1)
    assert mismatch(a, b) > TOLERANCE
    assert mismatch(a, a[:, :39]) is None


# ------------------------------------------------------------------------------- browser
@pytest.fixture(scope="module")
def page(jupyter_server, browser):
    root = jupyter_server.root
    write_notebook(root / "visual.ipynb", CELLS)
    ctx = browser.new_context(
        viewport=VIEWPORT, device_scale_factor=1, color_scheme="light", reduced_motion="reduce"
    )
    pg = ctx.new_page()
    pg.goto(jupyter_server.url("lab/workspaces/visual/tree/visual.ipynb"))
    pg.wait_for_function(APP_READY, arg="visual.ipynb", timeout=240_000)
    pg.add_style_tag(content=FREEZE_CSS)
    # The notebook gets the whole width: no file browser or property inspector beside it.
    pg.evaluate(
        "() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }"
    )
    pg.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    for sel in (
        ".ecw-root[data-ready='1']",
        ".edv-root[data-ready='1']",
        ".ecv-root[data-ready='1']",
    ):
        pg.wait_for_selector(sel, timeout=240_000)
    pg.wait_for_function(APP_READY, arg="visual.ipynb", timeout=240_000)  # kernel idle again
    pg.wait_for_selector(".ecw-root[data-drawn-id='1']", timeout=120_000)
    yield pg
    ctx.close()


# Top-align an element in the notebook's scroll area; return how much of it is clipped
# (by the scroll area or the window) in px, left/top/right/bottom.
ALIGN = """(sel) => { const el = document.querySelector(sel);
  el.scrollIntoView({ block: 'start', inline: 'nearest' });
  let r = el.getBoundingClientRect();
  let box = { left: 0, top: 0, right: innerWidth, bottom: innerHeight };
  for (let n = el.parentElement; n && n !== document.body; n = n.parentElement) {
    const cs = getComputedStyle(n);
    if (/(auto|scroll|hidden)/.test(cs.overflowY + cs.overflowX)) {
      const b = n.getBoundingClientRect();
      box = { left: Math.max(box.left, b.left), top: Math.max(box.top, b.top),
              right: Math.min(box.right, b.right), bottom: Math.min(box.bottom, b.bottom) };
    }
  }
  return [box.left - r.left, box.top - r.top, r.right - box.right, r.bottom - box.bottom]
    .map((v) => Math.max(0, Math.round(v)));
}"""


def capture(page, selector: str) -> bytes:
    """Screenshot of the whole element ``selector``, top-aligned, no pointer over it."""
    page.mouse.move(0, 0)  # no hover crosshair or tooltip
    page.evaluate(SETTLED)
    clipped = page.evaluate(ALIGN, selector)
    page.evaluate(SETTLED)
    assert clipped == [0, 0, 0, 0], f"{selector} does not fit the notebook area: {clipped}"
    return page.locator(selector).screenshot(animations="disabled", caret="hide")


def explorer(page, **traits) -> bytes:
    """Capture the explorer after setting ``traits`` (the others at their defaults)."""
    state = {"ecg_layout": "12x1", "highlight_cluster": -1, **traits}
    # In view first: JupyterLab hides cells scrolled far away, and showing one again
    # resizes (so redraws) the widget.
    page.evaluate(ALIGN, ".ecw-root")
    page.evaluate(SETTLED)
    # "fit" measures the output area around the widget, which is as tall as the previous
    # drawing, so each fitted redraw of 12x1 comes out a little shorter: the last draw
    # always follows an unfitted draw of the same view.
    pairs = [*state.items(), ("fit_height", False), ("fit_height", True)]
    page.evaluate(SEND, [pairs])
    return capture(page, ".ecw-root")


def first_cluster(page) -> int:
    return int(page.locator(".ecw-card").first.get_attribute("data-cluster-id"))


@pytest.mark.parametrize("layout", ["12x1", "6x2", "3x4"])
def test_explorer_layouts(page, layout):
    png = explorer(page, ecg_layout=layout)
    assert page.locator(".ecw-root").get_attribute("data-drawn-id") == "1"
    check_against_baseline(f"explorer_{layout}", png)


def test_explorer_highlighted_cluster(page):
    check_against_baseline(
        "explorer_highlight", explorer(page, highlight_cluster=first_cluster(page))
    )


def test_dataset_view(page):
    root = page.locator(".edv-root")
    png = capture(page, ".edv-root")
    assert root.get_attribute("data-n-points") == "60"
    check_against_baseline("dataset_view", png)


def test_compare_view(page):
    root = page.locator(".ecv-root")
    png = capture(page, ".ecv-root")
    assert int(root.get_attribute("data-changed-runs")) > 0
    check_against_baseline("compare_view", png)


def as_image(png: bytes, path: Path) -> np.ndarray:
    path.write_bytes(png)
    return load_png(path)


def reference(name: str, fallback: bytes, tmp_path: Path) -> np.ndarray:
    """The committed baseline ``name``, or (not yet written) this run's plain capture."""
    baseline = BASELINES / f"{name}.png"
    if baseline.exists() and not UPDATE:
        return load_png(baseline)
    return as_image(fallback, tmp_path / f"{name}.png")


def test_tolerance_catches_a_highlighted_cluster(page, tmp_path):
    """The comparison is not blind: one highlighted cluster, a small deliberate change,
    differs from the 12x1 baseline by more than the tolerance, while a second capture of
    the plain view does not."""
    plain = explorer(page)
    lit = explorer(page, highlight_cluster=first_cluster(page))
    explorer(page)
    base = reference("explorer_12x1", plain, tmp_path)
    assert mismatch(base, as_image(plain, tmp_path / "plain.png")) <= TOLERANCE
    frac = mismatch(base, as_image(lit, tmp_path / "lit.png"))
    assert frac is not None and frac > 2 * TOLERANCE, frac


def test_tolerance_catches_a_recoloured_scatter(page, tmp_path):
    """Colouring the DatasetView's points by uncertainty instead of class moves more
    pixels than its (tighter) tolerance allows."""
    menu = page.locator(".edv-root select.edv-color")
    plain = capture(page, ".edv-root")
    menu.select_option("entropy")
    try:
        page.wait_for_selector(".edv-legend .edv-ramp", timeout=60_000)
        other = capture(page, ".edv-root")
    finally:
        menu.select_option("class")
        page.wait_for_function(
            "() => document.querySelector('.edv-legend').textContent.includes('NORM')",
            timeout=60_000,
        )
    base = reference("dataset_view", plain, tmp_path)
    assert mismatch(base, as_image(plain, tmp_path / "plain.png")) <= tolerance("dataset_view")
    frac = mismatch(base, as_image(other, tmp_path / "other.png"))
    assert frac is not None and frac > 2 * tolerance("dataset_view"), frac


def test_explorer_dark_theme(page):
    """Last in the file: switching the JupyterLab theme back and forth redraws views."""
    change = "(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})"
    page.evaluate(change, "JupyterLab Dark")
    try:
        page.wait_for_function(f"() => ({CORNER})() < 200", timeout=60_000)
        png = explorer(page)
    finally:
        page.evaluate(change, "JupyterLab Light")
        page.wait_for_function(f"() => ({CORNER})() > 600", timeout=60_000)
        # The CompareView reads the theme only when it draws (a resize in the dark theme
        # leaves it dark): a width change redraws every view in the light theme again.
        page.set_viewport_size({**VIEWPORT, "width": VIEWPORT["width"] - 100})
        page.evaluate(SETTLED)
        page.set_viewport_size(VIEWPORT)
        page.evaluate(SETTLED)
    check_against_baseline("explorer_dark", png)
