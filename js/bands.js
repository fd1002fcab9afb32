// Segmentation bands, the uncertainty ribbon and the Grad-CAM overlay.
// The pure helpers (runs, occurrences, summaries) are unit-tested under node.

import { colorFor, hatchPattern, tagFor, textColorOn, withAlpha } from "./palette.js";
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

/** Faint cluster bands behind one lead panel. */
export function drawPanelBands(ctx, p, segs, fs, opts) {
  const { alpha = 0.18, highlight = null } = opts || {};
  for (const r of segs) {
    const t0 = r.start / fs;
    const t1 = r.end / fs;
    if (t1 < p.t0 || t0 > p.t1) continue;
    const x0 = Math.max(p.x, timeToX(p, t0));
    const x1 = Math.min(p.x + p.w, timeToX(p, t1));
    if (x1 <= x0) continue;
    const dim = highlight != null && r.id !== highlight;
    ctx.fillStyle = withAlpha(colorFor(r.id), dim ? alpha * 0.25 : alpha * (highlight != null ? 1.8 : 1));
    ctx.fillRect(x0, p.y, x1 - x0, p.h);
  }
}

/** The solid cluster strip: colour + hatch + name, so colour is never the only cue. */
export function drawStrip(ctx, p, segs, fs, labels, highlight) {
  ctx.save();
  ctx.beginPath();
  ctx.rect(p.x, p.y, p.w, p.h);
  ctx.clip();
  ctx.font = "10px sans-serif";
  ctx.textBaseline = "middle";
  for (const r of segs) {
    const t0 = r.start / fs;
    const t1 = r.end / fs;
    if (t1 < p.t0 || t0 > p.t1) continue;
    const x0 = Math.max(p.x, timeToX(p, t0));
    const x1 = Math.min(p.x + p.w, timeToX(p, t1));
    if (x1 <= x0) continue;
    const col = colorFor(r.id);
    ctx.globalAlpha = highlight != null && r.id !== highlight ? 0.3 : 1;
    ctx.fillStyle = col;
    ctx.fillRect(x0, p.y, x1 - x0, p.h);
    const pat = hatchPattern(ctx, r.id, withAlpha(textColorOn(col), 0.55));
    if (pat) {
      ctx.fillStyle = pat;
      ctx.fillRect(x0, p.y, x1 - x0, p.h);
    }
    const tag = tagFor(r.id, labels);
    if (x1 - x0 > ctx.measureText(tag).width + 6) {
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
export function drawRibbon(ctx, p, entropy, fs, theme) {
  ctx.fillStyle = theme.track;
  ctx.fillRect(p.x, p.y, p.w, p.h);
  drawSeries(ctx, p, entropy, fs, theme.ribbonLine, theme.ribbonFill);
  ctx.fillStyle = theme.muted;
  ctx.font = "10px sans-serif";
  ctx.textBaseline = "top";
  ctx.fillText("uncertainty", p.x - 60, p.y + 2);
}

/** Grad-CAM attribution (0..1) for the chosen class. */
export function drawGradcam(ctx, p, cam, fs, theme, label) {
  ctx.fillStyle = theme.track;
  ctx.fillRect(p.x, p.y, p.w, p.h);
  drawSeries(ctx, p, cam, fs, theme.camLine, theme.camFill);
  ctx.fillStyle = theme.muted;
  ctx.font = "10px sans-serif";
  ctx.textBaseline = "top";
  ctx.fillText("Grad-CAM", p.x - 60, p.y + 2);
  if (label) ctx.fillText(label, p.x - 60, p.y + 13);
}

/** Grad-CAM as a translucent heat overlay on a lead panel. */
export function drawPanelGradcam(ctx, p, cam, fs, theme) {
  const [i0, i1] = visibleRange(p, fs, cam.length);
  const step = Math.max(1, Math.floor((i1 - i0) / p.w));
  for (let i = i0; i < i1; i += step) {
    const v = cam[i];
    if (v < 0.05) continue;
    const x0 = timeToX(p, i / fs);
    const x1 = timeToX(p, (i + step) / fs);
    ctx.fillStyle = withAlpha(theme.camLine, 0.35 * v);
    ctx.fillRect(x0, p.y + p.h - 6, Math.max(1, x1 - x0), 6);
  }
}
