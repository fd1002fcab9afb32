// ECG paper: 1 mm / 5 mm grid at 25 mm/s and 10 mm/mV, calibration pulse, traces
// (min/max decimated when several samples share a pixel), time axis in seconds.

import { luminance } from "./color.js";
import { tickStep, timeToX } from "./layout.js";

/** Colours from the JupyterLab theme variables, with light/dark fallbacks. */
export function readTheme(el) {
  const cs = typeof getComputedStyle === "function" ? getComputedStyle(el) : null;
  const v = (name, fb) => (cs && cs.getPropertyValue(name).trim()) || fb;
  const prefersDark = typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
  const bg = v("--jp-layout-color0", prefersDark ? "#111111" : "#ffffff");
  const dark = luminance(bg) < 0.3;
  return {
    dark,
    bg,
    fg: v("--jp-ui-font-color1", dark ? "#e0e0e0" : "#202020"),
    muted: v("--jp-ui-font-color2", dark ? "#a0a0a0" : "#606060"),
    paper: dark ? "#1b1416" : "#fff8f8",
    gridMinor: dark ? "rgba(220,80,90,0.16)" : "rgba(230,120,130,0.25)",
    gridMajor: dark ? "rgba(230,90,100,0.38)" : "rgba(215,80,95,0.55)",
    trace: dark ? "#f2f2f2" : "#111111",
    track: dark ? "#222222" : "#f2f2f2",
    ribbonLine: dark ? "#ffb000" : "#b35900",
    ribbonFill: dark ? "rgba(255,176,0,0.35)" : "rgba(179,89,0,0.25)",
    camLine: dark ? "#ff5e78" : "#c0003c",
    camFill: dark ? "rgba(255,94,120,0.3)" : "rgba(192,0,60,0.2)",
    select: dark ? "rgba(120,180,255,0.25)" : "rgba(30,100,220,0.18)",
    selectEdge: dark ? "#8cc4ff" : "#1e64dc",
    labelBg: dark ? "rgba(27,20,22,0.85)" : "rgba(255,248,248,0.85)",
    cross: dark ? "rgba(255,255,255,0.75)" : "rgba(0,0,0,0.7)",
    caliper: dark ? "#ffd34d" : "#00695c",
  };
}

/** Paper background and grid of one lead panel. */
export function drawGrid(ctx, p, L, theme) {
  ctx.fillStyle = theme.paper;
  ctx.fillRect(p.x, p.y, p.w, p.h);
  const pxS = p.w / (p.t1 - p.t0); // px per second in this panel
  const minor = 1 / (L.speed || 25); // 1 mm at the paper speed
  const drawMinor = pxS * minor >= 3;
  ctx.lineWidth = 1;
  const vlines = (step, style) => {
    ctx.strokeStyle = style;
    ctx.beginPath();
    const k0 = Math.ceil(p.t0 / step - 1e-9);
    for (let k = k0; k * step <= p.t1 + 1e-9; k++) {
      const x = Math.round(timeToX(p, k * step)) + 0.5;
      ctx.moveTo(x, p.y);
      ctx.lineTo(x, p.y + p.h);
    }
    ctx.stroke();
  };
  const mid = p.y + p.h / 2;
  const hlines = (mv, style) => {
    const step = mv * L.pxPerMv;
    ctx.strokeStyle = style;
    ctx.beginPath();
    const n = Math.ceil(p.h / 2 / step);
    for (let k = -n; k <= n; k++) {
      const y = Math.round(mid + k * step) + 0.5;
      if (y < p.y || y > p.y + p.h) continue;
      ctx.moveTo(p.x, y);
      ctx.lineTo(p.x + p.w, y);
    }
    ctx.stroke();
  };
  if (drawMinor) vlines(minor, theme.gridMinor);
  if (L.pxPerMv * 0.1 >= 3) hlines(0.1, theme.gridMinor);
  vlines(5 * minor, theme.gridMajor);
  hlines(0.5, theme.gridMajor);
}

/** Lead trace, centred on the panel's median so wander does not push it off-row. */
export function drawTrace(ctx, p, L, sig, offset, n, fs, theme, center) {
  const mid = p.y + p.h / 2;
  const i0 = Math.max(0, Math.floor(p.t0 * fs));
  const i1 = Math.min(n, Math.ceil(p.t1 * fs) + 1);
  if (i1 - i0 < 2) return;
  const yOf = (v) => mid - (v - center) * L.pxPerMv;
  ctx.save();
  ctx.beginPath();
  // Fitted rows let a tall QRS run into the neighbouring rows, as on paper.
  const spill = L.overlap ? p.h * 0.6 : 0;
  ctx.rect(p.x, p.y - spill, p.w, p.h + 2 * spill);
  ctx.clip();
  ctx.strokeStyle = theme.trace;
  ctx.lineWidth = 1.1;
  ctx.lineJoin = "round";
  ctx.beginPath();
  const perPx = (i1 - i0) / p.w;
  if (perPx > 2) {
    // min/max per pixel column keeps QRS peaks visible without drawing every sample.
    let col = -1;
    let lo = 0;
    let hi = 0;
    let first = true;
    const flush = () => {
      const x = p.x + col + 0.5;
      if (first) { ctx.moveTo(x, yOf(lo)); first = false; } else ctx.lineTo(x, yOf(lo));
      ctx.lineTo(x, yOf(hi));
    };
    for (let i = i0; i < i1; i++) {
      const c = Math.floor(timeToX(p, i / fs) - p.x);
      const v = sig[offset + i];
      if (c !== col) {
        if (col >= 0) flush();
        col = c; lo = v; hi = v;
      } else {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (col >= 0) flush();
  } else {
    for (let i = i0; i < i1; i++) {
      const x = timeToX(p, i / fs);
      const y = yOf(sig[offset + i]);
      if (i === i0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
  }
  ctx.stroke();
  ctx.restore();
}

/** Median of a lead (sampled), used as the row's baseline. */
export function leadCenter(sig, offset, n) {
  const step = Math.max(1, Math.floor(n / 400));
  const vals = [];
  for (let i = 0; i < n; i += step) vals.push(sig[offset + i]);
  vals.sort((a, b) => a - b);
  return vals.length ? vals[Math.floor(vals.length / 2)] : 0;
}

/** 1 mV x 0.2 s calibration pulse in the left margin plus the lead name. */
export function drawCalibration(ctx, p, L, theme) {
  const mid = p.y + p.h / 2;
  const base = mid + 0.5 * L.pxPerMv;
  const top = base - L.pxPerMv;
  const w = 0.2 * 25 * L.pxPerMm0;
  const x0 = p.x - w - 10;
  ctx.strokeStyle = theme.fg;
  ctx.lineWidth = 1.2;
  ctx.beginPath();
  ctx.moveTo(x0 - 4, base);
  ctx.lineTo(x0, base);
  ctx.lineTo(x0, top);
  ctx.lineTo(x0 + w, top);
  ctx.lineTo(x0 + w, base);
  ctx.lineTo(x0 + w + 4, base);
  ctx.stroke();
}

/** Lead name, and for later columns of 6x2 / 3x4 a divider marking the time jump. */
export function drawLeadLabel(ctx, p, theme, scale = 1, top = 0) {
  if (p.col > 0) {
    ctx.strokeStyle = theme.fg;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(Math.round(p.x) + 0.5, p.y + p.h * 0.3);
    ctx.lineTo(Math.round(p.x) + 0.5, p.y + p.h * 0.7);
    ctx.stroke();
  }
  const px = Math.round(12 * scale);
  ctx.font = `bold ${px}px sans-serif`;
  ctx.textBaseline = "top";
  const w = ctx.measureText(p.name).width;
  // A paper-coloured box keeps the name readable over bands and grid.
  ctx.fillStyle = theme.labelBg;
  ctx.fillRect(p.x + 2, p.y + top + 1, w + 5, px + 3);
  ctx.fillStyle = theme.fg;
  ctx.fillText(p.name, p.x + 4, p.y + top + 2);
}

/** Seconds axis under the tracks plus the paper-speed legend. */
export function drawAxis(ctx, p, L, theme) {
  const step = tickStep(p.t1 - p.t0, Math.max(4, Math.floor(p.w / 70)));
  ctx.strokeStyle = theme.muted;
  ctx.fillStyle = theme.fg;
  const sc = L.scale || 1;
  ctx.font = `${Math.round(11 * sc)}px sans-serif`;
  ctx.textBaseline = "top";
  ctx.beginPath();
  ctx.moveTo(p.x, p.y + 0.5);
  ctx.lineTo(p.x + p.w, p.y + 0.5);
  const k0 = Math.ceil(p.t0 / step - 1e-9);
  for (let k = k0; k * step <= p.t1 + 1e-9; k++) {
    const x = Math.round(timeToX(p, k * step)) + 0.5;
    ctx.moveTo(x, p.y);
    ctx.lineTo(x, p.y + 4);
    const label = `${Number((k * step).toFixed(3))} s`;
    // Right-most label is right-aligned so it is not clipped at the canvas edge.
    const w = ctx.measureText(label).width;
    ctx.fillText(label, x + 2 + w > p.x + p.w ? x - w - 2 : x + 2, p.y + 5);
  }
  ctx.stroke();
  ctx.fillStyle = theme.muted;
  const zoom = L.zoom > 1.01 ? ` ×${L.zoom.toFixed(1)}` : "";
  const px = Math.round(10 * sc);
  ctx.font = `${px}px sans-serif`;
  ctx.fillText(`${L.speed || 25} mm/s${zoom}`, p.x - L.margin + 2, p.y + 2);
  ctx.fillText(`${L.gain || 10} mm/mV`, p.x - L.margin + 2, p.y + 3 + px);
}
