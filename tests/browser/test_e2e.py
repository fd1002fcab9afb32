"""End-to-end: the widget in JupyterLab and Notebook 7, driven by headless Chromium.

Each check goes through the real stack: a real kernel runs the notebook, the browser
renders the anywidget bundle, mouse/keyboard events go through the front end, and
the kernel mirrors the traits it receives into ``out/state.json`` (read back here).
"""

from __future__ import annotations

import pytest

from .harness import APP_READY, SCREENSHOTS, wait_file, widget_cells, write_notebook

pytestmark = pytest.mark.browser


# Pixel statistics of the ECG canvas: distinct colours and how many palette colours appear.
CANVAS_STATS = """(palette) => {
  const c = document.querySelector('.ecw-root .ecw-canvas');
  const ctx = c.getContext('2d');
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  const seen = new Set(); const hits = new Set();
  const pal = palette.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
  for (let i = 0; i < d.length; i += 4 * 7) {
    seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    pal.forEach((p, j) => {
      if (Math.abs(p[0] - d[i]) < 3 && Math.abs(p[1] - d[i + 1]) < 3 && Math.abs(p[2] - d[i + 2]) < 3) hits.add(j);
    });
  }
  return { colours: seen.size, palette_hits: hits.size, width: c.width, height: c.height };
}"""


def open_and_run(page, server, path: str, timeout_ms: int = 240_000):
    page.goto(server.url(path))
    page.wait_for_function(APP_READY, arg=path.rsplit("/", 1)[-1], timeout=timeout_ms)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Lab's "Jupyter news?" toast can cover the widget; answer it when it shows up.
    no = page.locator(".jp-toast-button:has-text('No')")
    if no.count():
        no.first.click()
    page.wait_for_selector(".ecw-root[data-ready='1']", timeout=timeout_ms)


@pytest.fixture(scope="module")
def lab(jupyter_server, browser):
    root = jupyter_server.root
    write_notebook(root / "e2e_lab.ipynb", widget_cells(200, "out_lab", k=3))
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_and_run(page, jupyter_server, "lab/workspaces/e2e-lab/tree/e2e_lab.ipynb")
    yield page, root / "out_lab", errors
    page.close()


def test_renders_ecg_and_bands(lab):
    page, out, errors = lab
    from ecg_cluster_widget.views.palette import PALETTE

    root = page.locator(".ecw-root")
    assert root.get_attribute("data-drawn-id") == "1"
    bands = root.get_attribute("data-bands")
    assert len(bands.split(",")) > 3  # several segments on a 10 s ECG
    stats = page.evaluate(CANVAS_STATS, list(PALETTE))
    assert stats["colours"] > 20 and stats["palette_hits"] >= 2, stats
    assert page.locator(".ecw-card").count() == 3
    assert page.locator(".ecw-canvas").bounding_box()["height"] > 300
    assert not [e for e in errors if "ecw" in e or "widget" in e.lower()], errors
    page.locator(".ecw-root").screenshot(path=str(SCREENSHOTS / "lab_initial.png"))


def test_brush_sets_python_selection_and_esc_clears(lab):
    page, out, _ = lab
    box = page.locator(".ecw-overlay").bounding_box()
    margin, plot_w = 64, box["width"] - 72  # from js/layout.js
    x0 = box["x"] + margin + 0.30 * plot_w
    x1 = box["x"] + margin + 0.50 * plot_w
    y = box["y"] + 40
    page.mouse.move(x0, y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * i / 10, y)
    page.mouse.up()
    doc = wait_file(out / "state.json", lambda d: bool(d["selection"]))
    sel = doc["selection"]
    assert abs(sel["start_s"] - 3.0) < 0.15 and abs(sel["end_s"] - 5.0) < 0.15, sel
    assert sel["end"] - sel["start"] == round((sel["end_s"] - sel["start_s"]) * 100)
    assert (
        doc["summary"]["clusters"]
        and abs(sum(c["share"] for c in doc["summary"]["clusters"]) - 1) < 1e-6
    )
    summary = page.locator(".ecw-summary")
    assert summary.get_attribute("data-state") == "filled"
    assert page.locator(".ecw-sum-row").count() == len(doc["summary"]["clusters"])
    assert "model prediction" in summary.inner_text()
    page.locator(".ecw-root").screenshot(path=str(SCREENSHOTS / "lab_brush.png"))
    page.locator(".ecw-root").focus()
    page.keyboard.press("Escape")
    wait_file(out / "state.json", lambda d: d["selection"] == {})
    assert page.locator(".ecw-summary").get_attribute("data-state") == "empty"


def test_zoom_pan_and_cluster_occurrences(lab):
    page, out, _ = lab
    box = page.locator(".ecw-overlay").bounding_box()
    page.mouse.move(box["x"] + 64 + 0.5 * (box["width"] - 72), box["y"] + 40)
    page.mouse.wheel(0, -400)  # zoom in around 5 s
    doc = wait_file(
        out / "state.json",
        lambda d: len(d["view_range"]) == 2 and d["view_range"][1] - d["view_range"][0] < 9.5,
    )
    v0, v1 = doc["view_range"]
    assert v0 < 5 < v1
    page.locator(".ecw-root").focus()
    page.keyboard.press("Shift+ArrowRight")  # pan keeps the span
    doc = wait_file(out / "state.json", lambda d: d["view_range"][0] > v0)
    assert abs((doc["view_range"][1] - doc["view_range"][0]) - (v1 - v0)) < 1e-6
    page.keyboard.press("1")  # highlight the first cluster, then jump to its next occurrence
    doc = wait_file(out / "state.json", lambda d: d["highlight"] >= 0)
    cid = doc["highlight"]
    assert cid == min(doc["cluster_ids"])
    page.keyboard.press("n")
    doc = wait_file(out / "state.json", lambda d: bool(d["selection"]))
    assert [c["cluster_id"] for c in doc["summary"]["clusters"]] == [cid]  # exactly one run of it
    page.keyboard.press("0")
    wait_file(out / "state.json", lambda d: d["view_range"] == [0, 10])
    page.keyboard.press("Escape")
    doc = wait_file(out / "state.json", lambda d: d["selection"] == {} and d["highlight"] == -1)


def test_k_change_by_key_and_slider_redraws_bands(lab):
    page, out, _ = lab
    root = page.locator(".ecw-root")
    before = root.get_attribute("data-bands")
    drawn = int(root.get_attribute("data-drawn-id"))
    root.focus()
    page.keyboard.press("+")
    page.wait_for_function(
        f"() => Number(document.querySelector('.ecw-root').dataset.drawnId) > {drawn}"
        " && document.querySelector('.ecw-root').dataset.k === '4'",
        timeout=120_000,
    )
    assert root.get_attribute("data-bands") != before
    assert page.locator(".ecw-card").count() == 4
    doc = wait_file(out / "state.json", lambda d: d["n_clusters"] == 4)
    assert doc["response_id"] == int(root.get_attribute("data-drawn-id"))
    page.locator(".ecw-root").screenshot(path=str(SCREENSHOTS / "lab_k4.png"))
    # back to K=3 with the slider: cached, ids stable, so the very same bands come back
    page.evaluate("""() => { const s = document.querySelector('.ecw-k'); s.value = '3';
                     s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }""")
    page.wait_for_function(
        "() => document.querySelector('.ecw-root').dataset.k === '3'", timeout=120_000
    )
    assert root.get_attribute("data-bands") == before
    assert not page.locator(".ecw-root.ecw-busy").count()


def test_rapid_k_presses_draw_only_the_latest(lab):
    page, out, _ = lab
    root = page.locator(".ecw-root")
    k0 = int(root.get_attribute("data-k"))
    page.evaluate("""() => { const r = document.querySelector('.ecw-root'); window.__drawn = [];
        new MutationObserver(() => window.__drawn.push([r.dataset.drawnId, r.dataset.k]))
          .observe(r, { attributes: true, attributeFilter: ['data-drawn-id'] }); }""")
    root.focus()
    # Three presses in one task, so no reply can arrive between them whatever the load
    # (pressed one by one, a fast reply to K+1 may legitimately be drawn first).
    root.evaluate("""r => { for (let i = 0; i < 3; i++)
        r.dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true})); }""")
    # progress while waiting (js/kjob.js), for the latest K asked for
    assert root.evaluate("r => !r.querySelector('.ecw-kjob').hidden")
    assert root.evaluate("r => r.querySelector('.ecw-kjob').dataset.k") == str(k0 + 3)
    page.wait_for_function(
        f"() => document.querySelector('.ecw-root').dataset.k === '{k0 + 3}'", timeout=180_000
    )
    drawn = page.evaluate("() => window.__drawn")
    # requests for K+1 and K+2 were overtaken: they are never drawn, the old view stayed
    assert [k for _, k in drawn] == [str(k0 + 3)], drawn
    for _ in range(3):
        page.keyboard.press("-")
    page.wait_for_function(
        f"() => document.querySelector('.ecw-root').dataset.k === '{k0}'", timeout=180_000
    )
    wait_file(out / "state.json", lambda d: d["n_clusters"] == k0)


def test_label_typed_in_ui_reaches_python_and_file(lab):
    page, out, _ = lab
    card = page.locator(".ecw-card").first
    cid = card.get_attribute("data-cluster-id")
    field = card.locator(".ecw-label-name")
    field.click()
    field.fill("QRS complex")
    field.press("Enter")
    doc = wait_file(
        out / "state.json", lambda d: d["labels"].get(cid, {}).get("name") == "QRS complex"
    )
    assert doc["labels"][cid]["notes"] == ""
    saved = wait_file(out / "labels.json", lambda d: cid in d["labels"])
    # version 2 when the file carries the fit's identity (views/labels.py)
    assert saved["labels"][cid]["name"] == "QRS complex"
    assert saved["version"] == (2 if "fit" in saved else 1)
    num = page.locator(".ecw-card").first.get_attribute("data-num")  # display number 1..K
    assert num == "1" and f"{num} · QRS complex" in page.locator(".ecw-card").first.inner_text()
    # keyboard help overlay
    page.locator(".ecw-root").focus()
    page.keyboard.press("?")
    assert page.locator(".ecw-help").is_visible()
    page.locator(".ecw-root").screenshot(path=str(SCREENSHOTS / "lab_help.png"))
    page.keyboard.press("Escape")
    assert not page.locator(".ecw-help").is_visible()


def test_notebook7_renders(jupyter_server, browser):
    root = jupyter_server.root
    write_notebook(
        root / "e2e_nb7.ipynb", widget_cells(30, "out_nb7", k=2, extra="w.ecg_layout = '3x4'")
    )
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_and_run(page, jupyter_server, "notebooks/e2e_nb7.ipynb")
        root_el = page.locator(".ecw-root")
        assert len(root_el.get_attribute("data-bands").split(",")) > 3
        assert page.locator(".ecw-card").count() == 2
        assert page.locator(".ecw-layout").input_value() == "3x4"
        page.locator(".ecw-root").screenshot(path=str(SCREENSHOTS / "notebook7.png"))
    finally:
        page.close()


def test_pick_ecg_by_rank_index_and_class(lab):
    page, out, _ = lab
    page.locator(".ecw-uncertain").click()
    page.wait_for_function(
        "() => document.querySelector('.ecw-info').textContent.includes('most uncertain #1')",
        timeout=120_000,
    )
    first = wait_file(out / "state.json", lambda d: "index" in d)["index"]
    assert f"ECG {first} /" in page.locator(".ecw-info").inner_text()
    page.locator(".ecw-index").fill("7")
    page.locator(".ecw-index").press("Enter")
    wait_file(out / "state.json", lambda d: d["index"] == 7)
    page.locator(".ecw-class").select_option("MI")
    doc = wait_file(out / "state.json", lambda d: d["index"] != 7)
    # the kernel writes the file before the browser has the new view: wait for it
    page.wait_for_function(
        "(i) => document.querySelector('.ecw-info').textContent.startsWith(`ECG ${i} /`)",
        arg=doc["index"],
        timeout=60_000,
    )
    info = page.locator(".ecw-info").inner_text()
    assert (
        f"ECG {doc['index']} /" in info
        and "true: " in info
        and "MI" in info.split("true: ")[1].split("·")[0]
    )


def test_follows_jupyterlab_dark_theme(lab):
    page, _, _ = lab
    corner = """() => { const c = document.querySelector('.ecw-root .ecw-canvas');
                       const d = c.getContext('2d').getImageData(2, 2, 1, 1).data; return [d[0], d[1], d[2]]; }"""
    light = page.evaluate(corner)
    assert sum(light) > 600
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function(
        f"() => {{ const f = {corner}; return f().reduce((a, b) => a + b) < 200; }}", timeout=60_000
    )
    page.locator(".ecw-root").screenshot(path=str(SCREENSHOTS / "lab_dark.png"))
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )
    page.wait_for_function(
        f"() => {{ const f = {corner}; return f().reduce((a, b) => a + b) > 600; }}", timeout=60_000
    )
