// Drawing of the ECG stage: the base canvas (paper, bands, traces, strip, ribbon,
// Grad-CAM, axis), the overlay canvas (brush, calipers, crosshair) and the tooltip.
// State lives in the view's shared state object `S` (index.js); nothing here listens.

import { computeLayout, timeToX } from "./layout.js";
import { caliperReading } from "./brush.js";
import { drawGradcam, drawPanelBands, drawPanelCap, drawPanelGradcam, drawRibbon, drawStrip, valueAt } from "./bands.js";
import { drawAxis, drawCalibration, drawGrid, drawLeadLabel, drawTrace, leadCenter } from "./ecg_view.js";
import { swatch } from "./prototypes.js";
import { h } from "./dom.js";
import { createLayers } from "./layers.js";

// Draw timings, read by benchmarks/bench_widget.py (kept short: bounded arrays).
const perf = (globalThis.__ecwPerf = globalThis.__ecwPerf ||
  { base: [], overlay: [], summary: [], render: [], hover: [] });
export function track(key, t0) {
  const a = perf[key] || (perf[key] = []);
  a.push(performance.now() - t0);
  if (a.length > 500) a.shift();
}

export function caliperText(r) {
  const bpm = r.bpm && r.ms >= 200 ? ` · ${Math.round(r.bpm)} bpm` : "";
  return `${Math.round(r.ms)} ms${bpm} · ${r.mv >= 0 ? "+" : ""}${r.mv.toFixed(2)} mV`;
}

function sizeCanvas(c, w, hgt) {
  const dpr = globalThis.devicePixelRatio || 1;
  const W = Math.round(w * dpr);
  const H = Math.round(hgt * dpr);
  if (c.width !== W || c.height !== H) {
    c.width = W;
    c.height = H;
    c.style.width = `${w}px`;
    c.style.height = `${hgt}px`;
  }
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** The stage's draw functions over the view environment `env` (see index.js). */
export function createDrawing(env) {
  const { model, el, S, get } = env;
  const { root, stage, legend, side, base, overlay, tip } = env.dom;
  const doc = el.ownerDocument || document;
  const layers = createLayers((w, hgt) => {
    const c = doc.createElement("canvas");
    c.width = w;
    c.height = hgt;
    return c;
  });

  function drawBase() {
    const t0 = performance.now();
    const cur = S.cur;
    const width = Math.max(480, stage.clientWidth || el.clientWidth || 900);
    const L = (S.L = computeLayout({
      layout: model.get("ecg_layout"), leads: env.visibleLeads(), leadNames: cur.rec.lead_names || [],
      width, duration: env.duration(), view: S.view, gradcam: !!(model.get("show_gradcam") && cur.cam),
      rhythmLead: S.protoLead, gain: get("gain", 10), speed: get("paper_speed", 25), scale: env.scale(),
      // Presentation mode always fits the screen, whatever the layout and the fit box.
      fitHeight: get("fit_height", false) || get("presentation", false) ? env.fitTarget() : 0,
      fitAll: !!get("presentation", false),
    }));
    S.view = L.view;
    const theme = S.theme;
    const pal = S.pal;
    const ctx = sizeCanvas(base, L.width, L.height);
    sizeCanvas(overlay, L.width, L.height);
    ctx.clearRect(0, 0, L.width, L.height);
    const dpr = globalThis.devicePixelRatio || 1;
    // The paper and the traces come from kept layers (layers.js) when nothing they show
    // changed: a K change repaints only the bands, caps, strip and ribbon.
    const paperKept = layers.paper(ctx, L, theme, dpr);
    if (!paperKept) {
      ctx.fillStyle = theme.bg;
      ctx.fillRect(0, 0, L.width, L.height);
    }
    const hl = env.highlight();
    const style = get("band_style", "light");
    const showCam = model.get("show_gradcam") && cur.cam;
    const capH = Math.round(6 * L.scale);
    // Paper first for every row, then the traces, so a trace spilling over a fitted row
    // is not painted over by the next row's paper.
    for (const p of L.panels) {
      if (!paperKept) drawGrid(ctx, p, L, theme);
      drawPanelBands(ctx, p, cur.segs, cur.fs, { pal, style, highlight: hl, chosen: p.lead === S.protoLead });
      if (showCam) drawPanelGradcam(ctx, p, cur.cam, cur.fs, theme);
    }
    const traces = layers.traces(L, cur, theme, dpr);
    L.panels.forEach((p, i) => {
      const off = p.lead * cur.nS;
      if (traces) traces.copy(ctx, i);
      else drawTrace(ctx, p, L, cur.sig, off, cur.nS, cur.fs, theme, leadCenter(cur.sig, off, cur.nS));
      if (p.col === 0) drawCalibration(ctx, p, L, theme);
      if (style !== "strip") {
        drawPanelCap(ctx, p, cur.segs, cur.fs, { pal, highlight: hl, theme, capH, fontPx: Math.round(9 * L.scale) });
      }
      drawLeadLabel(ctx, p, theme, L.scale, style !== "strip" ? capH : 0);
    });
    drawStrip(ctx, L.strip, cur.segs, cur.fs, env.labels(), hl, pal, Math.round(10 * L.scale));
    drawRibbon(ctx, L.ribbon, cur.entPct, cur.fs, theme, L.margin, L.scale, cur.relative);
    if (L.gradcam) drawGradcam(ctx, L.gradcam, cur.cam, cur.fs, theme, model.get("gradcam_label"), L.margin, L.scale);
    drawAxis(ctx, L.axis, L, theme);
    // The side panel scrolls within the height of the ECG rather than growing the page.
    side.style.maxHeight = `${Math.max(420, L.height + legend.offsetHeight)}px`;
    drawOverlay();
    root.dataset.drawnId = String(cur.responseId);
    root.dataset.bands = cur.segs.map((r) => `${r.start}:${r.id}`).join(",").slice(0, 4000);
    root.dataset.k = String(model.get("n_clusters"));
    root.dataset.bandStyle = style;
    root.dataset.colors = pal.ids.map((id) => pal.color(id)).join(",");
    track("base", t0);
  }

  function drawOverlay() {
    const L = S.L;
    if (!L) return;
    const t0 = performance.now();
    const ctx = overlay.getContext("2d");
    const dpr = globalThis.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, L.width, L.height);
    const tracks = [...L.panels, L.strip, L.ribbon, L.gradcam].filter(Boolean);
    const sel = S.localSel || model.get("selection");
    if (sel && sel.end > sel.start) {
      for (const p of tracks) {
        const a = Math.max(p.t0, sel.start_s);
        const b = Math.min(p.t1, sel.end_s);
        if (b <= a) continue;
        const x0 = timeToX(p, a);
        const x1 = timeToX(p, b);
        ctx.fillStyle = S.theme.select;
        ctx.fillRect(x0, p.y, x1 - x0, p.h);
        ctx.strokeStyle = S.theme.selectEdge;
        ctx.lineWidth = 1;
        ctx.strokeRect(x0 + 0.5, p.y + 0.5, x1 - x0 - 1, p.h - 1);
      }
    }
    if (S.caliper) drawCaliper(ctx, S.caliper);
    if (S.hover) drawCrosshair(ctx, tracks);
    track("overlay", t0);
  }

  function traceY(p, i) {
    const cur = S.cur;
    const off = p.lead * cur.nS;
    const center = leadCenter(cur.sig, off, cur.nS);
    return p.y + p.h / 2 - (cur.sig[off + i] - center) * S.L.pxPerMv;
  }

  function drawCrosshair(ctx, tracks) {
    const { hover, theme, cur } = S;
    const t = hover.t;
    ctx.save();
    ctx.strokeStyle = theme.cross;
    ctx.fillStyle = theme.cross;
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 3]);
    const i = Math.max(0, Math.min(cur.nS - 1, Math.round(t * cur.fs)));
    for (const p of tracks) {
      if (t < p.t0 || t > p.t1) continue;
      const x = Math.round(timeToX(p, t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, p.y);
      ctx.lineTo(x, p.y + p.h);
      ctx.stroke();
      if (p.kind === "lead") {
        const y = traceY(p, i);
        if (y >= p.y && y <= p.y + p.h) {
          ctx.beginPath();
          ctx.arc(x, y, p === hover.p ? 3.5 : 2.5, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    }
    ctx.setLineDash([]);
    if (hover.p.kind === "lead") {
      ctx.beginPath();
      ctx.moveTo(hover.p.x, Math.round(hover.y) + 0.5);
      ctx.lineTo(hover.p.x + hover.p.w, Math.round(hover.y) + 0.5);
      ctx.globalAlpha = 0.35;
      ctx.stroke();
    }
    ctx.restore();
  }

  function drawCaliper(ctx, c) {
    const L = S.L;
    const r = caliperReading(c.p, c.x0, c.y0, c.x1, c.y1, L.pxPerMv);
    const p = c.p;
    ctx.save();
    ctx.strokeStyle = S.theme.caliper;
    ctx.fillStyle = S.theme.caliper;
    ctx.lineWidth = 1.5;
    for (const x of [c.x0, c.x1]) {
      ctx.beginPath();
      ctx.moveTo(Math.round(x) + 0.5, p.y);
      ctx.lineTo(Math.round(x) + 0.5, p.y + p.h);
      ctx.stroke();
    }
    ctx.beginPath();
    ctx.moveTo(c.x0, c.y0);
    ctx.lineTo(c.x1, c.y0);
    ctx.lineTo(c.x1, c.y1);
    ctx.stroke();
    const text = caliperText(r);
    const px = Math.round(11 * L.scale);
    ctx.font = `bold ${px}px sans-serif`;
    ctx.textBaseline = "top";
    const w = ctx.measureText(text).width;
    const x = Math.min(Math.max(c.x0, c.x1) + 4, L.width - w - 6);
    const y = Math.max(p.y + 2, Math.min(c.y0, c.y1) - px - 6);
    ctx.fillStyle = S.theme.labelBg;
    ctx.fillRect(x - 2, y - 1, w + 4, px + 4);
    ctx.fillStyle = S.theme.caliper;
    ctx.fillText(text, x, y + 1);
    ctx.restore();
  }

  function updateTooltip() {
    const { hover, L, cur, pal } = S;
    if (!hover || !L) {
      tip.hidden = true;
      return;
    }
    const t0 = performance.now();
    const t = hover.t;
    const i = Math.max(0, Math.min(cur.nS - 1, Math.round(t * cur.fs)));
    const rows = [[`${t.toFixed(3)} s`, ""]];
    if (hover.p.kind === "lead") {
      const v = cur.sig[hover.p.lead * cur.nS + i];
      rows.push([`${cur.rec.lead_names?.[hover.p.lead] ?? hover.p.lead}`, `${v.toFixed(2)} mV`]);
    }
    const cid = cur.ids[i];
    rows.push(["cluster", pal.title(cid, env.labels())]);
    const e = valueAt(cur.ent, t, cur.fs);
    if (e != null) {
      // The absolute entropy, and where it stands in the dataset (what the ribbon draws).
      const pct = cur.relative ? valueAt(cur.entPct, t, cur.fs) : null;
      rows.push(["uncertainty", pct != null ? `${e.toFixed(3)} (p${Math.round(100 * pct)})` : e.toFixed(3)]);
    }
    const g = cur.cam ? valueAt(cur.cam, t, cur.fs) : null;
    if (g != null) rows.push([`Grad-CAM ${model.get("gradcam_label") || ""}`.trim(), g.toFixed(3)]);
    tip.replaceChildren();
    const head = h(doc, "div", "ecw-tip-head");
    head.append(swatch(doc, cid, pal), rows[0][0]);
    tip.appendChild(head);
    for (const [k, v] of rows.slice(1)) {
      const r = h(doc, "div", "ecw-tip-row");
      r.append(h(doc, "span", "ecw-tip-key", k), h(doc, "span", "ecw-tip-val", v));
      tip.appendChild(r);
    }
    tip.dataset.t = t.toFixed(3);
    tip.dataset.cluster = String(cid);
    tip.hidden = false;
    const sw = stage.clientWidth || L.width;
    const tw = tip.offsetWidth || 160;
    const th = tip.offsetHeight || 80;
    const x = hover.x + 14 + tw > sw ? hover.x - tw - 14 : hover.x + 14;
    const y = Math.max(0, Math.min(hover.y + 14, L.height - th - 2));
    tip.style.left = `${Math.max(0, x)}px`;
    tip.style.top = `${y}px`;
    track("hover", t0);
  }

  return { drawBase, drawOverlay, updateTooltip, layerStats: layers.stats };
}
