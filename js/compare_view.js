// Front end of CompareView: ECG A and ECG B stacked on one time axis (ECG paper, traces,
// cluster tints and strips from the explorer's drawing code), the time steps whose
// cluster changed marked across both, a "changed" track, and both predictions.

import { runs, drawPanelBands, drawStrip } from "./bands.js";
import { decodeFloat32, decodeInt16 } from "./decode.js";
import { drawAxis, drawGrid, drawTrace, leadCenter, readTheme } from "./ecg_view.js";
import { timeToX, xToTime } from "./layout.js";
import { makePalette } from "./palette.js";
import { withAlpha } from "./color.js";
import { h as el } from "./dom.js";

const CSS = `
.ecv-root{font:12px sans-serif;color:var(--jp-ui-font-color1,#202020)}
.ecv-head{display:flex;gap:16px;flex-wrap:wrap;margin-bottom:4px}
.ecv-card{flex:1 1 260px}
.ecv-title{font-weight:bold}
.ecv-pred{display:flex;gap:6px;flex-wrap:wrap}
.ecv-cls{padding:0 4px;border-radius:3px;background:rgba(128,128,128,.15)}
.ecv-cls.ecv-pos{background:rgba(192,0,60,.18);font-weight:bold}
.ecv-stack{position:relative}
.ecv-stack canvas{position:absolute;left:0;top:0}
.ecv-changed{margin-top:2px}
`;

const CHANGED = "#d6004c";

/** Rows of the drawing: per ECG its lead panels and a strip, then the changed track and axis. */
export function compareLayout({ width, duration, nLeads, scale = 1 }) {
  const margin = 64;
  const w = Math.max(320, Math.floor(width));
  const plotW = w - margin - 8;
  const pxPerMm0 = plotW / (duration * 25);
  const pxPerMv = pxPerMm0 * 10;
  const rowH = Math.max(60, Math.round(2.2 * pxPerMv));
  const box = (kind, y, h, extra = {}) => ({ kind, x: margin, y, w: plotW, h, t0: 0, t1: duration, ...extra });
  const rows = [];
  let y = 18;
  for (const which of ["a", "b"]) {
    for (let j = 0; j < nLeads; j++) {
      rows.push(box("lead", y, rowH, { which, j }));
      y += rowH;
    }
    rows.push(box("strip", y + 2, Math.round(16 * scale), { which }));
    y += Math.round(16 * scale) + 12;
  }
  const changed = box("changed", y, Math.round(14 * scale));
  y += changed.h + 4;
  const axis = box("axis", y, 22);
  return { width: w, height: y + 24, margin, pxPerMv, pxPerMm0, speed: 25, gain: 10, zoom: 1, scale, rows, changed, axis, overlap: false };
}

function render({ model, el: host }) {
  const doc = host.ownerDocument || document;
  const root = el(doc, "div", "ecv-root");
  root.tabIndex = 0;
  const head = el(doc, "div", "ecv-head");
  const cardA = el(doc, "div", "ecv-card ecv-a");
  const cardB = el(doc, "div", "ecv-card ecv-b");
  head.append(cardA, cardB);
  const stack = el(doc, "div", "ecv-stack");
  const canvas = el(doc, "canvas", "ecv-canvas");
  const over = el(doc, "canvas", "ecv-overlay");
  stack.append(canvas, over);
  const foot = el(doc, "div", "ecv-changed");
  root.append(head, stack, foot);
  host.append(el(doc, "style", null, CSS), root);
  const ctx = canvas.getContext("2d");
  const octx = over.getContext("2d");
  let L = null;
  let d = null;
  let dpr = 1;
  let drawn = 0;

  function decode() {
    const n = model.get("n_samples");
    const nl = model.get("n_leads");
    const sa = decodeFloat32(model.get("signal_a"));
    const sb = decodeFloat32(model.get("signal_b"));
    const ia = decodeInt16(model.get("ids_a"));
    const ib = decodeInt16(model.get("ids_b"));
    if (sa.length !== n * nl || sb.length !== n * nl || ia.length !== n || ib.length !== n) {
      throw new Error(`compare view: array sizes do not match ${nl} leads x ${n} samples`);
    }
    const ids = model.get("cluster_ids") || [];
    d = {
      n, nl, fs: model.get("fs"), sig: { a: sa, b: sb }, ids: { a: ia, b: ib },
      segs: { a: runs(ia), b: runs(ib) }, changed: model.get("changed") || [],
      leads: model.get("leads") || [0], names: model.get("lead_names") || [], ids0: ids,
    };
  }

  function card(box, which) {
    box.replaceChildren();
    box.appendChild(el(doc, "div", "ecv-title", `${which.toUpperCase()}: ${model.get(`title_${which}`)}`));
    const pred = model.get(`pred_${which}`) || {};
    const row = el(doc, "div", "ecv-pred");
    const names = Object.keys(pred).sort((x, y) => pred[y] - pred[x]);
    if (!names.length) row.appendChild(el(doc, "span", null, "no prediction (model without predict_proba)"));
    for (const c of names) {
      const s = el(doc, "span", "ecv-cls" + (pred[c] > 0.5 ? " ecv-pos" : ""), `${c} ${(100 * pred[c]).toFixed(0)}%`);
      s.dataset.cls = c;
      row.appendChild(s);
    }
    box.appendChild(row);
    box.dataset.prediction = names.filter((c) => pred[c] > 0.5).join(",");
  }

  function draw() {
    const theme = readTheme(root);
    const pal = makePalette(d.ids0, theme.dark);
    const labels = model.get("cluster_labels") || {};
    const cssW = Math.max(320, Math.floor(stack.clientWidth || host.clientWidth || 900));
    L = compareLayout({ width: cssW, duration: d.n / d.fs, nLeads: d.leads.length });
    dpr = Math.max(1, Math.min(3, (typeof window !== "undefined" && window.devicePixelRatio) || 1));
    for (const c of [canvas, over]) {
      c.width = Math.round(L.width * dpr);
      c.height = Math.round(L.height * dpr);
      c.style.width = `${L.width}px`;
      c.style.height = `${L.height}px`;
    }
    stack.style.height = `${L.height}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, L.width, L.height);
    const mark = (p) => {
      ctx.fillStyle = withAlpha(CHANGED, 0.16);
      for (const [s, e] of d.changed) {
        const x0 = timeToX(p, s / d.fs);
        ctx.fillRect(x0, p.y, Math.max(1, timeToX(p, e / d.fs) - x0), p.h);
      }
    };
    for (const p of L.rows) {
      if (p.kind === "lead") {
        const lead = d.leads[p.j];
        drawGrid(ctx, p, L, theme);
        drawPanelBands(ctx, p, d.segs[p.which], d.fs, { pal, style: "light" });
        mark(p);
        const off = lead * d.n;
        drawTrace(ctx, p, L, d.sig[p.which], off, d.n, d.fs, theme, leadCenter(d.sig[p.which], off, d.n));
        ctx.fillStyle = theme.fg;
        ctx.font = "bold 12px sans-serif";
        ctx.textBaseline = "top";
        ctx.fillText(`${p.which.toUpperCase()} ${d.names[lead] ?? lead}`, 4, p.y + 4);
      } else if (p.kind === "strip") {
        drawStrip(ctx, p, d.segs[p.which], d.fs, labels, null, pal);
        ctx.fillStyle = theme.muted;
        ctx.font = "10px sans-serif";
        ctx.textBaseline = "top";
        ctx.fillText(`clusters ${p.which.toUpperCase()}`, 4, p.y + 2);
      }
    }
    const c = L.changed;
    ctx.fillStyle = theme.track;
    ctx.fillRect(c.x, c.y, c.w, c.h);
    ctx.fillStyle = CHANGED;
    for (const [s, e] of d.changed) {
      const x0 = timeToX(c, s / d.fs);
      ctx.fillRect(x0, c.y, Math.max(1, timeToX(c, e / d.fs) - x0), c.h);
    }
    ctx.fillStyle = theme.muted;
    ctx.font = "10px sans-serif";
    ctx.textBaseline = "top";
    ctx.fillText("changed", 4, c.y + 2);
    drawAxis(ctx, L.axis, L, theme);
    card(cardA, "a");
    card(cardB, "b");
    const share = model.get("changed_share");
    foot.textContent = `cluster changed at ${(100 * share).toFixed(1)}% of the time steps (${d.changed.length} runs)`;
    drawn++;
    root.dataset.drawn = String(drawn);
    root.dataset.changedRuns = String(d.changed.length);
  }

  // Crosshair with the cluster of A and B under the pointer.
  over.addEventListener("pointermove", (ev) => {
    if (!L || !d) return;
    const r = over.getBoundingClientRect();
    const x = ev.clientX - r.left;
    octx.setTransform(dpr, 0, 0, dpr, 0, 0);
    octx.clearRect(0, 0, L.width, L.height);
    if (x < L.margin || x > L.margin + L.axis.w) return;
    const tsec = xToTime(L.axis, x);
    const i = Math.max(0, Math.min(d.n - 1, Math.round(tsec * d.fs)));
    const theme = readTheme(root);
    const pal = makePalette(d.ids0, theme.dark);
    octx.strokeStyle = theme.cross;
    octx.beginPath();
    octx.moveTo(Math.round(x) + 0.5, 0);
    octx.lineTo(Math.round(x) + 0.5, L.height);
    octx.stroke();
    const labels = model.get("cluster_labels") || {};
    const text = `${tsec.toFixed(3)} s · A ${pal.tag(d.ids.a[i], labels)} · B ${pal.tag(d.ids.b[i], labels)}`;
    octx.font = "11px sans-serif";
    octx.textBaseline = "top";
    const w = octx.measureText(text).width + 8;
    const tx = Math.min(x + 8, L.width - w);
    octx.fillStyle = theme.labelBg;
    octx.fillRect(tx, 0, w, 15);
    octx.fillStyle = theme.fg;
    octx.fillText(text, tx + 4, 2);
    root.dataset.hoverSample = String(i);
  });
  over.addEventListener("pointerleave", () => {
    octx.setTransform(1, 0, 0, 1, 0, 0);
    octx.clearRect(0, 0, over.width, over.height);
  });

  const redraw = () => {
    try {
      decode();
      draw();
    } catch (e) {
      foot.textContent = String(e && e.message ? e.message : e);
    }
  };
  const names = ["signal_a", "signal_b", "ids_a", "ids_b", "changed", "pred_a", "pred_b", "leads", "cluster_labels", "title_a", "title_b"];
  for (const nm of names) model.on(`change:${nm}`, redraw);
  let ro = null;
  if (typeof ResizeObserver === "function") {
    let last = 0;
    ro = new ResizeObserver(() => {
      const w = stack.clientWidth;
      if (w && Math.abs(w - last) > 4) { last = w; redraw(); }
    });
    ro.observe(stack);
  }
  redraw();
  root.dataset.ready = "1";
  return () => {
    for (const nm of names) model.off(`change:${nm}`, redraw);
    ro?.disconnect();
  };
}

export default { render };
