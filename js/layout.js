// Pure geometry of the ECG paper: where each lead panel and the cluster tracks sit,
// and how x maps to seconds. Kept free of DOM so it is unit-tested under node.

export const LAYOUTS = ["12x1", "6x2", "3x4"];
export const MM_PER_S = 25;
export const MM_PER_MV = 10;
export const GAINS = [5, 10, 20];
export const SPEEDS = [25, 50];

const ROW_MV = { "12x1": 2.2, "6x2": 3.0, "3x4": 3.0 };
const COLS = { "12x1": 1, "6x2": 2, "3x4": 4 };

/**
 * @param {object} o
 * @param {string} o.layout  "12x1" | "6x2" | "3x4" (3x4 adds a rhythm strip)
 * @param {number[]} o.leads visible lead indices
 * @param {string[]} o.leadNames
 * @param {number} o.width   CSS pixels
 * @param {number} o.duration record length in seconds
 * @param {number[]} o.view  [t0, t1] visible window in seconds
 * @param {boolean} o.gradcam reserve a Grad-CAM track
 * @param {number} [o.rhythmLead] lead index of the rhythm strip
 * @param {number} [o.gain]  amplitude in mm/mV: 5, 10 (default) or 20; scales the traces and rows
 * @param {number} [o.speed] paper speed in mm/s: 25 (default) or 50; sets the grid in seconds
 * @param {number} [o.scale] font scale (1 … 2) for labels, tracks and margins
 * @param {number} [o.fitHeight] (layout 12x1 only) shrink rows so the whole drawing fits this height (px)
 * @param {boolean} [o.fitAll]  fit every layout, not only 12x1 (presentation mode)
 */
export function computeLayout(o) {
  const layout = LAYOUTS.includes(o.layout) ? o.layout : "12x1";
  const leads = (o.leads && o.leads.length ? o.leads : o.leadNames.map((_, i) => i)).slice();
  const width = Math.max(320, Math.floor(o.width));
  const gain = GAINS.includes(Number(o.gain)) ? Number(o.gain) : MM_PER_MV;
  const speed = SPEEDS.includes(Number(o.speed)) ? Number(o.speed) : MM_PER_S;
  const scale = Math.max(1, Math.min(2, Number(o.scale) || 1));
  const margin = Math.round(64 * (0.4 + 0.6 * scale)); // lead name + 1 mV calibration pulse
  const plotW = width - margin - 8;
  const [v0, v1] = clampView(o.view, o.duration);
  // A millimetre keeps its unzoomed size (the whole record at 25 mm/s fills the width)
  // so rows do not grow when zooming in time; the gain scales the amplitude.
  const pxPerMm0 = plotW / (o.duration * MM_PER_S);
  const pxPerMmT = plotW / ((v1 - v0) * MM_PER_S);
  const pxPerMv = pxPerMm0 * gain;
  const cols = Math.min(COLS[layout], Math.max(1, leads.length));
  const rows = Math.ceil(leads.length / cols);
  let rowH = Math.max(36, Math.round(ROW_MV[layout] * pxPerMv));
  // 12x1 can be taller than the window: with fitHeight the rows shrink (the amplitude
  // scale stays, traces may overlap the neighbouring rows as on paper) so the strip,
  // the uncertainty ribbon and the axis stay in view.
  const tracksH = Math.round((18 + 34 + 22 + 12 + (o.gradcam ? 28 : 0)) * scale) + 4;
  const nRows = rows + (layout === "3x4" ? 1 : 0); // 3x4 adds its rhythm strip
  if ((layout === "12x1" || o.fitAll) && o.fitHeight > 0 && nRows * rowH + tracksH > o.fitHeight) {
    rowH = Math.max(36, Math.floor((o.fitHeight - tracksH) / nRows));
  }
  const colW = plotW / cols;
  const span = (v1 - v0) / cols;
  const top = 4;
  const panels = [];
  // Column-major cells like a printed 12-lead ECG: column c shows the c-th time slice.
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rows; r++) {
      const k = c * rows + r;
      if (k >= leads.length) continue;
      panels.push({
        kind: "lead", lead: leads[k], name: o.leadNames[leads[k]] ?? String(leads[k]),
        x: margin + c * colW, y: top + r * rowH, w: colW, h: rowH,
        t0: v0 + c * span, t1: v0 + (c + 1) * span, col: c, row: r,
      });
    }
  }
  let y = top + rows * rowH;
  if (layout === "3x4") {
    const lead = Number.isInteger(o.rhythmLead) ? o.rhythmLead : Math.min(1, o.leadNames.length - 1);
    panels.push({
      kind: "lead", lead, name: `${o.leadNames[lead] ?? lead} (rhythm)`, x: margin, y, w: plotW,
      h: rowH, t0: v0, t1: v1, col: 0, row: rows, rhythm: true,
    });
    y += rowH;
  }
  y += 6;
  const strip = { kind: "strip", x: margin, y, w: plotW, h: Math.round(18 * scale), t0: v0, t1: v1 };
  y += strip.h + 2;
  const ribbon = { kind: "ribbon", x: margin, y, w: plotW, h: Math.round(34 * scale), t0: v0, t1: v1 };
  y += ribbon.h + 2;
  let gradcam = null;
  if (o.gradcam) {
    gradcam = { kind: "gradcam", x: margin, y, w: plotW, h: Math.round(26 * scale), t0: v0, t1: v1 };
    y += gradcam.h + 2;
  }
  const axis = { kind: "axis", x: margin, y, w: plotW, h: Math.round(22 * scale), t0: v0, t1: v1 };
  y += axis.h;
  return {
    layout, width, height: Math.ceil(y + 2), margin, rowH, overlap: rowH < ROW_MV[layout] * pxPerMv - 1, pxPerMm0, pxPerMmT, pxPerMv, gain, speed, scale,
    // zoom relative to the paper speed (1 = the natural width of the record at this speed)
    zoom: (naturalSpan(o.duration, speed) / (v1 - v0)), view: [v0, v1], panels, strip, ribbon, gradcam, axis,
  };
}

/** Seconds that fill the width at paper speed `speed` (25 mm/s shows the whole record). */
export function naturalSpan(duration, speed) {
  return Math.min(duration, (duration * MM_PER_S) / (SPEEDS.includes(Number(speed)) ? Number(speed) : MM_PER_S));
}

export function clampView(view, duration) {
  let [a, b] = view && view.length === 2 ? view.map(Number) : [0, duration];
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a) return [0, duration];
  const span = Math.min(duration, b - a);
  a = Math.max(0, Math.min(a, duration - span));
  return [a, a + span];
}

export function timeToX(p, t) {
  return p.x + ((t - p.t0) / (p.t1 - p.t0)) * p.w;
}

export function xToTime(p, x) {
  return p.t0 + ((x - p.x) / p.w) * (p.t1 - p.t0);
}

/** The panel or track under (x, y), or null. */
export function hitTest(L, x, y) {
  const all = [...L.panels, L.strip, L.ribbon, L.gradcam, L.axis].filter(Boolean);
  for (const p of all) {
    if (x >= p.x && x <= p.x + p.w && y >= p.y && y <= p.y + p.h) return p;
  }
  return null;
}

/** Nice tick step (seconds) giving roughly `target` ticks over `span`. */
export function tickStep(span, target = 10) {
  const raw = span / Math.max(1, target);
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) {
    if (m * pow >= raw) return m * pow;
  }
  return 10 * pow;
}
