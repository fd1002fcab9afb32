// Colour-blind-safe palette keyed by STABLE cluster id, so a cluster keeps its
// colour, hatch and name when K changes and positions get reshuffled.

// Okabe-Ito (8) followed by Paul Tol "muted" tones that stay distinguishable for
// deuteranopes when paired with the hatch cue below.
export const PALETTE = [
  "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
  "#F0E442", "#000000", "#332288", "#88CCEE", "#882255", "#999933",
];

// Hatch kinds; 7 is coprime with 12 so (colour, hatch) stays unique for 84 ids.
export const HATCHES = ["none", "diag", "cross", "dots", "horiz", "vert", "backdiag"];

function idKey(id) {
  const n = Math.trunc(Number(id));
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/** Colour of a stable cluster id (hex string). */
export function colorFor(id) {
  return PALETTE[idKey(id) % PALETTE.length];
}

/** Hatch kind of a stable cluster id (second visual cue next to colour). */
export function hatchFor(id) {
  return HATCHES[idKey(id) % HATCHES.length];
}

/** Display name: the expert label when set, otherwise "C<id>". */
export function nameFor(id, labels) {
  const entry = labels && labels[String(id)];
  const name = entry && typeof entry.name === "string" ? entry.name.trim() : "";
  return name || `C${id}`;
}

/** Short tag that always contains the id, used inside narrow bands. */
export function tagFor(id, labels) {
  const name = nameFor(id, labels);
  return name === `C${id}` ? name : `C${id} ${name}`;
}

/** "#rrggbb" -> "rgba(r,g,b,a)". */
export function withAlpha(hex, alpha) {
  const h = hex.replace("#", "");
  const r = parseInt(h.slice(0, 2), 16);
  const g = parseInt(h.slice(2, 4), 16);
  const b = parseInt(h.slice(4, 6), 16);
  return `rgba(${r},${g},${b},${alpha})`;
}

/** Relative luminance (0..1) of "#rrggbb" or "rgb(...)"; used to pick readable text. */
export function luminance(color) {
  let r, g, b;
  const m = /rgba?\(([^)]+)\)/.exec(color || "");
  if (m) {
    [r, g, b] = m[1].split(",").map((x) => parseFloat(x));
  } else {
    const h = String(color || "#ffffff").replace("#", "");
    const full = h.length === 3 ? h.split("").map((c) => c + c).join("") : h;
    r = parseInt(full.slice(0, 2), 16);
    g = parseInt(full.slice(2, 4), 16);
    b = parseInt(full.slice(4, 6), 16);
  }
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** Black or white, whichever contrasts more with the background colour. */
export function textColorOn(bg) {
  return luminance(bg) > 0.35 ? "#000000" : "#ffffff";
}

const patternCache = new Map();

/** A CanvasPattern drawing the hatch of `id` in a contrasting stroke (cached per ctx). */
export function hatchPattern(ctx, id, stroke) {
  const kind = hatchFor(id);
  if (kind === "none" || typeof document === "undefined") return null;
  const key = `${kind}|${stroke}`;
  let byCtx = patternCache.get(ctx);
  if (!byCtx) {
    byCtx = new Map();
    patternCache.set(ctx, byCtx);
  }
  if (byCtx.has(key)) return byCtx.get(key);
  const size = 8;
  const c = document.createElement("canvas");
  c.width = size;
  c.height = size;
  const g = c.getContext("2d");
  g.strokeStyle = stroke;
  g.fillStyle = stroke;
  g.lineWidth = 1;
  g.beginPath();
  if (kind === "diag" || kind === "cross") { g.moveTo(0, size); g.lineTo(size, 0); }
  if (kind === "backdiag" || kind === "cross") { g.moveTo(0, 0); g.lineTo(size, size); }
  if (kind === "horiz") { g.moveTo(0, size / 2); g.lineTo(size, size / 2); }
  if (kind === "vert") { g.moveTo(size / 2, 0); g.lineTo(size / 2, size); }
  g.stroke();
  if (kind === "dots") { g.fillRect(3, 3, 2, 2); }
  const pat = ctx.createPattern(c, "repeat");
  byCtx.set(key, pat);
  return pat;
}
