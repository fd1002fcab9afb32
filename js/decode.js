// Binary traits arrive as {shape, dtype, buffer}: the buffer a DataView (anywidget), an
// ArrayBuffer or a typed array, or in the standalone HTML export {"$b64": "..."}.
// decodeArray is the one decoder of the array traits (views/traits.py writes them).

import { percentileRanks, runs } from "./bands.js";

/**
 * @typedef {Object} WireArray  An array trait as it comes over the comm.
 * @property {number[]} shape
 * @property {string} dtype      one of the keys of TYPED
 * @property {DataView|ArrayBuffer|ArrayBufferView|{$b64: string}} buffer
 */

/**
 * @typedef {Object} Decoded
 * @property {Float32Array|Float64Array|Int8Array|Int16Array|Int32Array|Uint8Array|Uint16Array|Uint32Array} data
 * @property {number[]} shape
 * @property {string} dtype
 */

const TYPED = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array,
  int32: Int32Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array,
};

function toBytes(value) {
  if (value == null) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (typeof value === "object" && typeof value.$b64 === "string") {
    const bin = atob(value.$b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  throw new TypeError(`cannot decode binary trait of type ${typeof value}`);
}

function aligned(bytes, width) {
  // Typed-array views need an aligned offset; copy only when the buffer is not.
  if (bytes.byteOffset % width === 0) return bytes;
  return bytes.slice();
}

/**
 * Decode an array trait; a missing one is an empty float32 array of shape [0].
 * @param {WireArray|null|undefined} value
 * @returns {Decoded}
 */
export function decodeArray(value) {
  if (value == null) return { data: new Float32Array(0), shape: [0], dtype: "float32" };
  const Typed = TYPED[value.dtype];
  if (!Typed) throw new TypeError(`unknown array dtype ${value.dtype}`);
  const b = aligned(toBytes(value.buffer), Typed.BYTES_PER_ELEMENT);
  const data = new Typed(b.buffer, b.byteOffset, Math.floor(b.byteLength / Typed.BYTES_PER_ELEMENT));
  const shape = Array.isArray(value.shape) ? value.shape.map(Number) : [data.length];
  checkShape(data, shape, `array (${value.dtype})`);
  return { data, shape, dtype: value.dtype };
}

/** Raw bytes (no shape) as float32 / int16 / uint8: for traits still sent as plain bytes. */
export function decodeFloat32(value) {
  const b = aligned(toBytes(value), 4);
  return new Float32Array(b.buffer, b.byteOffset, Math.floor(b.byteLength / 4));
}

export function decodeInt16(value) {
  const b = aligned(toBytes(value), 2);
  return new Int16Array(b.buffer, b.byteOffset, Math.floor(b.byteLength / 2));
}

export function decodeUint8(value) {
  return toBytes(value);
}

/** Check that a flat array holds prod(shape) items; returns the item count. */
export function checkShape(arr, shape, what) {
  const n = shape.reduce((a, b) => a * b, 1);
  if (arr.length !== n) {
    throw new Error(`${what}: got ${arr.length} values for shape [${shape.join(", ")}]`);
  }
  return n;
}

/** Decode the data traits of the response currently held by the model. */
export function decodeResponse(model) {
  const rec = model.get("record") || {};
  const nL = rec.n_leads || 0;
  const nS = rec.n_samples || 0;
  const sig = decodeArray(model.get("signal")).data;
  const ids = decodeArray(model.get("seg_ids")).data;
  const ent = decodeArray(model.get("entropy")).data;
  const cam = decodeArray(model.get("gradcam")).data;
  const protos = decodeArray(model.get("prototypes"));
  const snips = decodeArray(model.get("example_snips"));
  const clusters = model.get("clusters") || [];
  return {
    rec, nL, nS, fs: rec.fs || 1, sig: sig.length === nL * nS ? sig : new Float32Array(nL * nS),
    ids, segs: runs(ids), ent, cam: cam.length === nS ? cam : null,
    // Uncertainty relative to the dataset (percentile rank); absolute values stay in ent.
    entPct: percentileRanks(ent, rec.entropy_quantiles), relative: (rec.entropy_quantiles || []).length > 1,
    clusters, clusterIds: rec.cluster_ids || clusters.map((c) => c.id),
    protos: protos.data, protoShape: protos.shape, snips: snips.data, snipShape: snips.shape,
    responseId: model.get("response_id"),
  };
}
