// Unit tests of the pure front-end logic (no browser): run with `node --test test/`.
import test from "node:test";
import assert from "node:assert/strict";

import {
  PALETTE, PALETTE_DARK, assignSlots, colorFor, makePalette,
} from "../palette.js";
import { blendOver, textColorOn, toLab, withAlpha } from "../color.js";
import { checkShape, decodeFloat32, decodeInt16 } from "../decode.js";
import { clampView, computeLayout, hitTest, tickStep, timeToX, xToTime } from "../layout.js";
import { makeSelection, panView, zoomView } from "../brush.js";
import { bandAlpha, nextOccurrence, occurrences, runs, selectionSummary, stepOccurrence } from "../bands.js";
import { caliperReading } from "../brush.js";
import { updateLabels } from "../labels.js";
import { actionFor } from "../keys.js";

test("palette: stable-id colours, no reuse up to 16, display numbers 1..K", () => {
  assert.equal(colorFor(3), PALETTE[3]);
  assert.equal(colorFor(3 + PALETTE.length), PALETTE[3]);
  assert.equal(PALETTE.length, 16);
  assert.equal(PALETTE_DARK.length, 16);
  // ids that collide modulo 16 still get distinct colours
  const ids = [0, 16, 32, 1, 17, 5, 8, 13, 40, 2, 3, 4, 6, 7, 9, 10];
  const slots = assignSlots(ids);
  assert.equal(new Set(slots.values()).size, 16);
  assert.equal(slots.get(0), 0); // small ids keep their own slot
  for (const dark of [false, true]) {
    const pal = makePalette(ids, dark);
    assert.equal(new Set(ids.map((i) => pal.color(i))).size, 16);
  }
  // K=7 with ids up to 8 shows 1..7, never "C8"
  const pal = makePalette([0, 1, 2, 3, 5, 6, 8]);
  assert.deepEqual([0, 1, 2, 3, 5, 6, 8].map((i) => pal.num(i)), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(pal.title(8, {}), "cluster 7");
  assert.equal(pal.title(8, { 8: { name: " T wave ", notes: "" } }), "7 · T wave");
  assert.equal(pal.tag(8, { 8: { name: "T wave" } }), "7 T wave");
  assert.equal(pal.short(8), "7");
  assert.equal(withAlpha("#0072B2", 0.5), "rgba(0,114,178,0.5)");
  assert.equal(textColorOn("#000000"), "#ffffff");
  assert.equal(textColorOn("#F0E442"), "#000000");
});

test("palette stays distinct on ECG paper (solid and as lead tints), light and dark", () => {
  const dE = (a, b) => { const x = toLab(a); const y = toLab(b); return Math.hypot(x[0] - y[0], x[1] - y[1], x[2] - y[2]); };
  for (const [cols, paper, alpha] of [[PALETTE, "#fff8f8", 0.42], [PALETTE_DARK, "#1b1416", 0.42],
    [PALETTE, "#fff8f8", 0.2], [PALETTE_DARK, "#1b1416", 0.2]]) {
    let minSolid = Infinity;
    let minTint = Infinity;
    for (let i = 0; i < cols.length; i++) {
      assert.ok(dE(cols[i], paper) > 45, `${cols[i]} too close to paper ${paper}`);
      const ti = blendOver(cols[i], alpha, paper);
      assert.ok(dE(ti, paper) > (alpha > 0.3 ? 20 : 10), `tint of ${cols[i]} vanishes on ${paper}`);
      for (let j = i + 1; j < cols.length; j++) {
        minSolid = Math.min(minSolid, dE(cols[i], cols[j]));
        minTint = Math.min(minTint, dE(ti, blendOver(cols[j], alpha, paper)));
      }
    }
    assert.ok(minSolid > 20, `solid colours too close: ${minSolid}`);
    assert.ok(minTint > (alpha > 0.3 ? 8 : 4), `tints too close: ${minTint}`);
  }
});

test("binary traits decode from DataView, unaligned bytes and base64", () => {
  const f = new Float32Array([1.5, -2, 3.25]);
  const dv = new DataView(f.buffer);
  assert.deepEqual([...decodeFloat32(dv)], [1.5, -2, 3.25]);
  const shifted = new Uint8Array(13);
  shifted.set(new Uint8Array(f.buffer), 1);
  assert.deepEqual([...decodeFloat32(shifted.subarray(1))], [1.5, -2, 3.25]);
  const b64 = Buffer.from(new Int16Array([7, -3]).buffer).toString("base64");
  assert.deepEqual([...decodeInt16({ $b64: b64 })], [7, -3]);
  assert.equal(decodeFloat32(null).length, 0);
  assert.throws(() => checkShape(new Float32Array(5), [2, 3], "signal"), /shape \[2, 3\]/);
  assert.equal(checkShape(new Float32Array(6), [2, 3], "signal"), 6);
});

test("layouts place leads column-major and split time across columns", () => {
  const names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"];
  const base = { leadNames: names, width: 1000, duration: 10, view: [0, 10], gradcam: false };
  const a = computeLayout({ ...base, layout: "12x1" });
  assert.equal(a.panels.length, 12);
  assert.ok(a.panels.every((p) => p.t0 === 0 && p.t1 === 10));
  const b = computeLayout({ ...base, layout: "3x4" });
  assert.equal(b.panels.length, 13); // 12 cells + rhythm strip
  assert.equal(b.panels.filter((p) => p.rhythm).length, 1);
  const v1 = b.panels.find((p) => p.name === "V1");
  assert.equal(v1.col, 2);
  assert.ok(Math.abs(v1.t0 - 5) < 1e-9 && Math.abs(v1.t1 - 7.5) < 1e-9);
  const c = computeLayout({ ...base, layout: "6x2", leads: [0, 1] });
  assert.equal(c.panels.length, 2);
  // 25 mm/s and 10 mm/mV share the same mm at zoom 1
  assert.ok(Math.abs(a.pxPerMv - 10 * a.pxPerMm0) < 1e-9);
  const g = computeLayout({ ...base, layout: "12x1", gradcam: true });
  assert.ok(g.gradcam && g.height > a.height);
  const p = a.panels[0];
  assert.ok(Math.abs(xToTime(p, timeToX(p, 3.7)) - 3.7) < 1e-9);
  assert.equal(hitTest(a, p.x + 5, p.y + 5), p);
  assert.equal(hitTest(a, 1, 1), null);
  assert.deepEqual(clampView([8, 12], 10), [6, 10]);
  assert.deepEqual(clampView([5, 2], 10), [0, 10]);
  assert.equal(tickStep(10, 10), 1);
  assert.equal(tickStep(2.5, 10), 0.5);
});

test("zoom keeps the point under the cursor and pan is clamped", () => {
  const v = zoomView([0, 10], 2.5, 2, 10);
  assert.ok(Math.abs(v[1] - v[0] - 5) < 1e-9);
  assert.ok(Math.abs((2.5 - v[0]) / (v[1] - v[0]) - 0.25) < 1e-9);
  assert.deepEqual(zoomView([0, 10], 5, 0.5, 10), [0, 10]);
  assert.ok(zoomView([0, 10], 5, 1000, 10)[1] - zoomView([0, 10], 5, 1000, 10)[0] >= 0.2 - 1e-9);
  assert.deepEqual(panView([2, 4], 10, 10), [8, 10]);
  assert.deepEqual(panView([2, 4], -10, 10), [0, 2]);
});

test("brush -> selection trait in seconds and samples (end exclusive)", () => {
  const s = makeSelection(2.0, 1.0, 100, 1000);
  assert.deepEqual(s, { start_s: 1, end_s: 2, start: 100, end: 200 });
  assert.equal(makeSelection(1.0, 1.005, 100, 1000), null);
  const c = makeSelection(-1, 20, 100, 1000);
  assert.deepEqual([c.start, c.end], [0, 1000]);
});

test("runs, occurrences and the selection summary", () => {
  const ids = new Int16Array([4, 4, 7, 7, 7, 4, 9, 9]);
  const segs = runs(ids);
  assert.deepEqual(segs.map((r) => [r.start, r.end, r.id]), [[0, 2, 4], [2, 5, 7], [5, 6, 4], [6, 8, 9]]);
  assert.equal(nextOccurrence(segs, 4, 0, 1).start, 5);
  assert.equal(nextOccurrence(segs, 4, 5, 1).start, 0); // wraps around
  assert.equal(nextOccurrence(segs, 4, 5, -1).start, 0);
  assert.equal(nextOccurrence(segs, 3, 0, 1), null);
  // n / p step from the current occurrence with wrap-around, at any view
  const occ = occurrences(segs, 4);
  assert.equal(stepOccurrence(occ, -1, 1, 0, 8), 0);
  assert.equal(stepOccurrence(occ, 0, 1, 0, 8), 1);
  assert.equal(stepOccurrence(occ, 1, 1, 0, 8), 0);
  assert.equal(stepOccurrence(occ, 0, -1, 0, 8), 1);
  assert.equal(stepOccurrence(occ, -1, 1, 3, 8), 1); // starts from the view
  assert.equal(stepOccurrence(occ, -1, -1, 0, 4), 0);
  assert.equal(stepOccurrence([], -1, 1, 0, 8), -1);
  const ent = new Float32Array([0, 0, 0.5, 0.5, 1, 0, 0, 0]);
  const cam = new Float32Array([0, 0, 1, 1, 0, 0, 0, 2]);
  const s = selectionSummary(ids, ent, cam, 2, 6);
  assert.equal(s.n, 4);
  assert.deepEqual(s.clusters.map((c) => c.id), [7, 4]);
  assert.ok(Math.abs(s.clusters[0].share - 0.75) < 1e-9);
  assert.ok(Math.abs(s.clusters[0].mean_entropy - 2 / 3) < 1e-6);
  assert.ok(Math.abs(s.mean_entropy - 0.5) < 1e-6);
  assert.ok(Math.abs(s.gradcam_share - 0.5) < 1e-9);
  assert.equal(selectionSummary(ids, ent, null, 0, 2).gradcam_share, null);
});

test("band styles and calipers", () => {
  assert.equal(bandAlpha("strip", 1, null, true), 0);
  assert.ok(bandAlpha("strong", 1, null, false) > bandAlpha("light", 1, null, false));
  assert.equal(bandAlpha("lead", 1, null, false), 0);
  assert.ok(bandAlpha("lead", 1, null, true) > 0);
  assert.ok(bandAlpha("strip", 2, 2, false) > 0); // a highlighted cluster shows in every style
  const p = { x: 0, w: 1000, t0: 0, t1: 10 };
  const r = caliperReading(p, 100, 50, 180, 10, 40);
  assert.ok(Math.abs(r.ms - 800) < 1e-6 && Math.abs(r.bpm - 75) < 1e-6 && Math.abs(r.mv - 1) < 1e-9);
});

test("labels update keyed by stable id; empty entries are removed", () => {
  const a = updateLabels({}, 3, "QRS complex", "");
  assert.deepEqual(a, { 3: { name: "QRS complex", notes: "" } });
  const b = updateLabels(a, 3, " ", "");
  assert.deepEqual(b, {});
  assert.deepEqual(a, { 3: { name: "QRS complex", notes: "" } }); // not mutated
});

test("keyboard map", () => {
  const ev = (key, extra = {}) => ({ key, shiftKey: false, ctrlKey: false, metaKey: false, ...extra });
  assert.equal(actionFor(ev("+")), "k+");
  assert.equal(actionFor(ev("-")), "k-");
  assert.equal(actionFor(ev("Escape")), "escape");
  assert.equal(actionFor(ev("?")), "help");
  assert.equal(actionFor(ev("ArrowRight", { shiftKey: true })), "pan+");
  assert.equal(actionFor(ev("3")), "cluster3");
  assert.equal(actionFor(ev("c", { ctrlKey: true })), null);
  assert.equal(actionFor(ev("c")), "calipers");
  assert.equal(actionFor(ev("U", { shiftKey: true })), "uncertain-prev");
  assert.equal(actionFor(ev("b")), "bands");
});

test("percentile ranks: ties take the middle, values between quantiles interpolate", async () => {
  const { percentileRanks } = await import("../bands.js");
  const q = Array.from({ length: 101 }, (_, i) => (i / 100) ** 2);
  const r = percentileRanks(new Float32Array([0.25, 1, 2, -1]), q);
  assert.ok(Math.abs(r[0] - 0.5) < 1e-6);
  assert.equal(r[1], 1);
  assert.equal(r[2], 1);
  assert.equal(r[3], 0);
  // 41 equal quantiles at 0 (a normal ECG's entropy): a 0 is at the 20th percentile
  const z = Array.from({ length: 101 }, (_, i) => (i <= 40 ? 0 : (i - 40) / 60));
  assert.ok(Math.abs(percentileRanks(new Float32Array([0]), z)[0] - 0.2) < 1e-6);
  const raw = new Float32Array([0.3]);
  assert.equal(percentileRanks(raw, []), raw); // no scale sent: the absolute values
});

test("a cluster without a name of its own shows its nearest named ancestor's", () => {
  // ids 0..3 at K=4; cluster 3 split from 1 (K=3), which came from 1 (K=2).
  const pal = makePalette([0, 1, 2, 3]);
  const labels = { 1: { name: "QRS complex" } };
  assert.deepEqual(pal.titleOrProposal(1, labels, "", [1, 1]), { text: "2 · QRS complex", proposed: false, inherited: "" });
  assert.deepEqual(pal.titleOrProposal(3, labels, "T wave", [1, 1]), { text: "4 · part of QRS complex", proposed: false, inherited: "QRS complex" });
  assert.deepEqual(pal.titleOrProposal(2, labels, "T wave", [0, 0]), { text: "3 · T wave?", proposed: true, inherited: "" });
  assert.deepEqual(pal.titleOrProposal(2, labels, "", []), { text: "cluster 3", proposed: false, inherited: "" });
});
