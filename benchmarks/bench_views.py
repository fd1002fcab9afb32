"""Dataset-view responsiveness in headless Chromium: brush and hover frames at 20,000 points.

The shipped bundle (``views/static/dataset_view.js``) is loaded into a page served from
127.0.0.1 and driven by synthetic pointer events; the anywidget model is a small
in-page object with the same ``get/set/on/off/save_changes`` calls and the traits
``DatasetView`` sends (binary arrays as base64, as the standalone export does), so no
kernel is involved and the numbers are the front end's own. The proportions are those
of a real fit (the demo model on synthetic ECGs), resampled with Dirichlet noise up to
the requested sizes, and embedded by ``embed_proportions`` as the view does.

Measures (medians, ms), per size:

* render: the ``render`` call (decode, grid, first raster, legend, panel);
* brush move: one pointermove while dragging a brush (mask of all points, raster,
  summary panel), and the frame interval (requestAnimationFrame to the next);
* hover move: one pointermove without a button (grid lookup, overlay ring, tooltip);
* recolour: a ``color_values`` change (colour table + raster);
* kernel side: ``embed_proportions`` and the brush selection of ``DatasetView``.

Usage::

    .venv/bin/python benchmarks/bench_views.py [--sizes 2000 20000] [--reps 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO))

from harness import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGE = """<!doctype html><html><body style="margin:0;width:1100px">
<div id="host" style="width:1100px"></div>
<script type="module">
import view from "./dataset_view.js";
window.mount = (state) => {
  const handlers = {};
  const model = {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; (handlers["change:" + k] || []).forEach((f) => f()); },
    on: (e, f) => { (handlers[e] = handlers[e] || []).push(f); },
    off: () => {},
    save_changes: () => {},
  };
  const host = document.getElementById("host");
  host.replaceChildren();
  const t0 = performance.now();
  view.render({ model, el: host });
  window.model = model;
  return performance.now() - t0;
};
window.ready = true;
</script></body></html>"""

DRAG = """async ({ steps }) => {
  const ov = document.querySelector('.edv-overlay');
  const r = ov.getBoundingClientRect();
  const ev = (type, f, buttons) => new PointerEvent(type, {
    clientX: r.left + f * r.width, clientY: r.top + f * r.height, bubbles: true,
    pointerId: 1, button: 0, buttons, isPrimary: true });
  ov.dispatchEvent(ev('pointerdown', 0.1, 1));
  const moves = [], frames = [];
  let last = performance.now();
  for (let i = 1; i <= steps; i++) {
    const t0 = performance.now();
    ov.dispatchEvent(ev('pointermove', 0.1 + 0.7 * i / steps, 1));
    moves.push(performance.now() - t0);
    await new Promise((res) => requestAnimationFrame(() => res()));
    const now = performance.now(); frames.push(now - last); last = now;
  }
  ov.dispatchEvent(ev('pointerup', 0.8, 0));
  const brushed = Number(document.querySelector('.edv-root').dataset.brushed);
  // Clear the brush so the next rep starts alike.
  document.querySelector('.edv-root').dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
  return { moves, frames: frames.slice(1), brushed };
}"""

HOVER = """async ({ steps }) => {
  const ov = document.querySelector('.edv-overlay');
  const r = ov.getBoundingClientRect();
  const out = [];
  for (let i = 0; i < steps; i++) {
    const f = 0.15 + 0.7 * i / steps;
    const t0 = performance.now();
    ov.dispatchEvent(new PointerEvent('pointermove', { clientX: r.left + f * r.width,
      clientY: r.top + (1 - f) * r.height, bubbles: true, pointerId: 1, buttons: 0 }));
    out.push(performance.now() - t0);
    await new Promise((res) => requestAnimationFrame(() => res()));
  }
  return out;
}"""

RECOLOR = """(b64) => {
  const t0 = performance.now();
  window.model.set('color_kind', 'continuous');
  window.model.set('color_values', { $b64: b64 });
  return performance.now() - t0;
}"""


def b64(a: np.ndarray) -> dict:
    return {"$b64": base64.b64encode(np.ascontiguousarray(a, np.float32).tobytes()).decode()}


def real_proportions(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Proportions and mean entropy of a real fit (demo model, 200 synthetic ECGs)."""
    import torch

    from ecg_cluster_widget.data.synthetic import make_synthetic
    from ecg_cluster_widget.explain import TLCExplainer
    from ecg_cluster_widget.model.pretrained import load_demo_model

    torch.set_num_threads(1)
    ds = make_synthetic(200, seed=seed)
    tlc = TLCExplainer(load_demo_model(), n_clusters=6, progress=False, random_state=seed)
    es = tlc.fit(ds).explain_all(ds)
    return np.asarray(es.proportions), np.asarray(es.mean_entropy)


def grow(prop: np.ndarray, ent: np.ndarray, n: int, seed: int = 0):
    """n records: real ones drawn with replacement, each perturbed by Dirichlet noise."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(prop), n)
    p = np.array([rng.dirichlet(200 * prop[i] + 0.5) for i in pick])
    return p, np.clip(ent[pick] + rng.normal(0, 0.02, n), 0, 1)


def state_for(p: np.ndarray, ent: np.ndarray, seed: int = 0) -> dict:
    from ecg_cluster_widget.explain.embedding import embed_proportions

    rng = np.random.default_rng(seed)
    xy = embed_proportions(p)
    xy = (xy - xy.min(0)) / max(float((xy.max(0) - xy.min(0)).max()), 1e-12)
    n, k = p.shape
    cats = ["NORM", "MI", "STTC", "CD", "AF", "multiple", "none"]
    codes = rng.integers(0, len(cats), n).astype(np.float32)
    return {
        "n_points": n,
        "n_clusters": k,
        "xy": b64(xy),
        "proportions": b64(p),
        "cluster_ids": list(range(k)),
        "cluster_names": {},
        "class_values": b64(codes),
        "class_categories": cats,
        "record_ids": [f"r{i}" for i in range(n)],
        "color_by": "class",
        "color_options": ["class", "entropy"],
        "color_values": b64(codes),
        "color_kind": "categorical",
        "color_categories": cats,
        "color_range": [],
        "current": 3,
        "brush": [],
        "height": 480,
        "error": "",
        "_entropy": b64(ent),
    }


def kernel_side(p: np.ndarray, reps: int) -> dict[str, list[float]]:
    """embed_proportions and DatasetView's brush selection with the group's cluster mix."""
    from ecg_cluster_widget.explain.embedding import embed_proportions
    from ecg_cluster_widget.views.dataset_view import select_in_rect

    out: dict[str, list[float]] = {"embed_proportions (pca)": [], "brush selection + mix": []}
    for _ in range(reps):
        t0 = time.perf_counter()
        xy = embed_proportions(p)
        out["embed_proportions (pca)"].append(1000 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        idx = select_in_rect(xy, [lo[0], lo[1], (lo[0] + hi[0]) / 2, hi[1]])
        _ = p[idx].mean(axis=0), [int(i) for i in idx]  # summary mix and selection list
        out["brush selection + mix"].append(1000 * (time.perf_counter() - t0))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30, help="pointer moves per rep")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    prop, ent = real_proportions()
    tmp = Path(tempfile.mkdtemp(prefix="ecw-bench-views-"))
    shutil.copy(REPO / "ecg_cluster_widget" / "views" / "static" / "dataset_view.js", tmp)
    (tmp / "index.html").write_text(PAGE)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_args) -> None:  # keep the table readable
            pass

    handler = functools.partial(Quiet, directory=str(tmp))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    results: dict[int, dict[str, list[float]]] = {}
    brushed: dict[int, int] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            page.wait_for_function("() => window.ready === true")
            for n in args.sizes:
                p, e = grow(prop, ent, n)
                st = state_for(p, e)
                r: dict[str, list[float]] = {
                    k: [] for k in ("render", "brush move", "brush frame", "hover move", "recolour")
                }
                for _ in range(args.reps):
                    r["render"].append(page.evaluate("(s) => window.mount(s)", st))
                    d = page.evaluate(DRAG, {"steps": args.steps})
                    r["brush move"] += d["moves"]
                    r["brush frame"] += d["frames"]
                    brushed[n] = d["brushed"]
                    r["hover move"] += page.evaluate(HOVER, {"steps": args.steps})
                    r["recolour"].append(page.evaluate(RECOLOR, st["_entropy"]["$b64"]))
                for k, v in kernel_side(p, args.reps).items():
                    r[f"kernel: {k}"] = v
                results[n] = r
            browser.close()
    finally:
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)

    names = list(next(iter(results.values())))
    sizes = list(results)
    print(f"Dataset view, headless Chromium, medians in ms ({args.reps} reps x {args.steps} moves)")
    head = f"{'measure':34s}" + "".join(f"{f'{n} pts':>12s}" for n in sizes)
    if len(sizes) > 1:
        head += f"{'ratio':>8s}"
    print(head)
    for name in names:
        med = [statistics.median(results[n][name]) for n in sizes]
        line = f"{name:34s}" + "".join(f"{m:12.2f}" for m in med)
        if len(sizes) > 1:
            line += f"{med[-1] / max(med[0], 1e-9):8.1f}"
        print(line)
    print("points inside the last brush: " + ", ".join(f"{n}: {brushed[n]}" for n in sizes))
    if args.json:
        summary = {str(n): {k: statistics.median(v) for k, v in results[n].items()} for n in sizes}
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
