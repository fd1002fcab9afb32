// What the base canvas draws again unchanged on most redraws, kept as pixels: the paper
// (background and grid of every lead) and the traces. A K change, a highlight or a label
// edit repaints the bands, which lie between the two; painting 12 leads of grid and
// trace again took about two thirds of such a redraw. Each layer is kept with the
// geometry, colours and signal it was painted from and is painted again whenever any of
// these differs, so a kept layer always shows what drawing afresh would show.

import { drawGrid, drawTrace, leadCenter } from "./ecg_view.js";

/** Largest layer side in device pixels (canvases much taller fail silently). */
const MAX_SIDE = 16000;

function panelKey(p) {
  return [p.x, p.y, p.w, p.h, p.t0, p.t1, p.lead];
}

/**
 * Whether the panels share a device pixel: their rectangles, rounded outwards to whole
 * device pixels, intersect. Rows that meet on a whole pixel do not; rows that meet
 * inside a pixel do, since each paints part of that pixel (its paper then covers part of
 * the previous row's bands, so painting every paper first would change it).
 */
export function panelsOverlap(panels, dpr = 1) {
  const px = panels.map((p) => [Math.floor(p.x * dpr), Math.floor(p.y * dpr),
    Math.ceil((p.x + p.w) * dpr), Math.ceil((p.y + p.h) * dpr)]);
  for (let i = 0; i < px.length; i++) {
    for (let j = i + 1; j < px.length; j++) {
      const a = px[i];
      const b = px[j];
      if (a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]) return true;
    }
  }
  return false;
}

/**
 * Where each panel's trace lies in device pixels: its clip rectangle (the panel, plus
 * the spill into the neighbouring rows when rows overlap) rounded outwards, cut to the
 * canvas. Rounding outwards to whole pixels keeps the sub-pixel positions of the trace,
 * so a copied slot equals the trace drawn in place.
 */
export function traceSlots(L, dpr) {
  const W = Math.round(L.width * dpr);
  const H = Math.round(L.height * dpr);
  let y = 0;
  return L.panels.map((p) => {
    const spill = L.overlap ? p.h * 0.6 : 0;
    const x0 = Math.max(0, Math.floor(p.x * dpr));
    const y0 = Math.max(0, Math.floor((p.y - spill) * dpr));
    const x1 = Math.min(W, Math.ceil((p.x + p.w) * dpr));
    const y1 = Math.min(H, Math.ceil((p.y + p.h + spill) * dpr));
    const s = { x0, y0, w: Math.max(0, x1 - x0), h: Math.max(0, y1 - y0), at: y };
    y += s.h;
    return s;
  });
}

function sameValues(a, b) {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) return false;
  return true;
}

/** Copy `src` (device pixels sx, sy, w, h) to `ctx` at device pixels dx, dy. */
function blit(ctx, src, sx, sy, w, h, dx, dy) {
  if (!w || !h) return;
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(src, sx, sy, w, h, dx, dy, w, h);
  ctx.restore();
}

/** Run `fn` when the page is idle (soon at the latest), or now where there is no page. */
function whenIdle(fn) {
  if (typeof requestIdleCallback === "function") requestIdleCallback(fn, { timeout: 500 });
  else setTimeout(fn, 50);
}

/** How many drawings' layers are kept: the row height follows the legend's height, so
 * going back and forth between two K can alternate between two geometries. */
const KEEP = 2;

/** Put `entry` first in `list`, keeping at most KEEP entries. */
function keep(list, entry) {
  list.unshift(entry);
  list.length = Math.min(list.length, KEEP);
}

/**
 * The kept layers of one view. `makeCanvas(w, h)` gives an unattached canvas of that
 * size in device pixels; `later(fn)` runs `fn` when the page is idle.
 *
 * paper(ctx, L, theme, dpr): copies the kept background and grid of every panel to
 *   `ctx` and returns true; false when it has none for this drawing (the caller paints
 *   them) or when panels overlap (a later panel's paper must then cover an earlier
 *   panel's bands, so the caller paints panel by panel).
 * traces(L, cur, theme, dpr): the kept traces, whose `.copy(ctx, i)` paints panel i's
 *   trace on `ctx`; null when there are none for this drawing (the caller draws them).
 *
 * A drawing with no kept layer is painted directly, as fast as before, and the layer is
 * made for it afterwards, when the page is idle, and rasterised there: made during the
 * redraw, its first copy would rasterise it inside the redraw.
 * @param {(w: number, h: number) => any} makeCanvas
 * @param {(fn: () => void) => void} [later]
 */
export function createLayers(makeCanvas, later = whenIdle) {
  /** @type {{key: string, canvas: any}[]} */
  const papers = [];
  /** @type {{key: string, canvas: any, sig: any, slots: any[]}[]} */
  const traceLayers = [];
  const pending = { paper: "", traces: "", sig: null };
  // How often each layer was painted, and a switch to draw everything afresh (tests
  // compare the two).
  const stats = { paper: 0, traces: 0, enabled: true };

  function paperKey(L, theme, dpr) {
    const W = Math.round(L.width * dpr);
    const H = Math.round(L.height * dpr);
    if (!W || !H || W > MAX_SIDE || H > MAX_SIDE || panelsOverlap(L.panels, dpr)) return "";
    return JSON.stringify([W, H, dpr, L.width, L.height, L.speed, L.pxPerMv, theme.bg,
      theme.paper, theme.gridMinor, theme.gridMajor, L.panels.map(panelKey)]);
  }

  function paintPaper(key, L, theme, dpr) {
    const c = makeCanvas(Math.round(L.width * dpr), Math.round(L.height * dpr));
    const pc = c.getContext("2d");
    pc.setTransform(dpr, 0, 0, dpr, 0, 0);
    pc.fillStyle = theme.bg;
    pc.fillRect(0, 0, L.width, L.height);
    for (const p of L.panels) drawGrid(pc, p, L, theme);
    pc.getImageData(0, 0, 1, 1); // rasterise now, not at the first copy
    keep(papers, { key, canvas: c });
    stats.paper += 1;
  }

  function paper(ctx, L, theme, dpr) {
    if (!stats.enabled) return false;
    const key = paperKey(L, theme, dpr);
    if (!key) return false;
    const hit = papers.find((e) => e.key === key);
    if (hit) {
      blit(ctx, hit.canvas, 0, 0, hit.canvas.width, hit.canvas.height, 0, 0);
      return true;
    }
    if (pending.paper !== key) {
      pending.paper = key;
      later(() => {
        if (pending.paper !== key) return; // a newer drawing asked for another one
        pending.paper = "";
        paintPaper(key, L, theme, dpr);
      });
    }
    return false;
  }

  function traceKey(L, cur, theme, dpr) {
    return JSON.stringify([dpr, L.width, L.height, L.pxPerMv, !!L.overlap, theme.trace, cur.nS,
      cur.fs, L.panels.map(panelKey)]);
  }

  function paintTraces(key, L, cur, theme, dpr) {
    const s = traceSlots(L, dpr);
    const w = Math.max(0, ...s.map((r) => r.w));
    const h = s.reduce((a, r) => a + r.h, 0);
    if (!w || !h || w > MAX_SIDE || h > MAX_SIDE) return;
    const c = makeCanvas(w, h);
    const tc = c.getContext("2d");
    L.panels.forEach((p, i) => {
      const r = s[i];
      if (!r.w || !r.h) return;
      tc.save();
      // Only its own slot: a clip cut at the canvas edge must not reach the next slot.
      tc.beginPath();
      tc.rect(0, r.at, r.w, r.h);
      tc.clip();
      // The panel's own device pixels, shifted by whole pixels into its slot.
      tc.setTransform(dpr, 0, 0, dpr, -r.x0, r.at - r.y0);
      const off = p.lead * cur.nS;
      drawTrace(tc, p, L, cur.sig, off, cur.nS, cur.fs, theme, leadCenter(cur.sig, off, cur.nS));
      tc.restore();
    });
    tc.getImageData(0, 0, 1, 1); // rasterise now, not at the first copy
    keep(traceLayers, { key, canvas: c, sig: cur.sig, slots: s });
    stats.traces += 1;
  }

  function traces(L, cur, theme, dpr) {
    if (!stats.enabled) return null;
    const key = traceKey(L, cur, theme, dpr);
    const hit = traceLayers.find((e) => e.key === key && sameValues(cur.sig, e.sig));
    if (hit) {
      return {
        copy(ctx, i) {
          const r = hit.slots[i];
          if (r) blit(ctx, hit.canvas, 0, r.at, r.w, r.h, r.x0, r.y0);
        },
      };
    }
    if (pending.traces !== key || !sameValues(cur.sig, pending.sig)) {
      // Its own copy: the layer must show the numbers drawn now, whatever happens later.
      const sig = cur.sig ? cur.sig.slice() : cur.sig;
      pending.traces = key;
      pending.sig = sig;
      later(() => {
        if (pending.traces !== key || pending.sig !== sig) return; // a newer drawing asked
        pending.traces = "";
        pending.sig = null;
        paintTraces(key, L, { ...cur, sig }, theme, dpr);
      });
    }
    return null;
  }

  return { paper, traces, stats };
}
