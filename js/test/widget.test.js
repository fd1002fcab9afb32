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

// A minimal DOM for the cluster cards (no browser): elements keep their children,
// listeners and attributes; a canvas context counts the drawing calls made on it.
class FakeEl {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.childNodes = [];
    this.parentNode = null;
    this.dataset = {};
    this.style = {};
    this.listeners = {};
    this.attrs = {};
    const cls = new Set();
    this.classList = {
      add: (c) => cls.add(c), remove: (c) => cls.delete(c), contains: (c) => cls.has(c),
      toggle: (c, on) => ((on ?? !cls.has(c)) ? cls.add(c) : cls.delete(c)),
    };
    this.draws = 0;
    this.value = "";
  }
  get firstChild() { return this.childNodes[0] || null; }
  get nextSibling() {
    const sib = this.parentNode ? this.parentNode.childNodes : [];
    return sib[sib.indexOf(this) + 1] || null;
  }
  appendChild(n) { return this.insertBefore(n, null); }
  append(...ns) { for (const n of ns) this.appendChild(n); }
  insertBefore(n, ref) {
    if (n.parentNode) n.parentNode.removeChild(n);
    const i = ref ? this.childNodes.indexOf(ref) : -1;
    this.childNodes.splice(i < 0 ? this.childNodes.length : i, 0, n);
    if (typeof n === "object") n.parentNode = this;
    return n;
  }
  removeChild(n) {
    this.childNodes.splice(this.childNodes.indexOf(n), 1);
    if (typeof n === "object") n.parentNode = null;
    return n;
  }
  replaceChildren(...ns) {
    for (const n of [...this.childNodes]) this.removeChild(n);
    this.append(...ns);
  }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  addEventListener(ev, fn) { (this.listeners[ev] ||= []).push(fn); }
  click() { for (const fn of this.listeners.click || []) fn({ stopPropagation() {}, target: this }); }
  focus() {}
  getContext() {
    const el = this;
    return new Proxy({}, {
      get: (o, k) => (k in o ? o[k] : () => { el.draws += 1; }),
      set: (o, k, v) => { o[k] = v; return true; },
    });
  }
}

test("cluster cards keep their canvases and redraw only the numbers that changed", async () => {
  const { createClusterPanel } = await import("../prototypes.js");
  const { makePalette } = await import("../palette.js");
  const doc = { createElement: (tag) => new FakeEl(tag) };
  const opened = [];
  const panel = createClusterPanel(doc, { onPick() {}, onLabel() {}, onExample: (e) => opened.push(e) });
  const W = 4;
  // prototypes [K=2, 3, L=1, W], example snippets [K=2, E=1, L=1, W]
  const protos = (shift) => Float32Array.from({ length: 2 * 3 * W }, (_, i) => i + (i >= 3 * W ? shift : 0));
  const snips = Float32Array.from({ length: 2 * W }, (_, i) => Math.sin(i));
  const ex = (rid) => [{ record_id: rid, record_index: Number(rid), start_s: 1.5 }];
  const clusters = (rid0) => [
    { id: 0, position: 0, share: 0.6, mean_entropy: 0.1, entropy_hist: [1, 2], examples: ex(rid0) },
    { id: 3, position: 1, share: 0.4, mean_entropy: 0.2, entropy_hist: [2, 1], examples: ex("7") },
  ];
  const theme = { dark: false, paper: "#fff", trace: "#000", track: "#eee" };
  const pal = makePalette([0, 3], false);
  const show = (shift, rid0) => panel.update({
    clusters: clusters(rid0), protos: protos(shift), protoShape: [2, 3, 1, W], snips,
    snipShape: [2, 1, 1, W], lead: 0, labels: {}, vocab: [], highlight: -1, theme, pal,
  });
  show(0, "5");
  const [a, b] = [panel.cards.get(0), panel.cards.get(3)];
  const drawn = () => [a.pc.draws, a.hc.draws, a.exCanvases[0].draws, b.pc.draws];
  const first = drawn();
  assert.ok(first.every((n) => n > 0));
  assert.deepEqual([...a.row.childNodes], [a.pc, a.hc]);
  // another answer with the same numbers (new arrays): nothing is painted again
  show(0, "5");
  assert.deepEqual(drawn(), first);
  // cluster 3's prototype changed: only its card is painted, on the same canvases
  const pc3 = b.pc;
  show(1, "5");
  const now = drawn();
  assert.deepEqual(now.slice(0, 3), first.slice(0, 3));
  assert.ok(now[3] > first[3] && b.pc === pc3);
  // another example for cluster 0: redrawn in place, and a click opens the new one
  const exCanvas = a.exCanvases[0];
  show(1, "9");
  assert.equal(a.exCanvases[0], exCanvas);
  assert.ok(exCanvas.draws > first[2]);
  exCanvas.click();
  assert.equal(opened.at(-1).record_id, "9");
  assert.match(exCanvas.title, /record 9 at 1.50 s/);
});
