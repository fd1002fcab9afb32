// Brush / zoom / pan math (pure) plus the pointer wiring that uses it.

import { hitTest, xToTime } from "./layout.js";

/** Zoom `view` by `factor` (>1 zooms in) around time `center`, clamped to the record. */
export function zoomView(view, center, factor, duration, minSpan = 0.2) {
  const [a, b] = view;
  const span = Math.min(duration, Math.max(minSpan, (b - a) / factor));
  const frac = (center - a) / (b - a);
  let na = center - frac * span;
  na = Math.max(0, Math.min(na, duration - span));
  return [na, na + span];
}

/** Shift `view` by `dt` seconds, clamped to the record. */
export function panView(view, dt, duration) {
  const span = view[1] - view[0];
  const na = Math.max(0, Math.min(view[0] + dt, duration - span));
  return [na, na + span];
}

/**
 * Turn two brushed times into the selection trait: seconds and sample indices
 * (end exclusive, at least one sample), or null for a click without a drag.
 */
export function makeSelection(t0, t1, fs, nSamples, minSeconds = 0.02) {
  let a = Math.min(t0, t1);
  let b = Math.max(t0, t1);
  const dur = nSamples / fs;
  a = Math.max(0, Math.min(a, dur));
  b = Math.max(0, Math.min(b, dur));
  if (b - a < minSeconds) return null;
  const start = Math.max(0, Math.min(nSamples - 1, Math.round(a * fs)));
  const end = Math.max(start + 1, Math.min(nSamples, Math.round(b * fs)));
  return { start_s: start / fs, end_s: end / fs, start, end };
}

/**
 * Caliper reading between two points of one panel: interval (ms), rate (bpm, from the
 * interval as an RR), amplitude difference (mV, from the vertical distance at the gain).
 */
export function caliperReading(p, x0, y0, x1, y1, pxPerMv) {
  const t0 = p.t0 + ((x0 - p.x) / p.w) * (p.t1 - p.t0);
  const t1 = p.t0 + ((x1 - p.x) / p.w) * (p.t1 - p.t0);
  const ms = Math.abs(t1 - t0) * 1000;
  return {
    t0: Math.min(t0, t1), t1: Math.max(t0, t1), ms,
    bpm: ms > 0 ? 60000 / ms : null,
    mv: pxPerMv > 0 ? (y0 - y1) / pxPerMv : 0,
  };
}

/**
 * Wire pointer events on `canvas`. `ctl` supplies getLayout(), getView(), fs, nSamples,
 * duration and callbacks onBrush(sel, final), onView(view), onClick(panel, t),
 * onHover(panel, x, y) / onLeave() for the crosshair, and, when mode() is "caliper",
 * onCaliper({p, x0, y0, x1, y1}, final) instead of brushing.
 */
export function attachPointer(canvas, ctl) {
  // ctl.listen(target, event, fn, options): the view's listener registry (torn down with it).
  const on = ctl.listen || ((t, ev, fn, o) => t.addEventListener(ev, fn, o));
  let drag = null;
  const pos = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  on(canvas, "pointerdown", (ev) => {
    if (ev.button !== 0) return;
    const [x, y] = pos(ev);
    const L = ctl.getLayout();
    const p = hitTest(L, x, y);
    if (!p || p.kind === "axis") return;
    canvas.setPointerCapture?.(ev.pointerId);
    const panMode = ev.shiftKey || ev.altKey;
    const caliper = !panMode && ctl.mode?.() === "caliper" && p.kind === "lead";
    drag = { p, x0: x, y0: y, t0: xToTime(p, x), view0: ctl.getView(), pan: panMode, caliper, moved: false };
    ev.preventDefault();
  });
  on(canvas, "pointermove", (ev) => {
    const [x, y] = pos(ev);
    if (!drag) {
      const L = ctl.getLayout();
      const p = L && hitTest(L, x, y);
      if (p && p.kind !== "axis") ctl.onHover?.(p, x, y);
      else ctl.onLeave?.();
      return;
    }
    if (Math.abs(x - drag.x0) > 3 || Math.abs(y - drag.y0) > 3) drag.moved = true;
    if (!drag.moved) return;
    if (drag.caliper) {
      const cx = Math.max(drag.p.x, Math.min(drag.p.x + drag.p.w, x));
      ctl.onCaliper?.({ p: drag.p, x0: drag.x0, y0: drag.y0, x1: cx, y1: y }, false);
      ctl.onHover?.(drag.p, cx, y);
      return;
    }
    if (drag.pan) {
      const dt = -((x - drag.x0) / drag.p.w) * (drag.p.t1 - drag.p.t0);
      ctl.onView(panView(drag.view0, dt, ctl.duration()));
    } else {
      const sel = makeSelection(drag.t0, xToTime(drag.p, x), ctl.fs(), ctl.nSamples());
      if (sel) ctl.onBrush(sel, false);
    }
  });
  const finish = (ev) => {
    if (!drag) return;
    const [x, y] = pos(ev);
    const d = drag;
    drag = null;
    if (!d.moved) {
      ctl.onClick?.(d.p, d.t0);
      return;
    }
    if (d.caliper) {
      const cx = Math.max(d.p.x, Math.min(d.p.x + d.p.w, x));
      ctl.onCaliper?.({ p: d.p, x0: d.x0, y0: d.y0, x1: cx, y1: y }, true);
      return;
    }
    if (!d.pan) {
      const sel = makeSelection(d.t0, xToTime(d.p, x), ctl.fs(), ctl.nSamples());
      if (sel) ctl.onBrush(sel, true);
    }
  };
  on(canvas, "pointerup", finish);
  on(canvas, "pointercancel", () => { drag = null; });
  on(canvas, "pointerleave", () => { if (!drag) ctl.onLeave?.(); });
  on(canvas, "wheel", (ev) => {
    const [x, y] = pos(ev);
    const L = ctl.getLayout();
    const p = hitTest(L, x, y);
    if (!p) return;
    ev.preventDefault();
    if (Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
      const dt = (ev.deltaX / p.w) * (p.t1 - p.t0);
      ctl.onView(panView(ctl.getView(), dt, ctl.duration()));
      return;
    }
    const factor = Math.exp(-ev.deltaY * 0.0015);
    ctl.onView(zoomView(ctl.getView(), xToTime(p, x), factor, ctl.duration()));
  }, { passive: false });
}
