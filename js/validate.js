// Browser-side checks of values before they are sent to the kernel (which checks them
// again: views/traits.py). Each returns {ok: true, value} or {ok: false, why}.

const ok = (value) => ({ ok: true, value });
const no = (why) => ({ ok: false, why });

/** An integer in lo..hi. */
export function checkInt(v, lo, hi, what) {
  const n = Number(v);
  if (v === null || v === "" || typeof v === "boolean" || !Number.isFinite(n) || !Number.isInteger(n)) {
    return no(`${what} must be an integer in ${lo}..${hi}, got ${v}`);
  }
  if (n < lo || n > hi) return no(`${what} must be an integer in ${lo}..${hi}, got ${n}`);
  return ok(n);
}

/** A brushed range {start_s, end_s, start, end} inside the record, or {} for none. */
export function checkSelection(sel, fs, nSamples) {
  if (!sel || !Object.keys(sel).length) return ok({});
  const vals = [sel.start, sel.end, sel.start_s, sel.end_s];
  if (!vals.every((x) => Number.isFinite(x))) return no("selection must hold finite start/end values");
  const a = Math.max(0, Math.min(sel.start, sel.end));
  const b = Math.min(nSamples, Math.max(sel.start, sel.end));
  if (!(b > a)) return no(`selection lies outside the record (0..${nSamples} samples)`);
  return ok({ start_s: a / fs, end_s: b / fs, start: a, end: b });
}

/** Labels keyed by a cluster id that is shown (ids of other K are kept as they are). */
export function checkLabelKey(id, ids) {
  return ids.includes(Number(id)) ? ok(Number(id)) : no(`cluster ${id} is not a cluster of this view`);
}

/** A time window [t0, t1] overlapping the record. */
export function checkViewRange(v, duration) {
  if (!Array.isArray(v) || v.length !== 2 || !v.every(Number.isFinite) || !(v[0] < v[1])) {
    return no(`view range must be [start_s, end_s] with start < end, got ${JSON.stringify(v)}`);
  }
  if (v[1] <= 0 || v[0] >= duration) return no(`view range ${v} is outside 0..${duration} s`);
  return ok(v);
}
