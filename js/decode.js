// Binary traits arrive as DataView (anywidget), ArrayBuffer, typed arrays, or in the
// standalone HTML export as {"$b64": "..."}; all are turned into typed arrays here.

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
