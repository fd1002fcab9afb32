// Pure logic of the dataset scatter (no DOM, unit-tested under node): view transform,
// a uniform grid for nearest-point lookup, brushing, the mix of a brushed group, and
// the colour of every point packed as RGBA words for an ImageData buffer.
//
// Tens of thousands of points are drawn by writing pixels into one ImageData (no path
// per point, no element per point); hover looks up only the grid cells around the
// pointer, so a hover frame costs the same for 1,000 or 100,000 points.

import { PALETTE, PALETTE_DARK } from "./palette.js";
import { hexRgb } from "./color.js";

/** Screen transform of [0, 1]-scaled coordinates into a w x h box with a margin. */
export function makeTransform(w, h, pad = 12) {
  const s = Math.max(1, Math.min(w, h) - 2 * pad);
  const ox = (w - s) / 2;
  const oy = (h - s) / 2;
  return {
    s, ox, oy,
    // y grows upwards in the embedding, downwards on screen
    toX: (x) => ox + x * s,
    toY: (y) => oy + (1 - y) * s,
    fromX: (px) => (px - ox) / s,
    fromY: (py) => 1 - (py - oy) / s,
  };
}

/**
 * Uniform grid over [0, 1]^2 (cells of `cell` units) holding point indices, for
 * nearest-point queries. Built once per coordinate set: O(N).
 */
export function buildGrid(xy, n, cells = 64) {
  const c = Math.max(1, Math.floor(cells));
  const counts = new Int32Array(c * c + 1);
  const cellOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const gx = Math.min(c - 1, Math.max(0, Math.floor(xy[2 * i] * c)));
    const gy = Math.min(c - 1, Math.max(0, Math.floor(xy[2 * i + 1] * c)));
    const k = gy * c + gx;
    cellOf[i] = k;
    counts[k + 1]++;
  }
  for (let k = 0; k < c * c; k++) counts[k + 1] += counts[k];
  const order = new Int32Array(n);
  const fill = counts.slice(0, c * c);
  for (let i = 0; i < n; i++) order[fill[cellOf[i]]++] = i;
  return { c, start: counts, order };
}

/** Index of the point nearest (x, y) within `radius` (units), or -1. */
export function nearest(grid, xy, x, y, radius) {
  const { c, start, order } = grid;
  const r = Math.max(0, radius);
  const gx0 = Math.max(0, Math.floor((x - r) * c));
  const gx1 = Math.min(c - 1, Math.floor((x + r) * c));
  const gy0 = Math.max(0, Math.floor((y - r) * c));
  const gy1 = Math.min(c - 1, Math.floor((y + r) * c));
  let best = -1;
  let bestD = r * r;
  for (let gy = gy0; gy <= gy1; gy++) {
    for (let gx = gx0; gx <= gx1; gx++) {
      const k = gy * c + gx;
      for (let j = start[k]; j < start[k + 1]; j++) {
        const i = order[j];
        const dx = xy[2 * i] - x;
        const dy = xy[2 * i + 1] - y;
        const d = dx * dx + dy * dy;
        if (d <= bestD) { bestD = d; best = i; }
      }
    }
  }
  return best;
}

/** Normalised rectangle [x0, y0, x1, y1] (x0 <= x1, y0 <= y1). */
export function normRect(r) {
  return [Math.min(r[0], r[2]), Math.min(r[1], r[3]), Math.max(r[0], r[2]), Math.max(r[1], r[3])];
}

/**
 * Mark the points inside rectangle `rect` (units) in `mask` (Uint8Array n) and return
 * their count. Same inclusive test as the kernel (DatasetView.brushed).
 */
export function brushMask(xy, n, rect, mask) {
  const [x0, y0, x1, y1] = normRect(rect);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const x = xy[2 * i];
    const y = xy[2 * i + 1];
    const inside = x >= x0 && x <= x1 && y >= y0 && y <= y1 ? 1 : 0;
    mask[i] = inside;
    count += inside;
  }
  return count;
}

/**
 * Mean cluster proportions and category shares of the points in `mask`.
 * props: Float32Array n*k; codes: Float32Array n (category index) or empty.
 */
export function groupMix(mask, n, props, k, codes, nCats) {
  const mix = new Float64Array(k);
  const cats = new Float64Array(Math.max(0, nCats));
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (!mask[i]) continue;
    count++;
    const o = i * k;
    for (let j = 0; j < k; j++) mix[j] += props[o + j];
    if (codes && codes.length === n && nCats > 0) cats[codes[i] | 0] += 1;
  }
  if (count) {
    for (let j = 0; j < k; j++) mix[j] /= count;
    for (let j = 0; j < cats.length; j++) cats[j] /= count;
  }
  return { count, mix: Array.from(mix), cats: Array.from(cats) };
}

// Perceptually ordered ramp (viridis key colours), read by colour-blind viewers too.
const RAMP = [
  [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37],
];

/** [r, g, b] of value t in [0, 1] on the ramp. */
export function rampColor(t) {
  const v = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(v));
  const f = v - i;
  return RAMP[i].map((c, j) => Math.round(c + f * (RAMP[i + 1][j] - c)));
}

/** [r, g, b] of category `i` (palette order; the last two, "multiple"/"none", in grey). */
export function categoryColor(i, nCats, dark = false) {
  const pal = dark ? PALETTE_DARK : PALETTE;
  if (nCats >= 2 && i >= nCats - 2) return i === nCats - 1 ? [150, 150, 150] : [90, 90, 90];
  return hexRgb(pal[i % pal.length]);
}

// ImageData words are little-endian RGBA: 0xAABBGGRR.
function pack(rgb, a = 255) {
  return ((a << 24) | (rgb[2] << 16) | (rgb[1] << 8) | rgb[0]) >>> 0;
}

/**
 * RGBA word per point from its colour value: a category index (categorical) or a
 * number mapped onto [lo, hi] (continuous).
 */
export function pointColors(values, n, kind, range, nCats, dark = false) {
  const out = new Uint32Array(n);
  if (kind === "categorical") {
    const cache = new Map();
    for (let i = 0; i < n; i++) {
      const c = values.length === n ? values[i] | 0 : 0;
      if (!cache.has(c)) cache.set(c, pack(categoryColor(c, nCats, dark)));
      out[i] = cache.get(c);
    }
    return out;
  }
  const lo = range && range.length === 2 ? range[0] : 0;
  const hi = range && range.length === 2 && range[1] > range[0] ? range[1] : lo + 1;
  // 256-step lookup table: no per-point interpolation.
  const lut = new Uint32Array(256);
  for (let j = 0; j < 256; j++) lut[j] = pack(rampColor(j / 255));
  for (let i = 0; i < n; i++) {
    const t = (values[i] - lo) / (hi - lo);
    out[i] = lut[Math.max(0, Math.min(255, Math.round((Number.isFinite(t) ? t : 0) * 255)))];
  }
  return out;
}

/**
 * Side of a point in canvas pixels for `n` points on a w x h canvas: the points together
 * cover about 6 % of the area, so 150 records get large, easy-to-hit points and tens of
 * thousands stay small enough not to hide the structure by overdraw (2 to 12 px, times
 * the device pixel ratio `dpr`).
 */
export function pointSize(n, w, h, dpr = 1) {
  const side = Math.sqrt((0.06 * (w / dpr) * (h / dpr)) / Math.max(1, n));
  return Math.max(2, Math.round(Math.min(12, Math.max(2, side)) * dpr));
}

/**
 * Write every point as a size x size square into `buf` (Uint32Array w*h, RGBA words).
 * With a brush mask, points outside it are drawn faded (`faded` word) and the brushed
 * ones drawn last so they stay on top.
 */
export function rasterize(buf, w, h, xy, n, colors, tr, size, mask, faded, bg) {
  buf.fill(bg);
  const half = size >> 1;
  const put = (i, word) => {
    const px = Math.round(tr.toX(xy[2 * i])) - half;
    const py = Math.round(tr.toY(xy[2 * i + 1])) - half;
    for (let dy = 0; dy < size; dy++) {
      const y = py + dy;
      if (y < 0 || y >= h) continue;
      const row = y * w;
      for (let dx = 0; dx < size; dx++) {
        const x = px + dx;
        if (x >= 0 && x < w) buf[row + x] = word;
      }
    }
  };
  if (!mask) {
    for (let i = 0; i < n; i++) put(i, colors[i]);
    return;
  }
  for (let i = 0; i < n; i++) if (!mask[i]) put(i, faded);
  for (let i = 0; i < n; i++) if (mask[i]) put(i, colors[i]);
}
