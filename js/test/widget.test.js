// Unit tests of the widget's plumbing: array decoding, browser-side checks and the
// listener registry (run with `node --test test/`).
import test from "node:test";
import assert from "node:assert/strict";

import { decodeArray } from "../decode.js";
import { checkInt, checkLabelKey, checkSelection, checkViewRange } from "../validate.js";
import { createRegistry } from "../listeners.js";

test("array traits decode with their shape and dtype, from DataView and base64", () => {
  const f = new Float32Array([1.5, -2, 3.25, 4, 5, 6]);
  const dv = new DataView(f.buffer);
  const a = decodeArray({ shape: [2, 3], dtype: "float32", buffer: dv });
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual([...a.data], [1.5, -2, 3.25, 4, 5, 6]);
  const b64 = Buffer.from(new Int16Array([7, -3]).buffer).toString("base64");
  const b = decodeArray({ shape: [2], dtype: "int16", buffer: { $b64: b64 } });
  assert.ok(b.data instanceof Int16Array);
  assert.deepEqual([...b.data], [7, -3]);
  // unaligned bytes are copied, not misread
  const bytes = new Uint8Array(9);
  bytes.set(new Uint8Array(new Float32Array([1, 2]).buffer), 1);
  assert.deepEqual([...decodeArray({ shape: [2], dtype: "float32", buffer: bytes.subarray(1) }).data], [1, 2]);
  assert.equal(decodeArray(null).data.length, 0);
  assert.throws(() => decodeArray({ shape: [3], dtype: "float32", buffer: dv }), /6 values for shape \[3\]/);
  assert.throws(() => decodeArray({ shape: [1], dtype: "complex64", buffer: dv }), /unknown array dtype/);
});

test("browser-side checks refuse what the kernel would refuse", () => {
  assert.deepEqual(checkInt(4, 2, 8, "K"), { ok: true, value: 4 });
  for (const bad of [50, 1, NaN, 2.5, "", null, true, Infinity]) assert.equal(checkInt(bad, 2, 8, "K").ok, false);
  assert.deepEqual(checkSelection({}, 100, 1000), { ok: true, value: {} });
  assert.deepEqual(checkSelection({ start_s: 9, end_s: 12, start: 900, end: 1200 }, 100, 1000).value,
    { start_s: 9, end_s: 10, start: 900, end: 1000 });
  assert.equal(checkSelection({ start_s: 50, end_s: 60, start: 5000, end: 6000 }, 100, 1000).ok, false);
  assert.equal(checkSelection({ start_s: NaN, end_s: 1, start: NaN, end: 100 }, 100, 1000).ok, false);
  assert.equal(checkLabelKey(3, [0, 3, 5]).ok, true);
  assert.match(checkLabelKey(9, [0, 3, 5]).why, /not a cluster/);
  assert.equal(checkViewRange([2, 4], 10).ok, true);
  for (const bad of [[4, 2], [NaN, 1], [11, 12], [1], "x"]) assert.equal(checkViewRange(bad, 10).ok, false);
});

test("the registry removes exactly what it added, once", () => {
  const target = new EventTarget();
  let clicks = 0;
  const model = {
    handlers: new Map(),
    on(ev, fn) { this.handlers.set(ev, fn); },
    off(ev, fn) { if (this.handlers.get(ev) === fn) this.handlers.delete(ev); },
  };
  const reg = createRegistry();
  reg.dom(target, "click", () => { clicks += 1; });
  reg.model(model, "change:x", () => {});
  let disconnected = 0;
  reg.observer({ disconnect: () => { disconnected += 1; } });
  let fired = false;
  reg.timeout("t", () => { fired = true; }, 5);
  assert.equal(reg.size(), 3);
  target.dispatchEvent(new Event("click"));
  assert.equal(clicks, 1);
  reg.teardown();
  reg.teardown(); // idempotent
  target.dispatchEvent(new Event("click"));
  assert.equal(clicks, 1);
  assert.equal(model.handlers.size, 0);
  assert.equal(disconnected, 1);
  return new Promise((resolve) => setTimeout(() => { assert.equal(fired, false); resolve(); }, 20));
});

test("label undo / redo works per cluster and Ctrl+Z maps to it", async () => {
  const { createLabelHistory, updateLabels } = await import("../labels.js");
  const { actionFor } = await import("../keys.js");
  const h = createLabelHistory();
  let labels = {};
  const edit = (id, name) => {
    const next = updateLabels(labels, id, name, "");
    h.record(labels, next, id);
    labels = next;
  };
  edit(1, "P wave");
  edit(2, "QRS complex");
  edit(1, "T wave");
  labels = { ...labels, 5: { name: "set from Python", notes: "" } };
  let r = h.undo(labels);
  assert.equal(r.id, 1);
  assert.equal(r.labels["1"].name, "P wave");
  assert.equal(r.labels["5"].name, "set from Python"); // other clusters untouched
  labels = r.labels;
  labels = h.undo(labels).labels; // QRS edit undone
  assert.equal(labels["2"], undefined);
  labels = h.redo(labels).labels;
  assert.equal(labels["2"].name, "QRS complex");
  edit(3, "ST segment"); // a new edit clears the redo list
  assert.equal(h.redo(labels), null);
  assert.deepEqual(h.sizes(), [3, 0]);
  assert.equal(actionFor({ key: "z", ctrlKey: true }), "undo");
  assert.equal(actionFor({ key: "Z", ctrlKey: true, shiftKey: true }), "redo");
  assert.equal(actionFor({ key: "z", metaKey: true }), "undo");
  assert.equal(actionFor({ key: "c", ctrlKey: true }), null);
});
