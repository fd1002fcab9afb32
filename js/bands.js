// Segmentation bands, the uncertainty ribbon and the Grad-CAM overlay.
// The pure helpers (runs, occurrences, summaries) are unit-tested under node.

import { hatchPattern } from "./palette.js";
import { textColorOn, withAlpha } from "./color.js";
import { timeToX } from "./layout.js";

/** Runs of equal ids: [{start, end (exclusive), id}]. */
export function runs(ids) {
  const out = [];
  const n = ids.length;
  let s = 0;
  for (let i = 1; i <= n; i++) {
    if (i === n || ids[i] !== ids[s]) {
      out.push({ start: s, end: i, id: ids[s] });
      s = i;
    }
  }
  return out;
}

/** Runs of cluster `id` only. */
export function occurrences(segs, id) {
  return segs.filter((r) => r.id === id);
}

/**
 * Next (dir=+1) or previous (dir=-1) occurrence of `id` after/before sample `from`;
 * wraps around. Returns the run or null when the cluster is absent.
 */
export function nextOccurrence(segs, id, from, dir = 1) {
  const occ = occurrences(segs, id);
  if (!occ.length) return null;
  if (dir >= 0) return occ.find((r) => r.start > from) || occ[0];
  for (let i = occ.length - 1; i >= 0; i--) if (occ[i].start < from) return occ[i];
  return occ[occ.length - 1];
}

/**
 * What fills samples [start, end): per cluster share of the window and mean
 * uncertainty, the window's mean uncertainty, and its share of total Grad-CAM mass.
 */
export function selectionSummary(ids, entropy, gradcam, start, end) {
  const a = Math.max(0, Math.min(start, ids.length));
  const b = Math.max(a, Math.min(end, ids.length));
  const n = b - a;
  const acc = new Map();
  let hsum = 0;
  for (let i = a; i < b; i++) {
    const id = ids[i];
    const e = entropy ? entropy[i] : 0;
    const c = acc.get(id) || { id, count: 0, hsum: 0 };
    c.count += 1;
    c.hsum += e;
    acc.set(id, c);
    hsum += e;
  }
  const clusters = [...acc.values()]
    .map((c) => ({ id: c.id, share: n ? c.count / n : 0, mean_entropy: c.count ? c.hsum / c.count : 0 }))
    .sort((x, y) => y.share - x.share || x.id - y.id);
  let gshare = null;
  if (gradcam && gradcam.length === ids.length) {
    let tot = 0;
    let win = 0;
    for (let i = 0; i < gradcam.length; i++) {
      tot += gradcam[i];
      if (i >= a && i < b) win += gradcam[i];
    }
    gshare = tot > 0 ? win / tot : 0;
  }
  return { n, clusters, mean_entropy: n ? hsum / n : 0, gradcam_share: gshare };
}

function visibleRange(p, fs, n) {
  const i0 = Math.max(0, Math.floor(p.t0 * fs));
  const i1 = Math.min(n, Math.ceil(p.t1 * fs) + 1);
  return [i0, i1];
}

/** Band styles: tints behind every lead (light / strong), behind one lead, or strip only. */
export const BAND_STYLES = ["light", "strong", "lead", "strip"];
const TINT = { light: 0.2, strong: 0.42, lead: 0.42, strip: 0 };

/** Alpha of the tint of cluster `id` behind panel `p` for a style and highlight. */
export function bandAlpha(style, id, highlight, onChosenLead) {
  const st = BAND_STYLES.includes(style) ? style : "light";
  let a = TINT[st];
  if (st === "lead" && !onChosenLead) a = 0;
  if (highlight != null) {
    // The highlighted cluster shows on every lead, whatever the style; others fade.
    if (id === highlight) return Math.max(0.42, a);
    return a * 0.3;
  }
  return a;
}

function clipX(p, fs, r) {
  const t0 = r.start / fs;
  const t1 = r.end / fs;
  if (t1 < p.t0 || t0 > p.t1) return null;
  const x0 = Math.max(p.x, timeToX(p, t0));
  const x1 = Math.min(p.x + p.w, timeToX(p, t1));
  return x1 > x0 ? [x0, x1] : null;
}

/** Cluster tints behind one lead panel. */
export function drawPanelBands(ctx, p, segs, fs, opts) {
  const { pal, style = "light", highlight = null, chosen = false } = opts || {};
  for (const r of segs) {
    const a = bandAlpha(style, r.id, highlight, chosen);
    if (a <= 0) continue;
    const xs = clipX(p, fs, r);
    if (!xs) continue;
    ctx.fillStyle = withAlpha(pal.color(r.id), a);
    ctx.fillRect(xs[0], p.y, xs[1] - xs[0], p.h);
  }
}

/**
 * The second, colour-free cue on every lead: a thin cap along the top of the panel in
 * the cluster's colour with its hatch, a tick at every boundary and the display number
 * where the run is wide enough.
 */
export function drawPanelCap(ctx, p, segs, fs, opts) {
  const { pal, highlight = null, theme, fontPx = 9, capH = 6 } = opts || {};
  ctx.save();
  ctx.beginPath();
  ctx.rect(p.x, p.y, p.w, p.h);
  ctx.clip();
  ctx.font = `bold ${fontPx}px sans-serif`;
  ctx.textBaseline = "top";
  for (const r of segs) {
    const xs = clipX(p, fs, r);
    if (!xs) continue;
    const [x0, x1] = xs;
    const col = pal.color(r.id);
    ctx.globalAlpha = highlight != null && r.id !== highlight ? 0.3 : 1;
    ctx.fillStyle = col;
    ctx.fillRect(x0, p.y, x1 - x0, capH);
    const pat = hatchPattern(ctx, pal.hatch(r.id), withAlpha(textColorOn(col), 0.7));
    if (pat) {
      ctx.fillStyle = pat;
      ctx.fillRect(x0, p.y, x1 - x0, capH);
    }
    ctx.strokeStyle = theme ? theme.fg : "#000";
    ctx.globalAlpha *= 0.5;
    ctx.beginPath();
    ctx.moveTo(Math.round(x0) + 0.5, p.y);
    ctx.lineTo(Math.round(x0) + 0.5, p.y + capH + 3);
    ctx.stroke();
    ctx.globalAlpha = highlight != null && r.id !== highlight ? 0.3 : 1;
    const label = pal.short(r.id);
    if (x1 - x0 > ctx.measureText(label).width + 24 && p.h > 40) {
      ctx.fillStyle = theme ? theme.fg : "#000";
      ctx.fillText(label, x0 + 3, p.y + capH + 1);
    }
  }
  ctx.restore();
}

/** The solid cluster strip: colour + hatch + number/name, so colour is never the only cue. */
export function drawStrip(ctx, p, segs, fs, labels, highlight, pal, fontPx = 10) {
  ctx.save();
  ctx.beginPath();
  ctx.rect(p.x, p.y, p.w, p.h);
  ctx.clip();
  ctx.font = `bold ${fontPx}px sans-serif`;
  ctx.textBaseline = "middle";
  for (const r of segs) {
    const xs = clipX(p, fs, r);
    if (!xs) continue;
    const [x0, x1] = xs;
    const col = pal.color(r.id);
    ctx.globalAlpha = highlight != null && r.id !== highlight ? 0.3 : 1;
    ctx.fillStyle = col;
    ctx.fillRect(x0, p.y, x1 - x0, p.h);
    const pat = hatchPattern(ctx, pal.hatch(r.id), withAlpha(textColorOn(col), 0.5));
    if (pat) {
      ctx.fillStyle = pat;
      ctx.fillRect(x0, p.y, x1 - x0, p.h);
    }
    const long = pal.tag(r.id, labels);
    const tag = x1 - x0 > ctx.measureText(long).width + 8 ? long : pal.short(r.id);
    if (x1 - x0 > ctx.measureText(tag).width + 6) {
      const tw = ctx.measureText(tag).width;
      ctx.fillStyle = withAlpha(col, 0.85);
      ctx.fillRect(x0 + 1, p.y + 2, tw + 4, p.h - 4);
      ctx.fillStyle = textColorOn(col);
      ctx.fillText(tag, x0 + 3, p.y + p.h / 2);
    }
  }
  ctx.restore();
}

function drawSeries(ctx, p, values, fs, color, fill) {
  const [i0, i1] = visibleRange(p, fs, values.length);
  if (i1 - i0 < 1) return;
  ctx.save();
  ctx.beginPath();
  ctx.rect(p.x, p.y, p.w, p.h);
  ctx.clip();
  ctx.beginPath();
  ctx.moveTo(timeToX(p, i0 / fs), p.y + p.h);
  for (let i = i0; i < i1; i++) {
    const v = Math.max(0, Math.min(1, values[i]));
    ctx.lineTo(timeToX(p, i / fs), p.y + p.h - v * (p.h - 2));
  }
  ctx.lineTo(timeToX(p, (i1 - 1) / fs), p.y + p.h);
  ctx.closePath();
  ctx.fillStyle = fill;
  ctx.fill();
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.stroke();
  ctx.restore();
}

/** Per-time-step normalised entropy (0 certain .. 1 maximally uncertain). */
export function drawRibbon(ctx, p, entropy, fs, theme, margin = 64, scale = 1, relative = false) {
  ctx.fillStyle = theme.track;
  ctx.fillRect(p.x, p.y, p.w, p.h);
  drawSeries(ctx, p, entropy, fs, theme.ribbonLine, theme.ribbonFill);
  ctx.fillStyle = theme.muted;
  const px = Math.round(10 * scale);
  ctx.font = `${px}px sans-serif`;
  ctx.textBaseline = "top";
  ctx.fillText("uncertainty", p.x - margin + 2, p.y + 2);
  // Relative: the height is the percentile among all time steps of the dataset.
  if (relative) ctx.fillText("percentile", p.x - margin + 2, p.y + 3 + px);
}

/**
 * Percentile rank (0..1) of every value among `quantiles` (the 0th … 100th percentiles
 * of the dataset's entropies): equal quantiles (a run of zeros) give the middle of their
 * ranks, values between two quantiles are interpolated. Mirrors
 * explain/browse.py percentile_ranks. Without quantiles, the values themselves.
 */
export function percentileRanks(values, quantiles) {
  const q = quantiles || [];
  const m = q.length;
  if (m < 2) return values;
  const out = new Float32Array(values.length);
  const lower = (v, strict) => { // first index with q[i] >= v (or > v when strict)
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (strict ? q[mid] <= v : q[mid] < v) lo = mid + 1; else hi = mid;
    }
    return lo;
  };
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const a = lower(v, false);
    const b = lower(v, true);
    if (b > a) out[i] = (a + b - 1) / 2 / (m - 1);
    else if (a <= 0) out[i] = 0;
    else if (a >= m) out[i] = 1;
    else out[i] = (a - 1 + (v - q[a - 1]) / (q[a] - q[a - 1])) / (m - 1);
  }
  return out;
}

/** Grad-CAM attribution (0..1) for the chosen class. */
export function drawGradcam(ctx, p, cam, fs, theme, label, margin = 64, scale = 1) {
  ctx.fillStyle = theme.track;
  ctx.fillRect(p.x, p.y, p.w, p.h);
  drawSeries(ctx, p, cam, fs, theme.camLine, theme.camFill);
  ctx.fillStyle = theme.muted;
  const px = Math.round(10 * scale);
  ctx.font = `${px}px sans-serif`;
  ctx.textBaseline = "top";
  ctx.fillText("Grad-CAM", p.x - margin + 2, p.y + 2);
  if (label) ctx.fillText(label, p.x - margin + 2, p.y + 3 + px);
}

/**
 * Grad-CAM on a lead panel: a soft area rising from the bottom edge (height follows the
 * attribution, at most a quarter of the row), so it reads as data rather than a grid line.
 */
export function drawPanelGradcam(ctx, p, cam, fs, theme) {
  const [i0, i1] = visibleRange(p, fs, cam.length);
  if (i1 - i0 < 2) return;
  const step = Math.max(1, Math.floor((i1 - i0) / p.w));
  const hMax = p.h * 0.25;
  ctx.save();
  ctx.beginPath();
  ctx.rect(p.x, p.y, p.w, p.h);
  ctx.clip();
  ctx.beginPath();
  ctx.moveTo(timeToX(p, i0 / fs), p.y + p.h);
  for (let i = i0; i < i1; i += step) {
    const v = Math.max(0, Math.min(1, cam[i]));
    ctx.lineTo(timeToX(p, i / fs), p.y + p.h - v * hMax);
  }
  ctx.lineTo(timeToX(p, (i1 - 1) / fs), p.y + p.h);
  ctx.closePath();
  ctx.fillStyle = theme.camFill;
  ctx.fill();
  ctx.restore();
}

/**
 * Which occurrence (index into `occ`) `n` / `p` go to. From the current one (`cur`),
 * one step in `dir` with wrap-around; without a current one, the first run that ends
 * after the view start (dir > 0) or the last that starts before the view end (dir < 0).
 */
export function stepOccurrence(occ, cur, dir, viewStart, viewEnd) {
  const n = occ.length;
  if (!n) return -1;
  if (Number.isInteger(cur) && cur >= 0 && cur < n) return (((cur + (dir >= 0 ? 1 : -1)) % n) + n) % n;
  if (dir >= 0) {
    const i = occ.findIndex((r) => r.end > viewStart);
    return i >= 0 ? i : 0;
  }
  for (let i = n - 1; i >= 0; i--) if (occ[i].start < viewEnd) return i;
  return n - 1;
}

/** Value of `arr` at time `t` (nearest sample), or null. */
export function valueAt(arr, t, fs) {
  if (!arr || !arr.length) return null;
  const i = Math.round(t * fs);
  return i >= 0 && i < arr.length ? arr[i] : null;
}
