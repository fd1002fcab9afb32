// Per-cluster panel: share of time, mean uncertainty + histogram, prototype waveform
// (median and interquartile band) for the chosen lead, nearest real examples, class mix.

import { colorFor, hatchPattern, nameFor, textColorOn, withAlpha } from "./palette.js";
import { buildLabelEditor } from "./labels.js";

function smallCanvas(doc, w, h, cls) {
  const c = doc.createElement("canvas");
  const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
  c.width = Math.round(w * dpr);
  c.height = Math.round(h * dpr);
  c.style.width = `${w}px`;
  c.style.height = `${h}px`;
  c.className = cls;
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return [c, ctx];
}

/** Swatch: colour + hatch, the same two cues as the bands. */
export function swatch(doc, id) {
  const [c, ctx] = smallCanvas(doc, 16, 16, "ecw-swatch");
  const col = colorFor(id);
  ctx.fillStyle = col;
  ctx.fillRect(0, 0, 16, 16);
  const pat = hatchPattern(ctx, id, withAlpha(textColorOn(col), 0.6));
  if (pat) {
    ctx.fillStyle = pat;
    ctx.fillRect(0, 0, 16, 16);
  }
  return c;
}

function drawHist(ctx, w, h, hist, color, theme) {
  ctx.fillStyle = theme.track;
  ctx.fillRect(0, 0, w, h);
  const max = Math.max(1e-9, ...hist);
  const bw = w / hist.length;
  ctx.fillStyle = color;
  hist.forEach((v, i) => {
    const bh = (v / max) * (h - 2);
    ctx.fillRect(i * bw + 0.5, h - bh, Math.max(1, bw - 1), bh);
  });
}

function drawProto(ctx, w, h, med, q25, q75, color, theme) {
  ctx.fillStyle = theme.paper;
  ctx.fillRect(0, 0, w, h);
  const n = med.length;
  if (!n) return;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, q25[i], med[i]);
    hi = Math.max(hi, q75[i], med[i]);
  }
  if (!(hi > lo)) { hi = lo + 1; }
  const pad = 0.1 * (hi - lo);
  const x = (i) => (i / Math.max(1, n - 1)) * (w - 2) + 1;
  const y = (v) => h - 2 - ((v - lo + pad) / (hi - lo + 2 * pad)) * (h - 4);
  ctx.beginPath();
  for (let i = 0; i < n; i++) ctx.lineTo(x(i), y(q75[i]));
  for (let i = n - 1; i >= 0; i--) ctx.lineTo(x(i), y(q25[i]));
  ctx.closePath();
  ctx.fillStyle = withAlpha(color, 0.3);
  ctx.fill();
  ctx.beginPath();
  for (let i = 0; i < n; i++) ctx.lineTo(x(i), y(med[i]));
  ctx.strokeStyle = theme.trace;
  ctx.lineWidth = 1.3;
  ctx.stroke();
}

function drawSnip(ctx, w, h, snip, color, theme) {
  ctx.fillStyle = theme.paper;
  ctx.fillRect(0, 0, w, h);
  ctx.strokeStyle = color;
  ctx.lineWidth = 3;
  ctx.strokeRect(0, 0, w, h);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of snip) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!(hi > lo)) hi = lo + 1;
  ctx.beginPath();
  snip.forEach((v, i) => {
    ctx.lineTo((i / Math.max(1, snip.length - 1)) * (w - 4) + 2, h - 3 - ((v - lo) / (hi - lo)) * (h - 6));
  });
  ctx.strokeStyle = theme.trace;
  ctx.lineWidth = 1;
  ctx.stroke();
}

/**
 * Build the cluster cards.
 * @param {object} d  {clusters, protos (Float32Array), protoShape [K,3,L,W], snips, snipShape [K,E,L,W],
 *                     lead, labels, vocab, highlight, theme, onPick(id), onLabel(id,name,notes), onExample(ex)}
 */
export function buildClusterPanel(doc, d) {
  const root = doc.createElement("div");
  root.className = "ecw-clusters";
  const [K, , L, W] = d.protoShape && d.protoShape.length === 4 ? d.protoShape : [0, 3, 0, 0];
  const [, E, SL, SW] = d.snipShape && d.snipShape.length === 4 ? d.snipShape : [0, 0, 0, 0];
  const sorted = [...d.clusters].sort((a, b) => a.id - b.id);
  for (const c of sorted) {
    const card = doc.createElement("div");
    card.className = "ecw-card" + (d.highlight === c.id ? " ecw-card-active" : "");
    card.dataset.clusterId = String(c.id);
    card.tabIndex = 0;
    card.setAttribute("role", "button");
    card.setAttribute("aria-pressed", d.highlight === c.id ? "true" : "false");
    card.style.borderColor = colorFor(c.id);
    const head = doc.createElement("div");
    head.className = "ecw-card-head";
    const title = doc.createElement("span");
    title.className = "ecw-card-title";
    const named = nameFor(c.id, d.labels);
    title.textContent = named === `C${c.id}` ? named : `C${c.id} · ${named}`;
    const stats = doc.createElement("span");
    stats.className = "ecw-card-stats";
    stats.textContent = `${(100 * c.share).toFixed(1)}% of time · H̄ ${c.mean_entropy.toFixed(2)}`;
    head.append(swatch(doc, c.id), title, stats);
    card.appendChild(head);
    const row = doc.createElement("div");
    row.className = "ecw-card-row";
    const pos = c.position;
    if (K && pos < K && L && W) {
      const li = Math.min(d.lead, L - 1);
      const base = (k, q) => ((k * 3 + q) * L + li) * W;
      const med = d.protos.subarray(base(pos, 0), base(pos, 0) + W);
      const q25 = d.protos.subarray(base(pos, 1), base(pos, 1) + W);
      const q75 = d.protos.subarray(base(pos, 2), base(pos, 2) + W);
      const [pc, pctx] = smallCanvas(doc, 140, 60, "ecw-proto");
      pc.title = "prototype: median and 25–75 % band";
      drawProto(pctx, 140, 60, med, q25, q75, colorFor(c.id), d.theme);
      row.appendChild(pc);
    }
    if (c.entropy_hist && c.entropy_hist.length) {
      const [hc, hctx] = smallCanvas(doc, 70, 60, "ecw-hist");
      hc.title = "histogram of uncertainty (0 … 1)";
      drawHist(hctx, 70, 60, c.entropy_hist, colorFor(c.id), d.theme);
      row.appendChild(hc);
    }
    card.appendChild(row);
    if (E && SW && pos < K) {
      const ex = doc.createElement("div");
      ex.className = "ecw-examples";
      (c.examples || []).slice(0, E).forEach((e, j) => {
        const off = ((pos * E + j) * SL + Math.min(d.lead, SL - 1)) * SW;
        const [sc, sctx] = smallCanvas(doc, 60, 34, "ecw-example");
        drawSnip(sctx, 60, 34, d.snips.subarray(off, off + SW), colorFor(c.id), d.theme);
        sc.title = `record ${e.record_id} at ${e.start_s.toFixed(2)} s (click to open)`;
        sc.addEventListener("click", (ev) => { ev.stopPropagation(); d.onExample(e); });
        ex.appendChild(sc);
      });
      card.appendChild(ex);
    }
    if (c.class_mix && Object.keys(c.class_mix).length) {
      const mix = doc.createElement("div");
      mix.className = "ecw-mix";
      for (const [name, v] of Object.entries(c.class_mix)) {
        const item = doc.createElement("span");
        item.className = "ecw-mix-item";
        const bar = doc.createElement("span");
        bar.className = "ecw-mix-bar";
        bar.style.width = `${Math.round(40 * v)}px`;
        bar.style.background = colorFor(c.id);
        item.append(`${name} ${(100 * v).toFixed(0)}%`, bar);
        mix.appendChild(item);
      }
      card.appendChild(mix);
    }
    card.appendChild(buildLabelEditor(doc, c.id, d.labels, d.vocab, d.onLabel));
    card.addEventListener("click", () => d.onPick(c.id));
    card.addEventListener("keydown", (ev) => {
      if (ev.target === card && (ev.key === "Enter" || ev.key === " ")) {
        ev.preventDefault();
        ev.stopPropagation();
        d.onPick(c.id);
      }
    });
    root.appendChild(card);
  }
  return root;
}
