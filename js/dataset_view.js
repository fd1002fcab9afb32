// Front end of DatasetView: a canvas scatter of every record (points written into one
// ImageData), a hover/marker overlay on a second canvas, rectangle brushing with the
// group's cluster and class mix computed here, and click-to-open in the linked explorer.

import { decodeFloat32 } from "./decode.js";
import { readTheme } from "./ecg_view.js";
import { makePalette } from "./palette.js";
import { hexRgb } from "./color.js";
import { h as el } from "./dom.js";
import {
  brushMask, buildGrid, categoryColor, groupMix, makeTransform, nearest, normRect,
  pointColors, pointSize, rampColor, rasterize,
} from "./scatter.js";

const CSS = `
.edv-root{font:12px sans-serif;color:var(--jp-ui-font-color1,#202020);display:flex;gap:10px;align-items:flex-start}
.edv-main{flex:1 1 auto;min-width:260px}
.edv-bar{display:flex;gap:8px;align-items:center;margin-bottom:4px;flex-wrap:wrap}
.edv-stack{position:relative;width:100%;border:1px solid rgba(128,128,128,.3);box-sizing:border-box}
.edv-stack canvas{position:absolute;left:0;top:0}
.edv-overlay{cursor:crosshair;touch-action:none}
.edv-side{flex:0 0 220px;max-width:240px}
.edv-row{display:flex;align-items:center;gap:4px;margin:2px 0}
.edv-row .edv-name{flex:0 0 88px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.edv-row .edv-track{flex:1;height:9px;background:rgba(128,128,128,.18)}
.edv-row .edv-fill{height:100%}
.edv-row .edv-val{flex:0 0 34px;text-align:right}
.edv-legend{display:flex;gap:6px;flex-wrap:wrap;margin-top:4px}
.edv-chip{display:inline-flex;align-items:center;gap:3px}
.edv-sw{display:inline-block;width:10px;height:10px}
.edv-ramp{display:inline-block;width:120px;height:10px}
.edv-tip{position:absolute;pointer-events:none;background:rgba(0,0,0,.78);color:#fff;padding:2px 5px;border-radius:3px;white-space:nowrap;font-size:11px}
.edv-error{color:#c0003c}
`;

function bars(doc, rows) {
  const frag = doc.createDocumentFragment();
  for (const r of rows) {
    const row = el(doc, "div", "edv-row");
    row.dataset.key = r.key;
    const track = el(doc, "div", "edv-track");
    const fill = el(doc, "div", "edv-fill");
    fill.style.width = `${Math.round(100 * Math.max(0, Math.min(1, r.v)))}%`;
    fill.style.background = r.color;
    track.appendChild(fill);
    row.append(el(doc, "span", "edv-name", r.name), track, el(doc, "span", "edv-val", `${(100 * r.v).toFixed(0)}%`));
    frag.appendChild(row);
  }
  return frag;
}

function render({ model, el: host }) {
  const doc = host.ownerDocument || document;
  const style = el(doc, "style", null, CSS);
  const root = el(doc, "div", "edv-root");
  root.tabIndex = 0;
  const main = el(doc, "div", "edv-main");
  const bar = el(doc, "div", "edv-bar");
  const colorSel = el(doc, "select", "edv-color");
  colorSel.title = "colour points by";
  const status = el(doc, "span", "edv-status");
  bar.append(el(doc, "span", null, "colour:"), colorSel, status);
  const stack = el(doc, "div", "edv-stack");
  const base = el(doc, "canvas", "edv-base");
  const over = el(doc, "canvas", "edv-overlay");
  const tip = el(doc, "div", "edv-tip");
  tip.hidden = true;
  stack.append(base, over, tip);
  const legend = el(doc, "div", "edv-legend");
  const err = el(doc, "div", "edv-error");
  main.append(bar, stack, legend, err);
  const side = el(doc, "div", "edv-side");
  const summary = el(doc, "div", "edv-summary");
  summary.dataset.state = "empty";
  side.appendChild(summary);
  root.append(main, side);
  host.append(style, root);

  const bctx = base.getContext("2d");
  const octx = over.getContext("2d");
  let theme = readTheme(root);
  // Data decoded from the binary traits (views into the received buffers).
  let d = null;
  let grid = null;
  let colors = null;
  let mask = null; // Uint8Array of brushed points, or null
  let nBrushed = 0;
  let rect = null; // brush rectangle in units
  let hover = -1;
  let drag = null;
  let W = 0;
  let H = 0;
  let dpr = 1;
  let tr = null;
  let image = null;
  let words = null;
  let frames = 0;

  function decode() {
    const n = model.get("n_points");
    const k = model.get("n_clusters");
    const xy = decodeFloat32(model.get("xy"));
    const props = decodeFloat32(model.get("proportions"));
    if (xy.length !== 2 * n || props.length !== n * k) {
      throw new Error(`dataset view: ${xy.length / 2} points and ${props.length} proportions for n=${n}, K=${k}`);
    }
    d = {
      n, k, xy, props,
      ids: model.get("cluster_ids") || [],
      classCodes: decodeFloat32(model.get("class_values")),
      classCats: model.get("class_categories") || [],
      recordIds: model.get("record_ids") || [],
    };
    grid = buildGrid(xy, n, Math.max(8, Math.min(256, Math.round(Math.sqrt(n / 4)))));
    mask = null;
    nBrushed = 0;
    rect = null;
  }

  function recolor() {
    const vals = decodeFloat32(model.get("color_values"));
    const cats = model.get("color_categories") || [];
    colors = pointColors(vals, d.n, model.get("color_kind"), model.get("color_range"), cats.length, theme.dark);
    d.colorVals = vals;
  }

  function resize() {
    const cssW = Math.max(240, Math.floor(stack.clientWidth || host.clientWidth || 600));
    const cssH = Math.max(200, Number(model.get("height")) || 420);
    dpr = Math.max(1, Math.min(3, (typeof window !== "undefined" && window.devicePixelRatio) || 1));
    W = Math.round(cssW * dpr);
    H = Math.round(cssH * dpr);
    for (const c of [base, over]) {
      c.width = W;
      c.height = H;
      c.style.width = `${cssW}px`;
      c.style.height = `${cssH}px`;
    }
    stack.style.height = `${cssH}px`;
    tr = makeTransform(W, H, Math.round(12 * dpr));
    image = bctx.createImageData(W, H);
    words = new Uint32Array(image.data.buffer);
  }

  function packed(hex, a) {
    const c = hexRgb(hex);
    return ((a << 24) | (c[2] << 16) | (c[1] << 8) | c[0]) >>> 0;
  }

  function drawBase() {
    const bg = packed(theme.dark ? "#1e1e1e" : "#ffffff", 255);
    const faded = packed(theme.dark ? "#4a4a4a" : "#d4d4d4", 255);
    // Sized to the number of points (js/scatter.js pointSize).
    const size = pointSize(d.n, W, H, dpr);
    root.dataset.pointSize = String(size / dpr);
    rasterize(words, W, H, d.xy, d.n, colors, tr, size, mask, faded, bg);
    bctx.putImageData(image, 0, 0);
    frames++;
    root.dataset.frames = String(frames);
  }

  function ring(i, color, r, width) {
    const x = tr.toX(d.xy[2 * i]);
    const y = tr.toY(d.xy[2 * i + 1]);
    octx.strokeStyle = color;
    octx.lineWidth = width * dpr;
    octx.beginPath();
    octx.arc(x, y, r * dpr, 0, 2 * Math.PI);
    octx.stroke();
  }

  function drawOverlay() {
    octx.clearRect(0, 0, W, H);
    if (rect) {
      const [x0, y0, x1, y1] = normRect(rect);
      const px0 = tr.toX(x0);
      const py0 = tr.toY(y1);
      octx.fillStyle = theme.select;
      octx.strokeStyle = theme.selectEdge;
      octx.lineWidth = dpr;
      octx.fillRect(px0, py0, tr.toX(x1) - px0, tr.toY(y0) - py0);
      octx.strokeRect(px0, py0, tr.toX(x1) - px0, tr.toY(y0) - py0);
    }
    const cur = model.get("current");
    if (cur >= 0 && cur < d.n) {
      ring(cur, theme.dark ? "#ffffff" : "#000000", 7, 2.5);
      ring(cur, theme.dark ? "#000000" : "#ffffff", 4, 1.5);
    }
    if (hover >= 0) ring(hover, theme.selectEdge, 6, 2);
    root.dataset.current = String(cur);
    root.dataset.hover = String(hover);
  }

  function clusterName(id, pal) {
    const names = model.get("cluster_names") || {};
    const n = names[String(id)];
    return n ? `${pal.short(id)} ${n}` : `cluster ${pal.short(id)}`;
  }

  function drawSummary() {
    summary.replaceChildren();
    if (!mask || !nBrushed) {
      summary.dataset.state = "empty";
      summary.appendChild(el(doc, "div", null, "Drag on the scatter to brush a group; click a point to open its ECG."));
      root.dataset.brushed = "0";
      return;
    }
    const g = groupMix(mask, d.n, d.props, d.k, d.classCodes, d.classCats.length);
    const pal = makePalette(d.ids, theme.dark);
    summary.dataset.state = "filled";
    root.dataset.brushed = String(g.count);
    summary.appendChild(el(doc, "div", "edv-count", `${g.count} of ${d.n} records`));
    summary.appendChild(el(doc, "b", null, "cluster mix"));
    const cl = bars(doc, d.ids.map((id, j) => ({ key: `c${id}`, name: clusterName(id, pal), v: g.mix[j], color: pal.color(id) })));
    const box = el(doc, "div", "edv-clusters");
    box.appendChild(cl);
    summary.appendChild(box);
    if (d.classCats.length) {
      summary.appendChild(el(doc, "b", null, "class mix (true labels)"));
      const rows = d.classCats
        .map((name, j) => ({ key: `k${j}`, name, v: g.cats[j], color: `rgb(${categoryColor(j, d.classCats.length, theme.dark).join(",")})` }))
        .filter((r) => r.v > 0);
      const cbox = el(doc, "div", "edv-classes");
      cbox.appendChild(bars(doc, rows));
      summary.appendChild(cbox);
    }
  }

  function drawLegend() {
    legend.replaceChildren();
    const kind = model.get("color_kind");
    if (kind === "categorical") {
      const cats = model.get("color_categories") || [];
      cats.forEach((c, i) => {
        const chip = el(doc, "span", "edv-chip");
        const sw = el(doc, "span", "edv-sw");
        sw.style.background = `rgb(${categoryColor(i, cats.length, theme.dark).join(",")})`;
        chip.append(sw, el(doc, "span", null, c));
        legend.appendChild(chip);
      });
    } else {
      const [lo, hi] = model.get("color_range") || [0, 1];
      const ramp = el(doc, "span", "edv-ramp");
      const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => `rgb(${rampColor(t).join(",")}) ${t * 100}%`);
      ramp.style.background = `linear-gradient(to right, ${stops.join(",")})`;
      legend.append(el(doc, "span", null, Number(lo).toFixed(2)), ramp, el(doc, "span", null, Number(hi).toFixed(2)));
    }
  }

  function drawStatus() {
    status.textContent = `${d.n} records · K=${d.k}` + (nBrushed ? ` · ${nBrushed} brushed` : "");
    err.textContent = model.get("error") || "";
  }

  function fillOptions() {
    const opts = model.get("color_options") || [];
    const pal = makePalette(d.ids, theme.dark);
    const label = (o) => (o.startsWith("cluster:") ? `share of ${clusterName(Number(o.slice(8)), pal)}` : o);
    colorSel.replaceChildren(...opts.map((o) => {
      const op = el(doc, "option", null, label(o));
      op.value = o;
      return op;
    }));
    colorSel.value = model.get("color_by");
  }

  function full() {
    theme = readTheme(root);
    decode();
    recolor();
    resize();
    applyBrushFromModel();
    drawBase();
    drawOverlay();
    drawSummary();
    drawLegend();
    fillOptions();
    drawStatus();
    root.dataset.nPoints = String(d.n);
  }

  function setBrush(r) {
    rect = r;
    if (!r) {
      mask = null;
      nBrushed = 0;
    } else {
      if (!mask || mask.length !== d.n) mask = new Uint8Array(d.n);
      nBrushed = brushMask(d.xy, d.n, r, mask);
    }
    drawBase();
    drawOverlay();
    drawSummary();
    drawStatus();
  }

  function applyBrushFromModel() {
    const b = model.get("brush") || [];
    rect = b.length === 4 ? b : null;
    if (rect) {
      mask = new Uint8Array(d.n);
      nBrushed = brushMask(d.xy, d.n, rect, mask);
    }
  }

  function sendBrush() {
    model.set("brush", rect ? normRect(rect).map(Number) : []);
    model.save_changes();
  }

  const local = (ev) => {
    const r = over.getBoundingClientRect();
    return [(ev.clientX - r.left) * dpr, (ev.clientY - r.top) * dpr];
  };

  function showTip(i, px, py) {
    if (i < 0) { tip.hidden = true; return; }
    const v = d.colorVals && d.colorVals.length === d.n ? d.colorVals[i] : NaN;
    const cats = model.get("color_categories") || [];
    const val = model.get("color_kind") === "categorical" ? cats[v | 0] ?? "" : Number(v).toFixed(3);
    tip.textContent = `#${i} ${d.recordIds[i] ?? ""} · ${model.get("color_by")}: ${val}`;
    tip.style.left = `${px / dpr + 12}px`;
    tip.style.top = `${py / dpr + 8}px`;
    tip.hidden = false;
  }

  over.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0 || !d) return;
    const [px, py] = local(ev);
    over.setPointerCapture?.(ev.pointerId);
    drag = { px, py, moved: false };
    ev.preventDefault();
  });
  over.addEventListener("pointermove", (ev) => {
    if (!d) return;
    const [px, py] = local(ev);
    if (drag) {
      if (Math.abs(px - drag.px) > 3 * dpr || Math.abs(py - drag.py) > 3 * dpr) drag.moved = true;
      if (!drag.moved) return;
      setBrush([tr.fromX(drag.px), tr.fromY(drag.py), tr.fromX(px), tr.fromY(py)]);
      return;
    }
    const i = nearest(grid, d.xy, tr.fromX(px), tr.fromY(py), (8 * dpr) / tr.s);
    if (i !== hover) {
      hover = i;
      drawOverlay();
    }
    showTip(i, px, py);
  });
  const up = (ev) => {
    if (!drag || !d) return;
    const [px, py] = local(ev);
    const g = drag;
    drag = null;
    if (g.moved) {
      setBrush([tr.fromX(g.px), tr.fromY(g.py), tr.fromX(px), tr.fromY(py)]);
      sendBrush();
      return;
    }
    const i = nearest(grid, d.xy, tr.fromX(px), tr.fromY(py), (8 * dpr) / tr.s);
    if (i >= 0) {
      model.set("current", i);
      model.save_changes();
      drawOverlay();
    }
  };
  over.addEventListener("pointerup", up);
  over.addEventListener("pointercancel", () => { drag = null; });
  over.addEventListener("pointerleave", () => {
    if (hover >= 0 && !drag) { hover = -1; drawOverlay(); }
    tip.hidden = true;
  });
  root.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && rect) {
      setBrush(null);
      sendBrush();
      ev.preventDefault();
    }
  });
  colorSel.addEventListener("change", () => {
    model.set("color_by", colorSel.value);
    model.save_changes();
  });

  const onData = () => full();
  const onColor = () => { recolor(); drawBase(); drawOverlay(); drawLegend(); colorSel.value = model.get("color_by"); };
  const onCurrent = () => drawOverlay();
  const onBrush = () => {
    const b = model.get("brush") || [];
    const same = rect && b.length === 4 && normRect(rect).every((v, j) => Math.abs(v - b[j]) < 1e-9);
    if (!same) setBrush(b.length === 4 ? b : null);
  };
  const onNames = () => { fillOptions(); drawSummary(); };
  const onError = () => drawStatus();
  const handlers = [
    ["change:xy", onData], ["change:proportions", onData], ["change:height", onData],
    ["change:color_values", onColor], ["change:color_kind", onColor], ["change:color_range", onColor],
    ["change:current", onCurrent], ["change:brush", onBrush], ["change:cluster_names", onNames],
    ["change:color_options", onNames], ["change:error", onError],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  let ro = null;
  if (typeof ResizeObserver === "function") {
    let last = 0;
    ro = new ResizeObserver(() => {
      const w = stack.clientWidth;
      if (w && Math.abs(w - last) > 4) { last = w; if (d) { resize(); drawBase(); drawOverlay(); } }
    });
    ro.observe(stack);
  }
  try {
    full();
  } catch (e) {
    err.textContent = String(e && e.message ? e.message : e);
  }
  // For tests and the benchmark: where point i is drawn, in CSS pixels of the overlay.
  root.__edv = {
    pointXY: (i) => [tr.toX(d.xy[2 * i]) / dpr, tr.toY(d.xy[2 * i + 1]) / dpr],
    nPoints: () => (d ? d.n : 0),
  };
  root.dataset.ready = "1";
  return () => {
    for (const [name, fn] of handlers) model.off(name, fn);
    ro?.disconnect();
  };
}

export default { render };
