// Unit tests of the dataset scatter and compare view logic (no browser).
import test from "node:test";
import assert from "node:assert/strict";

import {
  brushMask, buildGrid, categoryColor, groupMix, makeTransform, nearest, normRect,
  pointColors, pointSize, rampColor, rasterize,
} from "../scatter.js";
import { compareLayout } from "../compare_view.js";

function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (1664525 * s + 1013904223) >>> 0) / 2 ** 32);
}

function randomXY(n, seed = 1) {
  const r = lcg(seed);
  const xy = new Float32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) xy[i] = r();
  return xy;
}

test("grid nearest equals brute force", () => {
  const n = 5000;
  const xy = randomXY(n, 7);
  const grid = buildGrid(xy, n, 40);
  assert.equal(grid.order.length, n);
  assert.equal(new Set(grid.order).size, n); // every point once
  const r = lcg(3);
  for (let q = 0; q < 300; q++) {
    const x = r();
    const y = r();
    const rad = 0.02 + 0.05 * r();
    let best = -1;
    let bestD = rad * rad;
    for (let i = 0; i < n; i++) {
      const d = (xy[2 * i] - x) ** 2 + (xy[2 * i + 1] - y) ** 2;
      if (d <= bestD) { bestD = d; best = i; }
    }
    const got = nearest(grid, xy, x, y, rad);
    if (best < 0) assert.equal(got, -1);
    else {
      const dg = (xy[2 * got] - x) ** 2 + (xy[2 * got + 1] - y) ** 2;
      assert.ok(Math.abs(dg - bestD) < 1e-12, `query ${q}`);
    }
  }
  assert.equal(nearest(grid, xy, 5, 5, 0.01), -1);
});

test("brush mask and group mix", () => {
  const xy = new Float32Array([0.1, 0.1, 0.5, 0.5, 0.9, 0.9, 0.5, 0.2]);
  const mask = new Uint8Array(4);
  assert.deepEqual(normRect([0.6, 0.6, 0.4, 0.1]), [0.4, 0.1, 0.6, 0.6]);
  assert.equal(brushMask(xy, 4, [0.6, 0.6, 0.4, 0.1], mask), 2);
  assert.deepEqual([...mask], [0, 1, 0, 1]);
  const props = new Float32Array([1, 0, 0.5, 0.5, 0, 1, 0.25, 0.75]);
  const codes = new Float32Array([0, 1, 1, 2]);
  const g = groupMix(mask, 4, props, 2, codes, 3);
  assert.equal(g.count, 2);
  assert.deepEqual(g.mix, [0.375, 0.625]);
  assert.deepEqual(g.cats, [0, 0.5, 0.5]);
  const none = groupMix(new Uint8Array(4), 4, props, 2, codes, 3);
  assert.equal(none.count, 0);
  assert.deepEqual(none.mix, [0, 0]);
});

test("colours: categories, grey for multiple/none, ramp ends", () => {
  assert.deepEqual(rampColor(0), [68, 1, 84]);
  assert.deepEqual(rampColor(1), [253, 231, 37]);
  assert.deepEqual(rampColor(NaN), [68, 1, 84]);
  assert.notDeepEqual(categoryColor(0, 5), categoryColor(1, 5));
  assert.deepEqual(categoryColor(4, 5), [150, 150, 150]);
  const cont = pointColors(new Float32Array([0, 1]), 2, "continuous", [0, 1], 0);
  assert.equal(cont[0] & 0xff, 68); // little-endian RGBA: red in the low byte
  assert.equal(cont[1] & 0xff, 253);
  const cat = pointColors(new Float32Array([0, 0, 1]), 3, "categorical", [], 4);
  assert.equal(cat[0], cat[1]);
  assert.notEqual(cat[0], cat[2]);
});

test("rasterize writes points, brushed ones on top", () => {
  const w = 50;
  const h = 50;
  const buf = new Uint32Array(w * h);
  const tr = makeTransform(w, h, 5);
  assert.equal(tr.fromX(tr.toX(0.3)), 0.3);
  assert.ok(Math.abs(tr.fromY(tr.toY(0.7)) - 0.7) < 1e-12);
  const xy = new Float32Array([0.5, 0.5, 0.5, 0.5, 0, 0]);
  const colors = new Uint32Array([11, 22, 33]);
  rasterize(buf, w, h, xy, 3, colors, tr, 3, null, 1, 0);
  const at = (x, y) => buf[Math.round(tr.toY(y)) * w + Math.round(tr.toX(x))];
  assert.equal(at(0.5, 0.5), 22); // later point wins without a brush
  rasterize(buf, w, h, xy, 3, colors, tr, 3, new Uint8Array([1, 0, 0]), 1, 0);
  assert.equal(at(0.5, 0.5), 11); // the brushed point is drawn over the faded one
  assert.equal(at(0, 0), 1); // outside the brush: faded
  assert.equal(buf[0], 0); // background
});

test("compare layout stacks A then B on one time axis", () => {
  const L = compareLayout({ width: 900, duration: 10, nLeads: 2 });
  const leads = L.rows.filter((r) => r.kind === "lead");
  assert.equal(leads.length, 4);
  assert.deepEqual(leads.map((r) => r.which), ["a", "a", "b", "b"]);
  for (const r of [...L.rows, L.changed, L.axis]) {
    assert.equal(r.x, L.margin);
    assert.equal(r.w, L.axis.w); // the same time axis everywhere
  }
  const ys = [...L.rows, L.changed, L.axis].map((r) => r.y);
  for (let i = 1; i < ys.length; i++) assert.ok(ys[i] > ys[i - 1]);
  assert.ok(L.height >= L.axis.y + L.axis.h);
});

test("point size follows the number of points", () => {
  // 150 records on a 500 x 400 plot: large points; 50 000: the 2 px floor.
  assert.ok(pointSize(150, 500, 400) >= 8);
  assert.equal(pointSize(50000, 500, 400), 2);
  assert.ok(pointSize(1000, 500, 400) < pointSize(150, 500, 400));
  assert.ok(pointSize(5, 500, 400) <= 12);
  // device pixels scale with the ratio
  assert.equal(pointSize(150, 1000, 800, 2), 2 * pointSize(150, 500, 400));
});
