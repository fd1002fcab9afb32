"""End-to-end: the explorer tells the truth at every K (headless Chromium, real JupyterLab).

The legend lists the clusters of the answer drawn (never those of the previous K), the
numbers a person reads in the widget are those of ``to_frame()`` and the HTML report,
a fresh fit shows proposed names apart from the expert's, and a control that cannot
work says why. The kernel mirrors the traits it receives into ``out/state.json``.
"""

from __future__ import annotations

import json
import re

import pytest

from .harness import SCREENSHOTS, wait_file, widget_cells, write_notebook
from .test_e2e import open_and_run

pytestmark = pytest.mark.browser

NB = "truth_lab.ipynb"

# What a reader sees in the legend and in the cards: id, display number and title.
LEGEND_AND_CARDS = """() => {
  const r = document.querySelector('.ecw-root');
  const read = (sel, title) => [...r.querySelectorAll(sel)].map((n) =>
    [n.dataset.clusterId, n.dataset.num, n.querySelector(title).textContent]);
  return { k: r.dataset.k, ids: r.__ecw.get('record').cluster_ids.map(String),
           legend: read('.ecw-legend-item', '.ecw-legend-name'),
           cards: read('.ecw-card', '.ecw-card-title') };
}"""


@pytest.fixture(scope="module")
def truth(jupyter_server, browser):
    root = jupyter_server.root
    # The kernel also writes what a person reads outside the widget: to_frame() of the
    # ECG shown (after every answer) and the HTML report of the fit.
    extra = """
from ecg_cluster_widget.views.report import make_report
make_report(tlc, ds, OUT / "report.html", indices=[0])
def _frame(_=None):
    atomic_write_json(OUT / "frame.json", {"k": w.n_clusters, "index": w.index,
        "rows": w.explanation.to_frame().to_dict("records")})
w.observe(_frame, names=["response_id"])
_frame()
from ecg_cluster_widget.demo import propose_cluster_names
atomic_write_json(OUT / "names.json", {str(c["cluster_id"]): c["proposed_name"]
                                       for c in propose_cluster_names(tlc, ds)["clusters"]})
"""
    write_notebook(root / NB, widget_cells(60, "out_truth", k=3, extra=extra))
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_and_run(page, jupyter_server, f"lab/workspaces/truth/tree/{NB}")
    yield page, root / "out_truth", errors
    page.close()


def wait_k(page, k: int) -> None:
    page.wait_for_function(
        f"() => document.querySelector('.ecw-root').dataset.k === '{k}'"
        " && !document.querySelector('.ecw-root').classList.contains('ecw-busy')",
        timeout=180_000,
    )


def slider_k(page, k: int) -> None:
    page.evaluate(
        """(k) => { const s = document.querySelector('.ecw-k'); s.value = String(k);
           s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }""",
        k,
    )


def test_legend_matches_cards_after_k_changes_up_and_down(truth):
    page, out, _ = truth
    root = page.locator(".ecw-root")

    for how, k in [("+", 4), ("+", 5), ("-", 4), ("slider", 8), ("slider", 2), ("+", 3)]:
        if how == "slider":
            slider_k(page, k)
        else:
            root.focus()
            page.keyboard.press(how)
        wait_k(page, k)
        got = page.evaluate(LEGEND_AND_CARDS)

        assert len(got["legend"]) == len(got["cards"]) == len(got["ids"]) == k, got
        # same clusters, same numbers, same names, in the same order
        assert got["legend"] == got["cards"], got
        assert [n for _, n, _ in got["legend"]] == [str(i) for i in range(1, k + 1)], got
        assert sorted(got["ids"], key=int) == [i for i, _, _ in got["legend"]], got
    root.screenshot(path=str(SCREENSHOTS / "truth_legend_k3.png"))
    wait_file(out / "state.json", lambda d: d["n_clusters"] == 3)


def test_numbers_in_widget_match_to_frame_and_report(truth, browser):
    page, out, _ = truth
    if page.locator(".ecw-root").get_attribute("data-k") != "3":
        slider_k(page, 3)
        wait_k(page, 3)
    frame = wait_file(out / "frame.json", lambda d: d["k"] == 3)
    legend = {
        b.get_attribute("data-cluster-id"): b.get_attribute("data-num")
        for b in page.locator(".ecw-legend-item").all()
    }
    # to_frame(): the number column is the number the widget shows for that cluster
    assert frame["rows"], frame
    for row in frame["rows"]:
        assert str(row["number"]) == legend[str(row["cluster_id"])], (row, legend)
    # the strip draws the segments the frame lists
    bands = page.locator(".ecw-root").get_attribute("data-bands")
    assert bands == ",".join(f"{r['start']}:{r['cluster_id']}" for r in frame["rows"])[:4000]
    # the report: number -> share of time is what the widget's cards show
    cards = {
        c.get_attribute("data-num"): c.locator(".ecw-card-stats").inner_text().split("%")[0]
        for c in page.locator(".ecw-card").all()
    }
    report = browser.new_page()
    report.goto((out / "report.html").as_uri())
    report.wait_for_selector("table.ecw-clusters")
    # Bokeh draws the table inside a shadow root: locators pierce it, querySelector does not.
    rows = report.locator("table.ecw-clusters tr").all()[1:]
    table = [[td.inner_text().strip() for td in r.locator("td").all()[1:3]] for r in rows]
    report.close()
    assert [n for n, _ in table] == [str(i) for i in range(1, 4)], table
    for number, share in table:
        assert share.rstrip("%") == cards[number], (table, cards)
    # The header says where the clusters' configuration came from (the demo model's
    # recommendation), the whole configuration on hover.
    fit = page.locator(".ecw-fit-options")
    assert fit.inner_text().strip() == "· clusters: the model's recommended options"
    assert "blocks." in fit.get_attribute("title") and "isotropic GMM" in fit.get_attribute("title")


def test_fresh_fit_shows_proposed_names_apart_from_the_experts(truth):
    page, out, _ = truth
    if page.locator(".ecw-root").get_attribute("data-k") != "3":
        slider_k(page, 3)
        wait_k(page, 3)
    # the command line's rule on the same fit (demo.propose_cluster_names)
    names = json.loads((out / "names.json").read_text())
    cards = page.locator(".ecw-card")
    assert cards.count() == 3
    for i in range(3):
        card = cards.nth(i)
        cid = card.get_attribute("data-cluster-id")
        assert names[cid] and card.get_attribute("data-proposed") == names[cid]
        title = card.locator(".ecw-card-title")
        assert names[cid] in title.inner_text() and "ecw-proposed" in title.get_attribute("class")
        legend = page.locator(f".ecw-legend-item[data-cluster-id='{cid}']")
        assert legend.get_attribute("data-proposed") == names[cid]
        assert legend.locator(".ecw-legend-name").inner_text() == title.inner_text()
        # a proposal is not the expert's name: the field stays empty
        assert card.locator(".ecw-label-name").input_value() == ""
    page.locator(".ecw-root").screenshot(path=str(SCREENSHOTS / "truth_proposed.png"))
    ids = [cards.nth(i).get_attribute("data-cluster-id") for i in range(3)]
    # accept the first with a click, the second with "a" on the focused card, type over
    # the third
    cards.nth(0).locator(".ecw-accept").click()
    cards.nth(1).focus()
    page.keyboard.press("a")
    field = cards.nth(2).locator(".ecw-label-name")
    field.click()
    field.fill("my own name")
    field.press("Enter")
    want = {ids[0]: names[ids[0]], ids[1]: names[ids[1]], ids[2]: "my own name"}
    saved = wait_file(
        out / "labels.json",
        lambda d: {k: v["name"] for k, v in d["labels"].items()} == want,
    )
    # the file keeps what was proposed apart from what the expert accepted or typed
    assert saved["meta"]["proposed_names"] == {i: names[i] for i in ids}
    for i in ids:
        title = page.locator(f".ecw-card[data-cluster-id='{i}'] .ecw-card-title")
        assert "ecw-proposed" not in (title.get_attribute("class") or "")
        assert title.inner_text().endswith(want[i])
        assert not page.locator(f".ecw-card[data-cluster-id='{i}'] .ecw-accept").is_visible()
    page.locator(".ecw-root").screenshot(path=str(SCREENSHOTS / "truth_accepted.png"))


def test_a_cluster_without_a_name_shows_its_named_ancestors(truth):
    # After the test above every cluster of K=3 has the expert's name. At K=4 one of them
    # has split (the cluster tree): the part with a new id has no name of its own, so its
    # card and legend entry show the parent's, marked as inherited, and say where it
    # came from.
    page, out, _ = truth
    saved = json.loads((out / "labels.json").read_text())["labels"]
    named = {k: v["name"] for k, v in saved.items() if v.get("name")}
    assert len(named) == 3, "the names of test_fresh_fit_shows_proposed_names_... are missing"
    root = page.locator(".ecw-root")
    root.focus()
    page.keyboard.press("+")
    wait_k(page, 4)
    cards = page.locator(".ecw-card")
    new = [
        cards.nth(i)
        for i in range(cards.count())
        if cards.nth(i).get_attribute("data-cluster-id") not in named
    ]
    assert len(new) == 1
    card = new[0]
    parent = card.get_attribute("data-parent")
    assert parent in named
    title = card.locator(".ecw-card-title")
    assert title.inner_text().endswith(f"part of {named[parent]}")
    assert "ecw-inherited" in title.get_attribute("class")
    assert card.locator(".ecw-card-tree").inner_text().startswith("from ")
    cid = card.get_attribute("data-cluster-id")
    legend = page.locator(f".ecw-legend-item[data-cluster-id='{cid}'] .ecw-legend-name")
    assert legend.inner_text() == title.inner_text()
    # The file is not changed: an inherited name is shown, not saved for the child.
    assert cid not in json.loads((out / "labels.json").read_text())["labels"]
    root.screenshot(path=str(SCREENSHOTS / "truth_inherited_name.png"))
    root.focus()
    page.keyboard.press("-")
    wait_k(page, 3)


@pytest.fixture(scope="module")
def bare(jupyter_server, browser):
    """An explorer over a bare torch module (no bundle) with K in 3..4."""
    root = jupyter_server.root
    setup = widget_cells(30, "out_bare", k=3)[0]
    show = """
w = ClusterExplorer(tlc, ds, model=bundle.model, k_range=(3, 4), progress=False)
w
"""
    write_notebook(root / "truth_bare.ipynb", [setup, show])
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    open_and_run(page, jupyter_server, "lab/workspaces/bare/tree/truth_bare.ipynb")
    yield page
    page.close()


def status(page) -> str:
    return page.locator(".ecw-status").inner_text()


def test_controls_that_cannot_work_say_why(bare):
    page = bare
    root = page.locator(".ecw-root")
    # Grad-CAM without a bundle: disabled, with the reason on hover and on the key
    box = page.locator(".ecw-cam")
    assert box.is_disabled() and page.locator(".ecw-cam-class").is_disabled()
    assert "needs a model bundle" in page.locator(".ecw-cam-label").get_attribute("title")
    root.focus()
    page.keyboard.press("g")
    assert "needs a model bundle" in status(page)
    # ... and the kernel refuses the trait from any front end, with the same reason
    page.evaluate("() => document.querySelector('.ecw-root').__ecw.send('show_gradcam', true)")
    page.wait_for_function(
        "() => document.querySelector('.ecw-message-text').textContent.includes('model bundle')"
    )
    assert (
        page.evaluate("() => document.querySelector('.ecw-root').__ecw.get('show_gradcam')")
        is False
    )
    # K outside the range: the key says where the range ends
    root.focus()
    page.keyboard.press("-")
    assert "smallest K" in status(page) and "3..4" in status(page)
    page.keyboard.press("+")
    wait_k(page, 4)
    page.keyboard.press("+")
    assert "largest K" in status(page)
    # records that cannot be shown
    page.keyboard.press("ArrowLeft")
    assert "first ECG" in status(page)
    idx = page.locator(".ecw-index")
    idx.fill("999")
    idx.press("Enter")
    assert "0..29" in status(page) and idx.input_value() == "0"
    rid = page.locator(".ecw-recid")
    rid.fill("no-such-record")
    rid.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('.ecw-status').textContent.includes('no-such-record')",
        timeout=60_000,
    )
    assert page.locator(".ecw-status.ecw-error").count() == 1
    root.screenshot(path=str(SCREENSHOTS / "truth_reasons.png"))


# Where the leads, the strip, the ribbon and the info line are, in viewport pixels.
ON_SCREEN = """() => {
  const r = document.querySelector('.ecw-root');
  const L = r.__ecw.layout();
  const c = r.querySelector('.ecw-canvas').getBoundingClientRect();
  const box = (p) => ({ name: p.name || p.kind, top: c.top + p.y, bottom: c.top + p.y + p.h,
                        left: c.left + p.x, right: c.left + p.x + p.w, h: p.h });
  const info = r.querySelector('.ecw-info-text');
  const ib = info.getBoundingClientRect();
  return { vw: innerWidth, vh: innerHeight, leads: L.panels.map(box),
           tracks: [L.strip, L.ribbon, L.axis].map(box),
           info: { top: ib.top, bottom: ib.bottom, left: ib.left, right: ib.right,
                   cut: info.scrollWidth > info.clientWidth + 1, text: info.textContent } };
}"""


def _all_in_view(got: dict) -> list[str]:
    bad = []
    for p in got["leads"] + got["tracks"]:
        if p["top"] < -1 or p["bottom"] > got["vh"] + 1 or p["right"] > got["vw"] + 1:
            bad.append(f"{p['name']} at {p['top']:.0f}..{p['bottom']:.0f}")
    i = got["info"]
    if i["cut"] or i["top"] < 0 or i["bottom"] > got["vh"] or i["right"] > got["vw"] + 1:
        bad.append(f"info line {i}")
    return bad


@pytest.mark.parametrize(
    ("layout", "size"), [("12x1", (1280, 720)), ("6x2", (1280, 720)), ("12x1", (1920, 1080))]
)
def test_presentation_mode_fits_a_projector(truth, layout, size):
    page, out, _ = truth
    page.set_viewport_size({"width": size[0], "height": size[1]})
    root = page.locator(".ecw-root")
    page.evaluate("(l) => document.querySelector('.ecw-root').__ecw.send('ecg_layout', l)", layout)
    root.focus()
    page.keyboard.press("f")
    page.wait_for_function(
        "() => document.querySelector('.ecw-root').classList.contains('ecw-present')"
    )
    page.wait_for_timeout(500)  # the resize observer redraws at the new size
    got = page.evaluate(ON_SCREEN)
    try:
        assert not _all_in_view(got), _all_in_view(got)
        n_leads = 12
        assert len(got["leads"]) == n_leads
        # readable from the back of the room: rows of at least 36 px, big text
        assert min(p["h"] for p in got["leads"]) >= 36
        size_px = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('.ecw-info-text')).fontSize)"
        )
        assert size_px >= 17
        root.screenshot(path=str(SCREENSHOTS / f"truth_present_{layout}_{size[0]}.png"))
    finally:
        page.keyboard.press("f")
        page.wait_for_function(
            "() => !document.querySelector('.ecw-root').classList.contains('ecw-present')"
        )
        page.evaluate("() => document.querySelector('.ecw-root').__ecw.send('ecg_layout', '12x1')")
        page.set_viewport_size({"width": 1500, "height": 1100})


# Height of the ribbon's fill (0-1 of the track) every 3 px across the ribbon.
RIBBON_HEIGHTS = """() => {
  const r = document.querySelector('.ecw-root');
  const p = r.__ecw.layout().ribbon;
  const c = r.querySelector('.ecw-canvas');
  const dpr = c.width / parseFloat(c.style.width);
  const ctx = c.getContext('2d');
  const x0 = Math.round((p.x + 2) * dpr), y0 = Math.round(p.y * dpr);
  const w = Math.round((p.w - 4) * dpr), h = Math.round(p.h * dpr);
  const d = ctx.getImageData(x0, y0, w, h).data;
  const at = (x, y) => { const i = 4 * (y * w + x); return [d[i], d[i + 1], d[i + 2]]; };
  const track = at(0, 1);
  const same = (a, b) => Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]) < 12;
  const out = [];
  for (let x = 0; x < w; x += Math.round(3 * dpr)) {
    let y = 1;
    while (y < h && same(at(x, y), track)) y++;
    out.push((h - y) / h);
  }
  return out;
}"""


def test_uncertainty_shows_differences_on_normal_ecgs(truth):
    page, out, _ = truth
    root = page.locator(".ecw-root")
    if root.get_attribute("data-k") != "3":
        slider_k(page, 3)
        wait_k(page, 3)
    heights = page.evaluate(RIBBON_HEIGHTS)
    # relative to the dataset's entropies, a normal ECG's ribbon spans low and high,
    # instead of thin spikes over a flat zero
    tall = sum(h > 0.4 for h in heights) / len(heights)
    low = sum(h < 0.3 for h in heights) / len(heights)
    assert tall > 0.15 and low > 0.15, (tall, low)
    # the absolute value stays readable on hover, with its percentile
    p = page.evaluate("() => document.querySelector('.ecw-root').__ecw.layout().panels[1]")
    page.locator(".ecw-overlay").scroll_into_view_if_needed()
    box = page.locator(".ecw-overlay").bounding_box()
    page.mouse.move(box["x"] + p["x"] + p["w"] * 0.37, box["y"] + p["y"] + p["h"] / 2)
    tip = page.locator(".ecw-tooltip")
    tip.wait_for(state="visible")

    assert re.search(r"uncertainty\s*0\.\d{3} \(p\d+\)", tip.inner_text()), tip.inner_text()
    # per-cluster panel: confident and unsure clusters apart
    groups = {
        g: page.locator(f".ecw-conf-row[data-group='{g}'] .ecw-conf-item").count()
        for g in ("confident", "unsure")
    }
    assert groups["confident"] >= 1 and groups["unsure"] >= 1, groups
    assert groups["confident"] + groups["unsure"] == 3
    for card in page.locator(".ecw-card").all():
        conf = card.get_attribute("data-confidence")
        assert conf in ("confident", "unsure")
        num = card.get_attribute("data-num")
        assert (
            page.locator(
                f".ecw-conf-row[data-group='{conf}'] .ecw-conf-item[data-num='{num}']"
            ).count()
            == 1
        )
    page.mouse.move(0, 0)
    root.screenshot(path=str(SCREENSHOTS / "truth_uncertainty.png"))


def test_executed_quickstart_export_shows_the_ecg_with_the_network_blocked(browser, tmp_path):
    """nbconvert --execute stores widget state, so the HTML export prefers the live
    widget, whose manager comes from a CDN: with every request blocked, the static
    picture (its own output) must still show the drawn ECG."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    nb = tmp_path / "quickstart.ipynb"
    shutil.copyfile(repo / "notebooks" / "quickstart.ipynb", nb)
    env = {**os.environ, "ECW_FAST": "1", "TQDM_DISABLE": "1", "ECW_PTBXL": str(tmp_path / "none")}
    run = [sys.executable, "-m", "jupyter", "nbconvert", "--to"]
    proc = subprocess.run(
        [*run, "notebook", "--execute", "--inplace", str(nb)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(nb.read_text())
    assert "application/vnd.jupyter.widget-state+json" in doc["metadata"].get("widgets", {})
    proc = subprocess.run(
        [*run, "html", str(nb)], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = tmp_path / "quickstart.html"
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    blocked: list[str] = []

    def block(route):
        if route.request.url.startswith("file:"):
            return route.continue_()
        blocked.append(route.request.url)
        return route.abort()

    ctx.route("**/*", block)
    page = ctx.new_page()
    page.goto(html.as_uri())
    page.wait_for_timeout(1500)
    shown = page.evaluate("""() => [...document.querySelectorAll('.ecw-static svg')].map((s) => {
        const r = s.getBoundingClientRect();
        return {h: r.height, w: r.width, rects: s.querySelectorAll('rect').length,
                paths: s.querySelectorAll('path').length,
                visible: getComputedStyle(s).visibility !== 'hidden' && r.height > 0}; })""")
    if shown:
        page.locator(".ecw-static").first.screenshot(path=str(SCREENSHOTS / "truth_export.png"))
    ctx.close()
    assert blocked, "the export asked for nothing from the network: the test proves nothing"
    assert shown and all(s["visible"] for s in shown), shown
    first = shown[0]
    assert first["h"] > 300 and first["rects"] > 30 and first["paths"] > 12, first


def test_static_picture_is_hidden_next_to_the_live_view(truth):
    page, _, _ = truth
    # the picture is in the notebook (for exports), but the live view is shown only once
    assert page.locator(".ecw-static").count() == 1
    assert not page.locator(".ecw-static").is_visible()
    assert page.locator(".ecw-root").is_visible()
