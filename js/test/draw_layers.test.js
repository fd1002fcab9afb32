// Unit tests of the kept canvas layers (layers.js) and of the height the ECG is fitted
// to (present.js), with recording fakes for canvases and the DOM (no browser).
import test from "node:test";
import assert from "node:assert/strict";

import { createLayers, panelsOverlap, traceSlots } from "../layers.js";
import { limitsHeight } from "../present.js";

/** A canvas whose 2-D context counts what is painted on it and records copies. */
function fakeCanvas(w, h) {
  const c = { width: w, height: h, strokes: 0, fills: 0, copies: [] };
  const ctx = new Proxy({}, {
    get: (o, k) => {
      if (k in o) return o[k];
      if (k === "stroke") return () => { c.strokes += 1; };
      if (k === "fillRect") return () => { c.fills += 1; };
      if (k === "drawImage") return (src, ...a) => c.copies.push([src, ...a]);
      return () => {};
    },
    set: (o, k, v) => { o[k] = v; return true; },
  });
  c.getContext = () => ctx;
  return c;
}

const theme = { bg: "#fff", paper: "#fffaf5", gridMinor: "#fdd", gridMajor: "#f99", trace: "#111" };

function layout(rows = 3, rowH = 50, overlap = true) {
  const panels = Array.from({ length: rows }, (_, i) => ({
    x: 64, y: 4 + i * rowH, w: 600, h: rowH, t0: 0, t1: 10, lead: i, col: 0,
  }));
  return { width: 700, height: 4 + rows * rowH + 60, speed: 25, pxPerMv: 20, overlap, panels };
}

function signal(nL, nS, shift = 0) {
  return Float32Array.from({ length: nL * nS }, (_, i) => Math.sin(i / 7) + shift);
}

test("kept layers are made when idle, then copied while nothing they show changes", () => {
  const made = [];
  const queue = [];
  const idle = () => { while (queue.length) queue.shift()(); };
  const layers = createLayers((w, h) => { const c = fakeCanvas(w, h); made.push(c); return c; }, (fn) => queue.push(fn));
  const L = layout();
  const cur = { sig: signal(3, 2500), nS: 2500, fs: 250 };
  const main = fakeCanvas(700, 274).getContext("2d");
  // the first drawing has no layers: the caller paints, the layers are made afterwards
  assert.equal(layers.paper(main, L, theme, 1), false);
  assert.equal(layers.traces(L, cur, theme, 1), null);
  assert.deepEqual([layers.stats.paper, layers.stats.traces], [0, 0]);
  idle();
  assert.deepEqual([layers.stats.paper, layers.stats.traces], [1, 1]);
  for (let i = 0; i < 3; i++) {
    // a K change: the same ECG and geometry, a new answer (a new decoded array)
    assert.equal(layers.paper(main, L, theme, 1), true);
    const tr = layers.traces(L, { ...cur, sig: cur.sig.slice() }, theme, 1);
    for (let p = 0; p < 3; p++) tr.copy(main, p);
    idle();
  }
  assert.deepEqual([layers.stats.paper, layers.stats.traces], [1, 1]);
  assert.equal(made[1].strokes, 3); // one trace per lead, painted once
  // another ECG, another gain (row geometry), another theme: drawn directly, made again
  const other = { ...cur, sig: signal(3, 2500, 0.5) };
  assert.equal(layers.traces(L, other, theme, 1), null);
  idle();
  assert.equal(layers.stats.traces, 2);
  assert.ok(layers.traces(L, other, theme, 1));
  assert.equal(layers.traces({ ...L, pxPerMv: 40 }, other, theme, 1), null);
  assert.equal(layers.paper(main, L, { ...theme, paper: "#000" }, 1), false);
  // while panning every drawing differs: only the last one's layer is made
  for (let t = 0; t < 5; t++) layers.traces({ ...L, panels: L.panels.map((p) => ({ ...p, t0: t, t1: t + 10 })) }, other, theme, 1);
  idle();
  assert.deepEqual([layers.stats.paper, layers.stats.traces], [2, 3]);
  // a layer is made from the numbers of the drawing that asked for it
  const sig = signal(3, 2500, 2);
  layers.traces(L, { ...cur, sig }, theme, 1);
  sig.fill(0);
  idle();
  assert.equal(layers.traces(L, { ...cur, sig: signal(3, 2500, 2) }, theme, 1) !== null, true);
  // switched off: the caller draws everything itself
  layers.stats.enabled = false;
  assert.equal(layers.paper(main, L, theme, 1), false);
  assert.equal(layers.traces(L, cur, theme, 1), null);
});

test("two geometries are kept: going back and forth between two K repaints nothing", () => {
  const layers = createLayers(fakeCanvas, (fn) => fn());
  const main = fakeCanvas(700, 400).getContext("2d");
  const cur = { sig: signal(3, 500), nS: 500, fs: 50 };
  const A = layout(3, 50);
  const B = layout(3, 46); // the legend took one more line: shorter rows
  for (const L of [A, B]) {
    layers.paper(main, L, theme, 1);
    layers.traces(L, cur, theme, 1);
  }
  assert.deepEqual([layers.stats.paper, layers.stats.traces], [2, 2]);
  for (const L of [A, B, A, B]) {
    assert.equal(layers.paper(main, L, theme, 1), true);
    assert.ok(layers.traces(L, cur, theme, 1));
  }
  assert.deepEqual([layers.stats.paper, layers.stats.traces], [2, 2]);
  // a third geometry pushes out the oldest
  const C = layout(3, 40);
  layers.traces(C, cur, theme, 1);
  assert.equal(layers.traces(A, cur, theme, 1), null);
});

test("each lead's trace is copied from its own slot to its own pixels", () => {
  const L = layout(3, 50, true);
  const s = traceSlots(L, 2);
  // slots stacked without overlap; each covers the row plus its spill, in device pixels
  assert.equal(s[0].at, 0);
  assert.equal(s[1].at, s[0].h);
  assert.equal(s[0].y0, 0); // the spill above the first row is cut at the canvas
  assert.equal(s[1].y0, Math.floor((54 - 30) * 2));
  assert.equal(s[1].h, Math.ceil((104 + 30) * 2) - s[1].y0);
  const layers = createLayers(fakeCanvas, (fn) => fn());
  const main = fakeCanvas(1400, 548);
  const cur = { sig: signal(3, 100), nS: 100, fs: 10 };
  assert.equal(layers.traces(L, cur, theme, 2), null);
  layers.traces(L, cur, theme, 2).copy(main.getContext("2d"), 1);
  const [, sx, sy, w, h, dx, dy, dw, dh] = main.copies[0];
  assert.deepEqual([sx, sy, w, h, dx, dy, dw, dh], [0, s[1].at, s[1].w, s[1].h, s[1].x0, s[1].y0, s[1].w, s[1].h]);
});

test("overlapping panels get no kept paper", () => {
  const L = layout(3, 50, false);
  assert.equal(panelsOverlap(L.panels), false); // rows meeting on a whole pixel
  assert.equal(panelsOverlap(L.panels, 2), false);
  L.panels[0].h += 0.25; // rows meeting inside a pixel share it
  L.panels[1].y += 0.25;
  L.panels[1].h -= 0.25;
  assert.equal(panelsOverlap(L.panels), true);
  L.panels[1].y += 0.75; // a gap
  L.panels[1].h -= 0.75;
  assert.equal(panelsOverlap(L.panels), false);
  L.panels[1].y -= 20;
  assert.equal(panelsOverlap(L.panels), true);
  const layers = createLayers(fakeCanvas, (fn) => fn());
  const main = fakeCanvas(700, 274).getContext("2d");
  layers.paper(main, L, theme, 1);
  assert.equal(layers.paper(main, L, theme, 1), false);
  assert.equal(layers.stats.paper, 0);
});

test("the ECG is fitted to a box that scrolls, not to a box as tall as its content", () => {
  const saved = globalThis.getComputedStyle;
  globalThis.getComputedStyle = (n) => ({ overflowY: n.oy });
  try {
    const box = (clientHeight, scrollHeight, oy = "auto") => ({ oy, clientHeight, scrollHeight });
    // JupyterLab's output area: may scroll, as tall as the widget (and what follows it)
    assert.equal(limitsHeight(box(800, 800)), false);
    // the notebook panel: its content overflows it
    assert.equal(limitsHeight(box(979, 2570)), true);
    assert.equal(limitsHeight(box(979, 2570, "visible")), false);
    assert.equal(limitsHeight(box(150, 2570)), false);
  } finally {
    globalThis.getComputedStyle = saved;
  }
});
