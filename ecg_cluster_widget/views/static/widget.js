// palette.js
var PALETTE = [
  "#4075AD",
  "#A7811E",
  "#1F986D",
  "#A8390A",
  "#8D0476",
  "#3C990F",
  "#A05C85",
  "#5033AD",
  "#38531C",
  "#94182B",
  "#78A85D",
  "#97683C",
  "#97A31B",
  "#543E85",
  "#3A6A04",
  "#24ACAD"
];
var PALETTE_DARK = [
  "#90BEFB",
  "#FACB68",
  "#78E6B6",
  "#FF8350",
  "#DE62C0",
  "#8EE862",
  "#EFA5D0",
  "#A178FD",
  "#7E995E",
  "#E8686C",
  "#C4F7A6",
  "#E8B081",
  "#E8F06C",
  "#9E83D1",
  "#84B451",
  "#84FBFC"
];
var HATCHES = ["none", "diag", "cross", "dots", "horiz", "vert", "backdiag", "grid"];
function idKey(id) {
  const n = Math.trunc(Number(id));
  return Number.isFinite(n) && n >= 0 ? n : 0;
}
function assignSlots(ids) {
  const n = PALETTE.length;
  const sorted = [...new Set([...ids || []].map(idKey))].sort((a, b) => a - b);
  const out = /* @__PURE__ */ new Map();
  const used = /* @__PURE__ */ new Set();
  for (const id of sorted) {
    if (!used.has(id % n)) {
      used.add(id % n);
      out.set(id, id % n);
    }
  }
  for (const id of sorted) {
    if (out.has(id)) continue;
    let s = id % n;
    for (let k = 0; k < n && used.has(s); k++) s = (s + 1) % n;
    used.add(s);
    out.set(id, s);
  }
  return new Map(sorted.map((id) => [id, out.get(id)]));
}
function userName(id, labels) {
  const entry = labels && labels[String(id)];
  return entry && typeof entry.name === "string" ? entry.name.trim() : "";
}
function makePalette(ids, dark = false) {
  const slots = assignSlots(ids);
  const order = [...slots.keys()];
  const nums = new Map(order.map((id, i) => [id, i + 1]));
  const cols = dark ? PALETTE_DARK : PALETTE;
  const slot = (id) => {
    const k = idKey(id);
    return slots.has(k) ? slots.get(k) : k % cols.length;
  };
  const num = (id) => nums.get(idKey(id)) ?? null;
  const short = (id) => num(id) != null ? String(num(id)) : `#${idKey(id)}`;
  return {
    ids: order,
    dark,
    slot,
    num,
    short,
    color: (id) => cols[slot(id)],
    hatch: (id) => HATCHES[slot(id) % HATCHES.length],
    /** the expert's name, or "" */
    userName,
    /** "QRS complex" or "cluster 3" */
    name: (id, labels) => userName(id, labels) || `cluster ${short(id)}`,
    /** "3 QRS complex" or "3": narrow places (strip, tooltip) */
    tag: (id, labels) => {
      const n = userName(id, labels);
      return n ? `${short(id)} ${n}` : short(id);
    },
    /**
     * Title with fallbacks: {text, proposed, inherited}. "3 · QRS complex" (the expert's
     * name), "3 · part of QRS complex" (no name of its own: the name of its nearest named
     * ancestor in the cluster tree, `inherited`), "3 · QRS complex?" (a proposal,
     * proposed: true) or "cluster 3".
     * @param {number} id
     * @param {Object<string, {name: string}>|null|undefined} labels
     * @param {string} [proposal]
     * @param {number[]} [ancestors]  ids at K-1, K-2, ... (explain/browse.py cards)
     * @returns {{text: string, proposed: boolean, inherited: string}}
     */
    titleOrProposal: (id, labels, proposal, ancestors = []) => {
      const n = userName(id, labels);
      if (n) return { text: `${short(id)} \xB7 ${n}`, proposed: false, inherited: "" };
      for (const a of ancestors || []) {
        const an = userName(a, labels);
        if (an) return { text: `${short(id)} \xB7 part of ${an}`, proposed: false, inherited: an };
      }
      const p = String(proposal || "").trim();
      return p ? { text: `${short(id)} \xB7 ${p}?`, proposed: true, inherited: "" } : { text: `cluster ${short(id)}`, proposed: false, inherited: "" };
    },
    /** "3 · QRS complex" or "cluster 3": titles */
    title: (id, labels) => {
      const n = userName(id, labels);
      return n ? `${short(id)} \xB7 ${n}` : `cluster ${short(id)}`;
    }
  };
}
var patternCache = /* @__PURE__ */ new Map();
function hatchPattern(ctx, kind, stroke) {
  if (!kind || kind === "none" || typeof document === "undefined") return null;
  const key = `${kind}|${stroke}`;
  let byCtx = patternCache.get(ctx);
  if (!byCtx) {
    byCtx = /* @__PURE__ */ new Map();
    patternCache.set(ctx, byCtx);
  }
  if (byCtx.has(key)) return byCtx.get(key);
  const size = 8;
  const c = document.createElement("canvas");
  c.width = size;
  c.height = size;
  const g = c.getContext("2d");
  g.strokeStyle = stroke;
  g.fillStyle = stroke;
  g.lineWidth = 1.2;
  g.beginPath();
  if (kind === "diag" || kind === "cross") {
    g.moveTo(0, size);
    g.lineTo(size, 0);
  }
  if (kind === "backdiag" || kind === "cross") {
    g.moveTo(0, 0);
    g.lineTo(size, size);
  }
  if (kind === "horiz" || kind === "grid") {
    g.moveTo(0, size / 2);
    g.lineTo(size, size / 2);
  }
  if (kind === "vert" || kind === "grid") {
    g.moveTo(size / 2, 0);
    g.lineTo(size / 2, size);
  }
  g.stroke();
  if (kind === "dots") {
    g.fillRect(2, 2, 3, 3);
  }
  const pat = ctx.createPattern(c, "repeat");
  byCtx.set(key, pat);
  return pat;
}

// color.js
function hexRgb(hex) {
  const h2 = String(hex).replace("#", "");
  const full = h2.length === 3 ? h2.split("").map((c) => c + c).join("") : h2;
  return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16));
}
function withAlpha(hex, alpha) {
  return `rgba(${hexRgb(hex).join(",")},${alpha})`;
}
function luminance(color) {
  const m = /rgba?\(([^)]+)\)/.exec(color || "");
  const [r, g, b] = m ? m[1].split(",").map((x) => parseFloat(x)) : hexRgb(color || "#ffffff");
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}
function textColorOn(bg) {
  return luminance(bg) > 0.2 ? "#000000" : "#ffffff";
}

// layout.js
var LAYOUTS = ["12x1", "6x2", "3x4"];
var MM_PER_S = 25;
var MM_PER_MV = 10;
var GAINS = [5, 10, 20];
var SPEEDS = [25, 50];
var ROW_MV = { "12x1": 2.2, "6x2": 3, "3x4": 3 };
var COLS = { "12x1": 1, "6x2": 2, "3x4": 4 };
function computeLayout(o) {
  const layout = LAYOUTS.includes(o.layout) ? o.layout : "12x1";
  const leads = (o.leads && o.leads.length ? o.leads : o.leadNames.map((_, i) => i)).slice();
  const width = Math.max(320, Math.floor(o.width));
  const gain = GAINS.includes(Number(o.gain)) ? Number(o.gain) : MM_PER_MV;
  const speed = SPEEDS.includes(Number(o.speed)) ? Number(o.speed) : MM_PER_S;
  const scale = Math.max(1, Math.min(2, Number(o.scale) || 1));
  const margin = Math.round(64 * (0.4 + 0.6 * scale));
  const plotW = width - margin - 8;
  const [v0, v1] = clampView(o.view, o.duration);
  const pxPerMm0 = plotW / (o.duration * MM_PER_S);
  const pxPerMmT = plotW / ((v1 - v0) * MM_PER_S);
  const pxPerMv = pxPerMm0 * gain;
  const cols = Math.min(COLS[layout], Math.max(1, leads.length));
  const rows = Math.ceil(leads.length / cols);
  let rowH = Math.max(36, Math.round(ROW_MV[layout] * pxPerMv));
  const tracksH = Math.round((18 + 34 + 22 + 12 + (o.gradcam ? 28 : 0)) * scale) + 4;
  const nRows = rows + (layout === "3x4" ? 1 : 0);
  if ((layout === "12x1" || o.fitAll) && o.fitHeight > 0 && nRows * rowH + tracksH > o.fitHeight) {
    rowH = Math.max(36, Math.floor((o.fitHeight - tracksH) / nRows));
  }
  const colW = plotW / cols;
  const span = (v1 - v0) / cols;
  const top = 4;
  const panels = [];
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rows; r++) {
      const k = c * rows + r;
      if (k >= leads.length) continue;
      panels.push({
        kind: "lead",
        lead: leads[k],
        name: o.leadNames[leads[k]] ?? String(leads[k]),
        x: margin + c * colW,
        y: top + r * rowH,
        w: colW,
        h: rowH,
        t0: v0 + c * span,
        t1: v0 + (c + 1) * span,
        col: c,
        row: r
      });
    }
  }
  let y = top + rows * rowH;
  if (layout === "3x4") {
    const lead = Number.isInteger(o.rhythmLead) ? o.rhythmLead : Math.min(1, o.leadNames.length - 1);
    panels.push({
      kind: "lead",
      lead,
      name: `${o.leadNames[lead] ?? lead} (rhythm)`,
      x: margin,
      y,
      w: plotW,
      h: rowH,
      t0: v0,
      t1: v1,
      col: 0,
      row: rows,
      rhythm: true
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
    layout,
    width,
    height: Math.ceil(y + 2),
    margin,
    rowH,
    overlap: rowH < ROW_MV[layout] * pxPerMv - 1,
    pxPerMm0,
    pxPerMmT,
    pxPerMv,
    gain,
    speed,
    scale,
    // zoom relative to the paper speed (1 = the natural width of the record at this speed)
    zoom: naturalSpan(o.duration, speed) / (v1 - v0),
    view: [v0, v1],
    panels,
    strip,
    ribbon,
    gradcam,
    axis
  };
}
function naturalSpan(duration, speed) {
  return Math.min(duration, duration * MM_PER_S / (SPEEDS.includes(Number(speed)) ? Number(speed) : MM_PER_S));
}
function clampView(view, duration) {
  let [a, b] = view && view.length === 2 ? view.map(Number) : [0, duration];
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a) return [0, duration];
  const span = Math.min(duration, b - a);
  a = Math.max(0, Math.min(a, duration - span));
  return [a, a + span];
}
function timeToX(p, t) {
  return p.x + (t - p.t0) / (p.t1 - p.t0) * p.w;
}
function xToTime(p, x) {
  return p.t0 + (x - p.x) / p.w * (p.t1 - p.t0);
}
function hitTest(L, x, y) {
  const all = [...L.panels, L.strip, L.ribbon, L.gradcam, L.axis].filter(Boolean);
  for (const p of all) {
    if (x >= p.x && x <= p.x + p.w && y >= p.y && y <= p.y + p.h) return p;
  }
  return null;
}
function tickStep(span, target = 10) {
  const raw = span / Math.max(1, target);
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) {
    if (m * pow >= raw) return m * pow;
  }
  return 10 * pow;
}

// bands.js
function runs(ids) {
  const out = [];
  const n = ids.length;
  let s = 0;
  for (let i = 1; i <= n; i++) {
    if (i === n || ids[i] !== ids[s]) {
      out.push({ start: s, end: i, id: ids[s] });
      s = i;
    }
  }
  return out;
}
function occurrences(segs, id) {
  return segs.filter((r) => r.id === id);
}
function selectionSummary(ids, entropy, gradcam, start, end) {
  const a = Math.max(0, Math.min(start, ids.length));
  const b = Math.max(a, Math.min(end, ids.length));
  const n = b - a;
  const acc = /* @__PURE__ */ new Map();
  let hsum = 0;
  for (let i = a; i < b; i++) {
    const id = ids[i];
    const e = entropy ? entropy[i] : 0;
    const c = acc.get(id) || { id, count: 0, hsum: 0 };
    c.count += 1;
    c.hsum += e;
    acc.set(id, c);
    hsum += e;
  }
  const clusters = [...acc.values()].map((c) => ({ id: c.id, share: n ? c.count / n : 0, mean_entropy: c.count ? c.hsum / c.count : 0 })).sort((x, y) => y.share - x.share || x.id - y.id);
  let gshare = null;
  if (gradcam && gradcam.length === ids.length) {
    let tot = 0;
    let win = 0;
    for (let i = 0; i < gradcam.length; i++) {
      tot += gradcam[i];
      if (i >= a && i < b) win += gradcam[i];
    }
    gshare = tot > 0 ? win / tot : 0;
  }
  return { n, clusters, mean_entropy: n ? hsum / n : 0, gradcam_share: gshare };
}
function visibleRange(p, fs, n) {
  const i0 = Math.max(0, Math.floor(p.t0 * fs));
  const i1 = Math.min(n, Math.ceil(p.t1 * fs) + 1);
  return [i0, i1];
}
var BAND_STYLES = ["light", "strong", "lead", "strip"];
var TINT = { light: 0.2, strong: 0.42, lead: 0.42, strip: 0 };
function bandAlpha(style, id, highlight, onChosenLead) {
  const st = BAND_STYLES.includes(style) ? style : "light";
  let a = TINT[st];
  if (st === "lead" && !onChosenLead) a = 0;
  if (highlight != null) {
    if (id === highlight) return Math.max(0.42, a);
    return a * 0.3;
  }
  return a;
}
function clipX(p, fs, r) {
  const t0 = r.start / fs;
  const t1 = r.end / fs;
  if (t1 < p.t0 || t0 > p.t1) return null;
  const x0 = Math.max(p.x, timeToX(p, t0));
  const x1 = Math.min(p.x + p.w, timeToX(p, t1));
  return x1 > x0 ? [x0, x1] : null;
}
function drawPanelBands(ctx, p, segs, fs, opts) {
  const { pal, style = "light", highlight = null, chosen = false } = opts || {};
  for (const r of segs) {
    const a = bandAlpha(style, r.id, highlight, chosen);
    if (a <= 0) continue;
    const xs = clipX(p, fs, r);
    if (!xs) continue;
    ctx.fillStyle = withAlpha(pal.color(r.id), a);
    ctx.fillRect(xs[0], p.y, xs[1] - xs[0], p.h);
  }
}
function drawPanelCap(ctx, p, segs, fs, opts) {
  const { pal, highlight = null, theme, fontPx = 9, capH = 6 } = opts || {};
  ctx.save();
  ctx.beginPath();
  ctx.rect(p.x, p.y, p.w, p.h);
  ctx.clip();
  ctx.font = `bold ${fontPx}px sans-serif`;
  ctx.textBaseline = "top";
  for (const r of segs) {
    const xs = clipX(p, fs, r);
    if (!xs) continue;
    const [x0, x1] = xs;
    const col = pal.color(r.id);
    ctx.globalAlpha = highlight != null && r.id !== highlight ? 0.3 : 1;
    ctx.fillStyle = col;
    ctx.fillRect(x0, p.y, x1 - x0, capH);
    const pat = hatchPattern(ctx, pal.hatch(r.id), withAlpha(textColorOn(col), 0.7));
    if (pat) {
      ctx.fillStyle = pat;
      ctx.fillRect(x0, p.y, x1 - x0, capH);
    }
    ctx.strokeStyle = theme ? theme.fg : "#000";
    ctx.globalAlpha *= 0.5;
    ctx.beginPath();
    ctx.moveTo(Math.round(x0) + 0.5, p.y);
    ctx.lineTo(Math.round(x0) + 0.5, p.y + capH + 3);
    ctx.stroke();
    ctx.globalAlpha = highlight != null && r.id !== highlight ? 0.3 : 1;
    const label = pal.short(r.id);
    if (x1 - x0 > ctx.measureText(label).width + 24 && p.h > 40) {
      ctx.fillStyle = theme ? theme.fg : "#000";
      ctx.fillText(label, x0 + 3, p.y + capH + 1);
    }
  }
  ctx.restore();
}
function drawStrip(ctx, p, segs, fs, labels, highlight, pal, fontPx = 10) {
  ctx.save();
  ctx.beginPath();
  ctx.rect(p.x, p.y, p.w, p.h);
  ctx.clip();
  ctx.font = `bold ${fontPx}px sans-serif`;
  ctx.textBaseline = "middle";
  for (const r of segs) {
    const xs = clipX(p, fs, r);
    if (!xs) continue;
    const [x0, x1] = xs;
    const col = pal.color(r.id);
    ctx.globalAlpha = highlight != null && r.id !== highlight ? 0.3 : 1;
    ctx.fillStyle = col;
    ctx.fillRect(x0, p.y, x1 - x0, p.h);
    const pat = hatchPattern(ctx, pal.hatch(r.id), withAlpha(textColorOn(col), 0.5));
    if (pat) {
      ctx.fillStyle = pat;
      ctx.fillRect(x0, p.y, x1 - x0, p.h);
    }
    const long = pal.tag(r.id, labels);
    const tag = x1 - x0 > ctx.measureText(long).width + 8 ? long : pal.short(r.id);
    if (x1 - x0 > ctx.measureText(tag).width + 6) {
      const tw = ctx.measureText(tag).width;
      ctx.fillStyle = withAlpha(col, 0.85);
      ctx.fillRect(x0 + 1, p.y + 2, tw + 4, p.h - 4);
      ctx.fillStyle = textColorOn(col);
      ctx.fillText(tag, x0 + 3, p.y + p.h / 2);
    }
  }
  ctx.restore();
}
function drawSeries(ctx, p, values, fs, color, fill) {
  const [i0, i1] = visibleRange(p, fs, values.length);
  if (i1 - i0 < 1) return;
  ctx.save();
  ctx.beginPath();
  ctx.rect(p.x, p.y, p.w, p.h);
  ctx.clip();
  ctx.beginPath();
  ctx.moveTo(timeToX(p, i0 / fs), p.y + p.h);
  for (let i = i0; i < i1; i++) {
    const v = Math.max(0, Math.min(1, values[i]));
    ctx.lineTo(timeToX(p, i / fs), p.y + p.h - v * (p.h - 2));
  }
  ctx.lineTo(timeToX(p, (i1 - 1) / fs), p.y + p.h);
  ctx.closePath();
  ctx.fillStyle = fill;
  ctx.fill();
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.stroke();
  ctx.restore();
}
function drawRibbon(ctx, p, entropy, fs, theme, margin = 64, scale = 1, relative = false) {
  ctx.fillStyle = theme.track;
  ctx.fillRect(p.x, p.y, p.w, p.h);
  drawSeries(ctx, p, entropy, fs, theme.ribbonLine, theme.ribbonFill);
  ctx.fillStyle = theme.muted;
  const px = Math.round(10 * scale);
  ctx.font = `${px}px sans-serif`;
  ctx.textBaseline = "top";
  ctx.fillText("uncertainty", p.x - margin + 2, p.y + 2);
  if (relative) ctx.fillText("percentile", p.x - margin + 2, p.y + 3 + px);
}
function percentileRanks(values, quantiles) {
  const q = quantiles || [];
  const m = q.length;
  if (m < 2) return values;
  const out = new Float32Array(values.length);
  const lower = (v, strict) => {
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = lo + hi >> 1;
      if (strict ? q[mid] <= v : q[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const a = lower(v, false);
    const b = lower(v, true);
    if (b > a) out[i] = (a + b - 1) / 2 / (m - 1);
    else if (a <= 0) out[i] = 0;
    else if (a >= m) out[i] = 1;
    else out[i] = (a - 1 + (v - q[a - 1]) / (q[a] - q[a - 1])) / (m - 1);
  }
  return out;
}
function drawGradcam(ctx, p, cam, fs, theme, label, margin = 64, scale = 1) {
  ctx.fillStyle = theme.track;
  ctx.fillRect(p.x, p.y, p.w, p.h);
  drawSeries(ctx, p, cam, fs, theme.camLine, theme.camFill);
  ctx.fillStyle = theme.muted;
  const px = Math.round(10 * scale);
  ctx.font = `${px}px sans-serif`;
  ctx.textBaseline = "top";
  ctx.fillText("Grad-CAM", p.x - margin + 2, p.y + 2);
  if (label) ctx.fillText(label, p.x - margin + 2, p.y + 3 + px);
}
function drawPanelGradcam(ctx, p, cam, fs, theme) {
  const [i0, i1] = visibleRange(p, fs, cam.length);
  if (i1 - i0 < 2) return;
  const step = Math.max(1, Math.floor((i1 - i0) / p.w));
  const hMax = p.h * 0.25;
  ctx.save();
  ctx.beginPath();
  ctx.rect(p.x, p.y, p.w, p.h);
  ctx.clip();
  ctx.beginPath();
  ctx.moveTo(timeToX(p, i0 / fs), p.y + p.h);
  for (let i = i0; i < i1; i += step) {
    const v = Math.max(0, Math.min(1, cam[i]));
    ctx.lineTo(timeToX(p, i / fs), p.y + p.h - v * hMax);
  }
  ctx.lineTo(timeToX(p, (i1 - 1) / fs), p.y + p.h);
  ctx.closePath();
  ctx.fillStyle = theme.camFill;
  ctx.fill();
  ctx.restore();
}
function stepOccurrence(occ, cur, dir, viewStart, viewEnd) {
  const n = occ.length;
  if (!n) return -1;
  if (Number.isInteger(cur) && cur >= 0 && cur < n) return ((cur + (dir >= 0 ? 1 : -1)) % n + n) % n;
  if (dir >= 0) {
    const i = occ.findIndex((r) => r.end > viewStart);
    return i >= 0 ? i : 0;
  }
  for (let i = n - 1; i >= 0; i--) if (occ[i].start < viewEnd) return i;
  return n - 1;
}
function valueAt(arr, t, fs) {
  if (!arr || !arr.length) return null;
  const i = Math.round(t * fs);
  return i >= 0 && i < arr.length ? arr[i] : null;
}

// decode.js
var TYPED = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array
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
  if (bytes.byteOffset % width === 0) return bytes;
  return bytes.slice();
}
function decodeArray(value) {
  if (value == null) return { data: new Float32Array(0), shape: [0], dtype: "float32" };
  const Typed = TYPED[value.dtype];
  if (!Typed) throw new TypeError(`unknown array dtype ${value.dtype}`);
  const b = aligned(toBytes(value.buffer), Typed.BYTES_PER_ELEMENT);
  const data = new Typed(b.buffer, b.byteOffset, Math.floor(b.byteLength / Typed.BYTES_PER_ELEMENT));
  const shape = Array.isArray(value.shape) ? value.shape.map(Number) : [data.length];
  checkShape(data, shape, `array (${value.dtype})`);
  return { data, shape, dtype: value.dtype };
}
function checkShape(arr, shape, what) {
  const n = shape.reduce((a, b) => a * b, 1);
  if (arr.length !== n) {
    throw new Error(`${what}: got ${arr.length} values for shape [${shape.join(", ")}]`);
  }
  return n;
}
function decodeResponse(model) {
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
    rec,
    nL,
    nS,
    fs: rec.fs || 1,
    sig: sig.length === nL * nS ? sig : new Float32Array(nL * nS),
    ids,
    segs: runs(ids),
    ent,
    cam: cam.length === nS ? cam : null,
    // Uncertainty relative to the dataset (percentile rank); absolute values stay in ent.
    entPct: percentileRanks(ent, rec.entropy_quantiles),
    relative: (rec.entropy_quantiles || []).length > 1,
    clusters,
    clusterIds: rec.cluster_ids || clusters.map((c) => c.id),
    protos: protos.data,
    protoShape: protos.shape,
    snips: snips.data,
    snipShape: snips.shape,
    responseId: model.get("response_id")
  };
}

// brush.js
function zoomView(view, center, factor, duration, minSpan = 0.2) {
  const [a, b] = view;
  const span = Math.min(duration, Math.max(minSpan, (b - a) / factor));
  const frac = (center - a) / (b - a);
  let na = center - frac * span;
  na = Math.max(0, Math.min(na, duration - span));
  return [na, na + span];
}
function panView(view, dt, duration) {
  const span = view[1] - view[0];
  const na = Math.max(0, Math.min(view[0] + dt, duration - span));
  return [na, na + span];
}
function makeSelection(t0, t1, fs, nSamples, minSeconds = 0.02) {
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
function caliperReading(p, x0, y0, x1, y1, pxPerMv) {
  const t0 = p.t0 + (x0 - p.x) / p.w * (p.t1 - p.t0);
  const t1 = p.t0 + (x1 - p.x) / p.w * (p.t1 - p.t0);
  const ms = Math.abs(t1 - t0) * 1e3;
  return {
    t0: Math.min(t0, t1),
    t1: Math.max(t0, t1),
    ms,
    bpm: ms > 0 ? 6e4 / ms : null,
    mv: pxPerMv > 0 ? (y0 - y1) / pxPerMv : 0
  };
}
function attachPointer(canvas, ctl) {
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
  on(canvas, "pointercancel", () => {
    drag = null;
  });
  on(canvas, "pointerleave", () => {
    if (!drag) ctl.onLeave?.();
  });
  on(canvas, "wheel", (ev) => {
    const [x, y] = pos(ev);
    const L = ctl.getLayout();
    const p = hitTest(L, x, y);
    if (!p) return;
    ev.preventDefault();
    if (Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
      const dt = ev.deltaX / p.w * (p.t1 - p.t0);
      ctl.onView(panView(ctl.getView(), dt, ctl.duration()));
      return;
    }
    const factor = Math.exp(-ev.deltaY * 15e-4);
    ctl.onView(zoomView(ctl.getView(), xToTime(p, x), factor, ctl.duration()));
  }, { passive: false });
}

// ecg_view.js
function readTheme(el) {
  const cs = typeof getComputedStyle === "function" ? getComputedStyle(el) : null;
  const v = (name, fb) => cs && cs.getPropertyValue(name).trim() || fb;
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
    caliper: dark ? "#ffd34d" : "#00695c"
  };
}
function drawGrid(ctx, p, L, theme) {
  ctx.fillStyle = theme.paper;
  ctx.fillRect(p.x, p.y, p.w, p.h);
  const pxS = p.w / (p.t1 - p.t0);
  const minor = 1 / (L.speed || 25);
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
function drawTrace(ctx, p, L, sig, offset, n, fs, theme, center) {
  const mid = p.y + p.h / 2;
  const i0 = Math.max(0, Math.floor(p.t0 * fs));
  const i1 = Math.min(n, Math.ceil(p.t1 * fs) + 1);
  if (i1 - i0 < 2) return;
  const yOf = (v) => mid - (v - center) * L.pxPerMv;
  ctx.save();
  ctx.beginPath();
  const spill = L.overlap ? p.h * 0.6 : 0;
  ctx.rect(p.x, p.y - spill, p.w, p.h + 2 * spill);
  ctx.clip();
  ctx.strokeStyle = theme.trace;
  ctx.lineWidth = 1.1;
  ctx.lineJoin = "round";
  ctx.beginPath();
  const perPx = (i1 - i0) / p.w;
  if (perPx > 2) {
    let col = -1;
    let lo = 0;
    let hi = 0;
    let first = true;
    const flush = () => {
      const x = p.x + col + 0.5;
      if (first) {
        ctx.moveTo(x, yOf(lo));
        first = false;
      } else ctx.lineTo(x, yOf(lo));
      ctx.lineTo(x, yOf(hi));
    };
    for (let i = i0; i < i1; i++) {
      const c = Math.floor(timeToX(p, i / fs) - p.x);
      const v = sig[offset + i];
      if (c !== col) {
        if (col >= 0) flush();
        col = c;
        lo = v;
        hi = v;
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
      if (i === i0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
  }
  ctx.stroke();
  ctx.restore();
}
function leadCenter(sig, offset, n) {
  const step = Math.max(1, Math.floor(n / 400));
  const vals = [];
  for (let i = 0; i < n; i += step) vals.push(sig[offset + i]);
  vals.sort((a, b) => a - b);
  return vals.length ? vals[Math.floor(vals.length / 2)] : 0;
}
function drawCalibration(ctx, p, L, theme) {
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
function drawLeadLabel(ctx, p, theme, scale = 1, top = 0) {
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
  ctx.fillStyle = theme.labelBg;
  ctx.fillRect(p.x + 2, p.y + top + 1, w + 5, px + 3);
  ctx.fillStyle = theme.fg;
  ctx.fillText(p.name, p.x + 4, p.y + top + 2);
}
function drawAxis(ctx, p, L, theme) {
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
    const w = ctx.measureText(label).width;
    ctx.fillText(label, x + 2 + w > p.x + p.w ? x - w - 2 : x + 2, p.y + 5);
  }
  ctx.stroke();
  ctx.fillStyle = theme.muted;
  const zoom = L.zoom > 1.01 ? ` \xD7${L.zoom.toFixed(1)}` : "";
  const px = Math.round(10 * sc);
  ctx.font = `${px}px sans-serif`;
  ctx.fillText(`${L.speed || 25} mm/s${zoom}`, p.x - L.margin + 2, p.y + 2);
  ctx.fillText(`${L.gain || 10} mm/mV`, p.x - L.margin + 2, p.y + 3 + px);
}

// validate.js
var ok = (value) => ({ ok: true, value });
var no = (why) => ({ ok: false, why });
function checkInt(v, lo, hi, what) {
  const n = Number(v);
  if (v === null || v === "" || typeof v === "boolean" || !Number.isFinite(n) || !Number.isInteger(n)) {
    return no(`${what} must be an integer in ${lo}..${hi}, got ${v}`);
  }
  if (n < lo || n > hi) return no(`${what} must be an integer in ${lo}..${hi}, got ${n}`);
  return ok(n);
}
function checkSelection(sel, fs, nSamples) {
  if (!sel || !Object.keys(sel).length) return ok({});
  const vals = [sel.start, sel.end, sel.start_s, sel.end_s];
  if (!vals.every((x) => Number.isFinite(x))) return no("selection must hold finite start/end values");
  const a = Math.max(0, Math.min(sel.start, sel.end));
  const b = Math.min(nSamples, Math.max(sel.start, sel.end));
  if (!(b > a)) return no(`selection lies outside the record (0..${nSamples} samples)`);
  return ok({ start_s: a / fs, end_s: b / fs, start: a, end: b });
}
function checkLabelKey(id, ids) {
  return ids.includes(Number(id)) ? ok(Number(id)) : no(`cluster ${id} is not a cluster of this view`);
}
function checkViewRange(v, duration) {
  if (!Array.isArray(v) || v.length !== 2 || !v.every(Number.isFinite) || !(v[0] < v[1])) {
    return no(`view range must be [start_s, end_s] with start < end, got ${JSON.stringify(v)}`);
  }
  if (v[1] <= 0 || v[0] >= duration) return no(`view range ${v} is outside 0..${duration} s`);
  return ok(v);
}

// labels.js
var DEFAULT_VOCAB = [
  "P wave",
  "QRS complex",
  "T wave",
  "ST segment",
  "TP baseline",
  "PR segment",
  "artifact",
  "other"
];
function updateLabels(labels, id, name, notes) {
  const out = { ...labels || {} };
  const n = String(name || "").trim();
  const t = String(notes || "").trim();
  if (!n && !t) delete out[String(id)];
  else out[String(id)] = { name: n, notes: t };
  return out;
}
function createLabelHistory(limit = 200) {
  const done = [];
  const undone = [];
  const entry = (labels, id) => {
    const e = (labels || {})[String(id)];
    return e ? { ...e } : null;
  };
  const put = (labels, id, e) => {
    const out = { ...labels || {} };
    if (e) out[String(id)] = { ...e };
    else delete out[String(id)];
    return out;
  };
  return {
    /** Remember that `before` became `after` by an edit of cluster `id`. */
    record(before, after, id) {
      done.push({ id, before: entry(before, id), after: entry(after, id) });
      if (done.length > limit) done.shift();
      undone.length = 0;
    },
    /** Labels with the last edit undone ({labels, id}), or null when there is none. */
    undo(current) {
      const e = done.pop();
      if (!e) return null;
      undone.push(e);
      return { labels: put(current, e.id, e.before), id: e.id };
    },
    redo(current) {
      const e = undone.pop();
      if (!e) return null;
      done.push(e);
      return { labels: put(current, e.id, e.after), id: e.id };
    },
    sizes: () => [done.length, undone.length]
  };
}
function createLabelEditing(o) {
  const history = createLabelHistory();
  const labels = () => o.model.get("cluster_labels") || {};
  const write = (next) => {
    o.model.set("cluster_labels", next);
    o.save();
  };
  return {
    history,
    /** Set cluster `id`'s name and notes (from a card's editor). */
    edit(id, name, notes) {
      const chk = checkLabelKey(id, o.ids());
      if (!chk.ok) return o.refuse(chk.why);
      const before = labels();
      const after = updateLabels(before, id, name, notes);
      history.record(before, after, id);
      write(after);
      if (o.offlineNote()) o.flash("labels are kept in this view only (kernel disconnected)");
    },
    /** Undo (dir -1) or redo (+1) the last label edit made in this view. */
    undo(dir) {
      const r = dir < 0 ? history.undo(labels()) : history.redo(labels());
      if (!r) return o.flash(dir < 0 ? "nothing to undo" : "nothing to redo");
      write(r.labels);
      o.flash(`${dir < 0 ? "undone" : "redone"}: label of ${o.title(r.id)}`);
    }
  };
}
var uid = 0;
function buildLabelEditor(doc, id, labels, vocab, onCommit, opts = {}) {
  const wrap = doc.createElement("div");
  wrap.className = "ecw-label-editor";
  const listId = `ecw-vocab-${++uid}`;
  const dl = doc.createElement("datalist");
  dl.id = listId;
  for (const v of vocab && vocab.length ? vocab : DEFAULT_VOCAB) {
    const o = doc.createElement("option");
    o.value = v;
    dl.appendChild(o);
  }
  const name = doc.createElement("input");
  name.type = "text";
  name.className = "ecw-label-name";
  name.placeholder = "name (e.g. QRS complex)";
  name.setAttribute("list", listId);
  name.dataset.clusterId = String(id);
  const notes = doc.createElement("textarea");
  notes.className = "ecw-label-notes";
  notes.rows = 2;
  notes.placeholder = "notes";
  notes.dataset.clusterId = String(id);
  const setAria = (shown) => {
    name.setAttribute("aria-label", `name of cluster ${shown}`);
    notes.setAttribute("aria-label", `notes on cluster ${shown}`);
  };
  setAria(opts.shown || String(id));
  let saved = { name: "", notes: "" };
  let timer = null;
  const commit = () => {
    clearTimeout(timer);
    timer = null;
    const v = { name: name.value, notes: notes.value };
    if (v.name.trim() === saved.name.trim() && v.notes.trim() === saved.notes.trim()) return;
    saved = v;
    onCommit(id, v.name, v.notes);
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(commit, opts.debounceMs ?? 500);
  };
  name.addEventListener("change", commit);
  name.addEventListener("blur", commit);
  name.addEventListener("input", later);
  name.addEventListener("keydown", (ev) => {
    ev.stopPropagation();
    if (ev.key === "Enter") {
      ev.preventDefault();
      commit();
      opts.onDone?.();
    } else if (ev.key === "Escape") {
      commit();
      opts.onDone?.();
    }
  });
  notes.addEventListener("change", commit);
  notes.addEventListener("blur", commit);
  notes.addEventListener("input", later);
  notes.addEventListener("keydown", (ev) => {
    ev.stopPropagation();
    if (ev.key === "Escape") {
      commit();
      opts.onDone?.();
    }
  });
  for (const el of [name, notes]) el.addEventListener("click", (ev) => ev.stopPropagation());
  let proposal = "";
  const acceptBtn = doc.createElement("button");
  acceptBtn.type = "button";
  acceptBtn.className = "ecw-accept";
  acceptBtn.hidden = true;
  const accept = () => {
    if (!proposal || name.value.trim()) return false;
    name.value = proposal;
    commit();
    syncProposal();
    return true;
  };
  const syncProposal = () => {
    const offer = !!proposal && !name.value.trim();
    acceptBtn.hidden = !offer;
    acceptBtn.textContent = offer ? `\u2713 use proposed name \u201C${proposal}\u201D` : "";
    acceptBtn.title = "a name proposed from the wave landmarks; click (or press \u2192 in the empty field, or a on the card) to accept it";
    name.placeholder = offer ? `proposed: ${proposal} (\u2192 accepts)` : "name (e.g. QRS complex)";
  };
  acceptBtn.addEventListener("click", (ev) => {
    ev.stopPropagation();
    accept();
    name.focus({ preventScroll: true });
  });
  name.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowRight" && !name.value && proposal) {
      ev.preventDefault();
      accept();
    }
  });
  name.addEventListener("input", syncProposal);
  const propose = (p) => {
    proposal = String(p || "").trim();
    syncProposal();
  };
  wrap.append(name, dl, acceptBtn, notes);
  const set = (entry, shown) => {
    const e = entry || {};
    const incoming = { name: e.name || "", notes: e.notes || "" };
    const dirty = (f) => f.value.trim() !== saved[f === name ? "name" : "notes"].trim();
    for (const [f, key] of [[name, "name"], [notes, "notes"]]) {
      const editing = doc.activeElement === f || dirty(f) || timer != null;
      if (!editing && f.value !== incoming[key]) f.value = incoming[key];
    }
    if (!(doc.activeElement === name || doc.activeElement === notes || timer != null)) saved = incoming;
    if (shown) setAria(shown);
    syncProposal();
  };
  set(labels && labels[String(id)] || {});
  return { el: wrap, name, notes, set, flush: commit, propose, accept };
}

// keys.js
var KEYMAP = [
  ["?", "show / hide this help"],
  ["+ / -", "more / fewer clusters (K)"],
  ["\u2190 / \u2192", "previous / next ECG"],
  ["u / t", "next most uncertain / least typical ECG (Shift: previous)"],
  ["Shift+\u2190 / Shift+\u2192", "pan the time window"],
  ["i / o", "zoom in / out (also mouse wheel)"],
  ["0", "reset zoom"],
  ["n / p", "next / previous occurrence of the highlighted cluster (wraps)"],
  ["1 \u2026 9", "highlight cluster 1 \u2026 9 (again: clear)"],
  ["b", "cycle band styles: light, strong, one lead, strip only"],
  ["c", "calipers on / off: drag to measure ms, bpm and mV"],
  ["f", "presentation mode (full-width ECG, larger text)"],
  ["g", "toggle the Grad-CAM overlay"],
  ["l", "cycle layouts 12x1 \u2192 6x2 \u2192 3x4"],
  ["a", "accept the proposed name of the focused card (\u2192 in an empty name field)"],
  ["Esc", "close help, cancel a K change, clear selection and highlight"],
  ["Ctrl+Z / Ctrl+Shift+Z", "undo / redo the last label edit (outside the text fields)"],
  ["drag", "brush a time range (synced across leads); hover: crosshair + readout"],
  ["Shift+drag / wheel", "pan / zoom"]
];
function actionFor(ev) {
  const k = ev.key;
  if ((ev.ctrlKey || ev.metaKey) && (k === "z" || k === "Z")) return ev.shiftKey ? "redo" : "undo";
  if ((ev.ctrlKey || ev.metaKey) && k === "y") return "redo";
  if (ev.ctrlKey || ev.metaKey) return null;
  if (k === "?") return "help";
  if (k === "+" || k === "=") return "k+";
  if (k === "-" || k === "_") return "k-";
  if (k === "ArrowLeft") return ev.shiftKey ? "pan-" : "prev";
  if (k === "ArrowRight") return ev.shiftKey ? "pan+" : "next";
  if (k === "u") return "uncertain";
  if (k === "t") return "atypical";
  if (k === "U") return "uncertain-prev";
  if (k === "T") return "atypical-prev";
  if (k === "b") return "bands";
  if (k === "c") return "calipers";
  if (k === "f") return "present";
  if (k === "i") return "zoom-in";
  if (k === "o") return "zoom-out";
  if (k === "0") return "zoom-reset";
  if (k === "n") return "occ+";
  if (k === "p") return "occ-";
  if (k === "g") return "gradcam";
  if (k === "l") return "layout";
  if (k === "Escape") return "escape";
  if (/^[1-9]$/.test(k)) return `cluster${k}`;
  return null;
}
function buildHelp(doc) {
  const box = doc.createElement("div");
  box.className = "ecw-help";
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-label", "Keyboard shortcuts");
  box.hidden = true;
  const h2 = doc.createElement("h4");
  h2.textContent = "Keyboard shortcuts";
  box.appendChild(h2);
  const table = doc.createElement("table");
  for (const [key, what] of KEYMAP) {
    const tr = doc.createElement("tr");
    const a = doc.createElement("td");
    const kbd = doc.createElement("kbd");
    kbd.textContent = key;
    a.appendChild(kbd);
    const b = doc.createElement("td");
    b.textContent = what;
    tr.append(a, b);
    table.appendChild(tr);
  }
  box.appendChild(table);
  return box;
}

// listeners.js
function createRegistry() {
  const undo = [];
  const timers = /* @__PURE__ */ new Map();
  let done = false;
  const add = (fn) => {
    if (done) throw new Error("view already removed");
    undo.push(fn);
  };
  return {
    dom(target, ev, fn, opts) {
      if (!target || !target.addEventListener) return;
      target.addEventListener(ev, fn, opts);
      add(() => target.removeEventListener(ev, fn, opts));
    },
    model(model, ev, fn) {
      model.on(ev, fn);
      add(() => model.off(ev, fn));
    },
    observer(obs) {
      add(() => obs.disconnect());
      return obs;
    },
    interval(fn, ms) {
      const id = setInterval(fn, ms);
      add(() => clearInterval(id));
      return id;
    },
    timeout(key, fn, ms) {
      clearTimeout(timers.get(key));
      timers.set(key, setTimeout(() => {
        timers.delete(key);
        fn();
      }, ms));
    },
    clear(key) {
      clearTimeout(timers.get(key));
      timers.delete(key);
    },
    onTeardown(fn) {
      add(fn);
    },
    size: () => undo.length,
    teardown() {
      if (done) return;
      done = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      while (undo.length) {
        try {
          undo.pop()();
        } catch (err) {
        }
      }
    }
  };
}

// protocol.js
var DISCONNECTED = "kernel disconnected: re-run the cell to recompute";
var NO_ANSWER = "the kernel does not answer (busy or disconnected): re-run the cell to recompute";
function createProtocol(o) {
  const { model, reg } = o;
  let pendingId = Math.max(model.get("response_id"), (model.get("request") || {}).id || 0);
  let want = {};
  let lastPong = 0;
  const st = { noAnswer: false, flash: "" };
  const wanted = (key) => key in want ? want[key] : model.get(key === "k" ? "n_clusters" : key);
  function watchdog() {
    reg.timeout("ping", () => {
      if (pendingId <= model.get("response_id")) return;
      const t = Date.now();
      try {
        model.send({ type: "ping", t });
      } catch (err) {
      }
      reg.timeout("ping", () => {
        if (lastPong < t && pendingId > model.get("response_id")) {
          st.noAnswer = true;
          o.onState();
        }
      }, 4e3);
    }, 4e3);
  }
  function send(extra) {
    if (o.offline()) {
      st.flash = o.standalone ? "static export: re-run the notebook to recompute" : DISCONNECTED;
      o.onState();
      return false;
    }
    for (const key of ["k", "index", "gradcam_class"]) if (key in extra) want[key] = extra[key];
    pendingId = Math.max(pendingId, model.get("response_id"), (model.get("request") || {}).id || 0) + 1;
    const req = {
      id: pendingId,
      k: wanted("k"),
      index: wanted("index"),
      gradcam_class: wanted("gradcam_class"),
      ...extra
    };
    st.flash = "";
    model.set("request", req);
    o.save();
    o.onState();
    watchdog();
    return true;
  }
  function accept() {
    st.noAnswer = false;
    if (model.get("response_id") < pendingId) return false;
    want = {};
    return true;
  }
  function onPong() {
    lastPong = Date.now();
    st.noAnswer = false;
    o.onState();
  }
  function statusView() {
    const off = o.offline();
    const busy = !off && (pendingId > model.get("response_id") || model.get("busy"));
    const err = model.get("error");
    let text = model.get("status") || "";
    if (st.noAnswer && busy) text = NO_ANSWER;
    if (off && !o.standalone) text = DISCONNECTED;
    if (st.flash) text = st.flash;
    if (err && !off) text = `\u26A0 ${err}`;
    return { off, busy: !!busy, text, isError: !!err || off && !o.standalone || st.noAnswer && busy };
  }
  return { send, accept, onPong, statusView, wanted, st };
}

// dom.js
function h(doc, tag, cls, text) {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
function option(doc, value, text) {
  const o = h(doc, "option", null, text);
  o.value = String(value);
  return o;
}
function fmtPct(v) {
  return `${(100 * v).toFixed(1)}%`;
}

// kjob.js
function buildKJob(doc) {
  const el = h(doc, "span", "ecw-kjob");
  el.setAttribute("role", "status");
  el.hidden = true;
  const bar = h(doc, "progress", "ecw-kjob-bar");
  const text = h(doc, "span", "ecw-kjob-text");
  const cancel = h(doc, "button", "ecw-btn ecw-kjob-cancel", "cancel");
  cancel.title = "stop this K change (the ECG keeps its current K)";
  el.append(bar, text, cancel);
  return { el, bar, text, cancel };
}
function createKJob(o) {
  const { model, reg, ui } = o;
  let kid = 0;
  let wantK = null;
  let droppedK = null;
  let seen = { id: 0, t: 0 };
  const job = () => model.get("k_job") || {};
  const running = () => job().state === "running" && job().id === kid;
  function post(body) {
    if (o.offline()) {
      o.refuse("changing K needs the kernel (re-run the cell to recompute)");
      return false;
    }
    kid = Math.max(kid, (model.get("k_request") || {}).id || 0) + 1;
    model.set("k_request", { id: kid, ...body });
    o.save();
    return true;
  }
  function ask(k) {
    if (k === model.get("n_clusters") && wantK == null) return;
    if (k === model.get("n_clusters")) {
      cancel();
      return;
    }
    if (post({ k })) {
      wantK = k;
      droppedK = null;
      seen = { id: kid, t: performance.now() };
      draw();
      o.onChange();
    }
  }
  function cancel() {
    if (wantK == null) return;
    const k = wantK;
    if (post({ cancel: true })) {
      wantK = null;
      droppedK = k;
      ui.el.hidden = false;
      ui.el.dataset.state = "cancelled";
      ui.bar.hidden = true;
      ui.cancel.hidden = true;
      ui.text.textContent = `K=${k} cancelled; still K=${model.get("n_clusters")}`;
      reg.timeout("kjob-hide", () => {
        if (wantK != null) return;
        ui.el.hidden = true;
        ui.el.dataset.state = "";
      }, 4e3);
      o.onChange();
    }
  }
  function draw() {
    const j = job();
    if (wantK == null) {
      if (ui.el.dataset.state !== "cancelled") ui.el.hidden = true;
      return;
    }
    const mine = j.id === kid;
    if (mine && j.state === "error") {
      wantK = null;
      ui.el.hidden = true;
      o.refuse(`K=${j.k} failed: ${j.error}`);
      o.onChange();
      return;
    }
    const total = mine ? j.total || 3 : 3;
    const done = mine ? j.done || 0 : 0;
    const secs = ((performance.now() - seen.t) / 1e3).toFixed(1);
    ui.el.hidden = false;
    ui.el.dataset.state = "running";
    ui.el.dataset.k = String(wantK);
    ui.bar.hidden = false;
    ui.cancel.hidden = false;
    ui.bar.max = total;
    ui.bar.value = done;
    const step = mine && j.step ? `${j.step} (${Math.min(done + 1, total)}/${total})` : "starting";
    ui.text.textContent = `computing K=${wantK}: ${step} \xB7 ${secs} s`;
  }
  function onAnswer() {
    if (wantK != null && model.get("n_clusters") === wantK) {
      wantK = null;
      ui.el.hidden = true;
      o.onChange();
    }
  }
  reg.dom(ui.cancel, "click", cancel);
  reg.model(model, "change:k_job", draw);
  reg.interval(() => {
    if (wantK != null) draw();
  }, 250);
  function overtaken(k, shown) {
    if (k == null || k === shown) return false;
    return wantK == null ? k === droppedK : k !== wantK;
  }
  return { ask, cancel, onAnswer, overtaken, wanted: () => wantK, running };
}

// toolbar.js
var BAND_LABELS = { light: "bands: light", strong: "bands: strong", lead: "bands: one lead", strip: "bands: strip only" };
var RANK_LABELS = { uncertain: "most uncertain", atypical: "least typical" };
function buildToolbar(doc) {
  const e = {};
  e.bar = h(doc, "div", "ecw-toolbar");
  e.prevBtn = h(doc, "button", "ecw-btn ecw-prev", "\u25C0");
  e.prevBtn.title = "previous ECG (\u2190)";
  e.idxInput = h(doc, "input", "ecw-index");
  e.idxInput.type = "number";
  e.idxInput.min = "0";
  e.idxInput.setAttribute("aria-label", "ECG index");
  e.nextBtn = h(doc, "button", "ecw-btn ecw-next", "\u25B6");
  e.nextBtn.title = "next ECG (\u2192)";
  e.ridInput = h(doc, "input", "ecw-recid");
  e.ridInput.placeholder = "record id";
  e.ridInput.setAttribute("aria-label", "record id");
  e.classSel = h(doc, "select", "ecw-class");
  e.classSel.setAttribute("aria-label", "jump to next ECG of class");
  e.rankBtns = {};
  e.rankBadges = {};
  for (const key of ["uncertain", "atypical"]) {
    const b = h(doc, "button", `ecw-btn ecw-${key}`);
    const badge = h(doc, "span", "ecw-rank-pos");
    b.append(RANK_LABELS[key], badge);
    b.title = `next ${RANK_LABELS[key]} ECG (${key[0]}; Shift+${key[0]}: previous)`;
    e.rankBtns[key] = b;
    e.rankBadges[key] = badge;
  }
  const kLabel = h(doc, "label", "ecw-k-label");
  e.kSlider = h(doc, "input", "ecw-k");
  e.kSlider.type = "range";
  e.kSlider.step = "1";
  e.kSlider.setAttribute("aria-label", "number of clusters K");
  e.kValue = h(doc, "span", "ecw-k-value");
  kLabel.append("K ", e.kSlider, e.kValue);
  e.kjob = buildKJob(doc);
  e.layoutSel = h(doc, "select", "ecw-layout");
  e.layoutSel.setAttribute("aria-label", "layout");
  for (const l of LAYOUTS) e.layoutSel.appendChild(option(doc, l, l === "3x4" ? "3x4+rhythm" : l));
  e.bandSel = h(doc, "select", "ecw-band-style");
  e.bandSel.setAttribute("aria-label", "band style");
  e.bandSel.title = "how clusters are drawn on the leads (b)";
  for (const b of BAND_STYLES) e.bandSel.appendChild(option(doc, b, BAND_LABELS[b]));
  e.gainSel = h(doc, "select", "ecw-gain");
  e.gainSel.setAttribute("aria-label", "gain");
  for (const g of GAINS) e.gainSel.appendChild(option(doc, g, `${g} mm/mV`));
  e.speedSel = h(doc, "select", "ecw-speed");
  e.speedSel.setAttribute("aria-label", "paper speed");
  for (const s of SPEEDS) e.speedSel.appendChild(option(doc, s, `${s} mm/s`));
  const camLabel = h(doc, "label", "ecw-cam-label");
  e.camBox = h(doc, "input", "ecw-cam");
  e.camBox.type = "checkbox";
  e.camSel = h(doc, "select", "ecw-cam-class");
  e.camSel.setAttribute("aria-label", "Grad-CAM class");
  camLabel.append(e.camBox, " Grad-CAM ", e.camSel);
  e.camLabel = camLabel;
  const fitLabel = h(doc, "label", "ecw-fit-label");
  e.fitBox = h(doc, "input", "ecw-fit");
  e.fitBox.type = "checkbox";
  fitLabel.title = "12x1: shrink the rows so the whole ECG fits the window (amplitude scale kept)";
  fitLabel.append(e.fitBox, " fit");
  e.calBtn = h(doc, "button", "ecw-btn ecw-caliper-btn", "calipers");
  e.calBtn.title = "calipers: drag on a lead to measure ms, bpm and mV (c)";
  e.calBtn.setAttribute("aria-pressed", "false");
  e.presBtn = h(doc, "button", "ecw-btn ecw-present-btn", "present");
  e.presBtn.title = "presentation mode: full-width ECG, larger text (f)";
  e.presBtn.setAttribute("aria-pressed", "false");
  e.scaleSel = h(doc, "select", "ecw-font-scale");
  e.scaleSel.setAttribute("aria-label", "text size");
  for (const s of [1, 1.25, 1.5, 2]) e.scaleSel.appendChild(option(doc, s, `text \xD7${s}`));
  e.sideBtn = h(doc, "button", "ecw-btn ecw-side-toggle", "side panel");
  e.sideBtn.title = "show / hide the side panel";
  e.helpBtn = h(doc, "button", "ecw-btn ecw-help-btn", "?");
  e.helpBtn.title = "keyboard help (?)";
  const spinner = h(doc, "span", "ecw-spinner");
  spinner.setAttribute("aria-hidden", "true");
  e.status = h(doc, "span", "ecw-status");
  e.status.setAttribute("role", "status");
  e.bar.append(
    e.prevBtn,
    e.idxInput,
    e.nextBtn,
    e.ridInput,
    e.classSel,
    e.rankBtns.uncertain,
    e.rankBtns.atypical,
    kLabel,
    e.kjob.el,
    e.layoutSel,
    e.bandSel,
    e.gainSel,
    e.speedSel,
    camLabel,
    fitLabel,
    e.calBtn,
    e.presBtn,
    e.scaleSel,
    e.sideBtn,
    e.helpBtn,
    spinner,
    e.status
  );
  e.message = h(doc, "div", "ecw-message");
  e.message.setAttribute("role", "alert");
  e.messageText = h(doc, "span", "ecw-message-text");
  e.messageClose = h(doc, "button", "ecw-btn ecw-message-close", "\xD7");
  e.messageClose.title = "dismiss";
  e.message.append(e.messageText, e.messageClose);
  e.message.hidden = true;
  e.leadBar = h(doc, "div", "ecw-leadbar");
  e.leadBtns = [];
  return e;
}
function syncToolbar(e, model, o) {
  const doc = e.bar.ownerDocument;
  const n = model.get("n_records");
  e.idxInput.max = String(n - 1);
  if (!e.idxInput.dataset.typing) e.idxInput.value = String(model.get("index"));
  if (!e.ridInput.dataset.typing) e.ridInput.value = o.recordId ?? "";
  e.kSlider.min = String(model.get("k_min"));
  e.kSlider.max = String(model.get("k_max"));
  const kShown = o.kWanted ?? model.get("n_clusters");
  e.kSlider.value = String(kShown);
  e.kValue.textContent = String(kShown);
  e.layoutSel.value = model.get("ecg_layout");
  e.bandSel.value = o.get("band_style", "light");
  e.gainSel.value = String(o.get("gain", 10));
  e.speedSel.value = String(o.get("paper_speed", 25));
  e.scaleSel.value = String(o.get("font_scale", 1));
  e.camBox.checked = !!model.get("show_gradcam");
  e.fitBox.checked = !!o.get("fit_height", false);
  e.presBtn.setAttribute("aria-pressed", o.get("presentation", false) ? "true" : "false");
  e.calBtn.setAttribute("aria-pressed", o.mode === "caliper" ? "true" : "false");
  const classes = model.get("class_names") || [];
  if (e.classSel.options.length !== classes.length + 1) {
    e.classSel.replaceChildren(option(doc, "", "next of class\u2026"), ...classes.map((c) => option(doc, c, c)));
    e.camSel.replaceChildren(option(doc, "", "predicted"), ...classes.map((c) => option(doc, c, c)));
  }
  e.camSel.value = model.get("gradcam_class") || "";
  const noCam = model.get("gradcam_unavailable") || "";
  e.camBox.disabled = !!noCam;
  e.camSel.disabled = !!noCam;
  e.camLabel.classList.toggle("ecw-unavailable", !!noCam);
  e.camLabel.title = noCam || "Grad-CAM of the chosen class (g)";
  e.camLabel.dataset.reason = noCam;
  const msg = [o.get("message", ""), o.get("labels_report", "")].filter(Boolean).join("  \xB7  ");
  e.messageText.textContent = msg;
  e.message.hidden = !msg;
  const vis = new Set(o.visibleLeads);
  const names = o.leadNames;
  if (e.leadBtns.length !== names.length || e.leadBtns.some((b, i) => b.textContent !== names[i])) {
    e.leadBtns.length = 0;
    e.leadBar.replaceChildren(h(doc, "span", "ecw-leadbar-title", "leads:"));
    names.forEach((name, i) => {
      const b = h(doc, "button", "ecw-lead", name);
      b.dataset.lead = String(i);
      e.leadBtns.push(b);
      e.leadBar.appendChild(b);
    });
  }
  e.leadBtns.forEach((b, i) => {
    b.classList.toggle("ecw-lead-on", vis.has(i));
    b.setAttribute("aria-pressed", vis.has(i) ? "true" : "false");
  });
}
function wireToolbar(e, reg, a) {
  reg.dom(e.prevBtn, "click", () => a.doAction("prev"));
  reg.dom(e.nextBtn, "click", () => a.doAction("next"));
  for (const f of [e.idxInput, e.ridInput]) {
    reg.dom(f, "input", () => {
      f.dataset.typing = "1";
    });
    reg.dom(f, "blur", () => {
      delete f.dataset.typing;
    });
  }
  const gotoIndex = () => {
    delete e.idxInput.dataset.typing;
    const n = a.nRecords();
    const raw = e.idxInput.value.trim();
    const v = Number(raw);
    if (!raw || !Number.isInteger(v) || v < 0 || v > n - 1) {
      e.idxInput.value = String(a.wanted("index"));
      return a.refuse(`no ECG ${raw ? `"${raw}"` : "index given"}: the index must be a whole number in 0..${n - 1}`);
    }
    if (v !== a.wanted("index")) a.send({ index: v });
  };
  const gotoRecord = () => {
    delete e.ridInput.dataset.typing;
    const r = e.ridInput.value.trim();
    if (r && r !== a.recordId()) a.send({ record_id: r });
  };
  reg.dom(e.idxInput, "change", gotoIndex);
  reg.dom(e.ridInput, "change", gotoRecord);
  reg.dom(e.idxInput, "keydown", (ev) => {
    if (ev.key === "Enter") gotoIndex();
  });
  reg.dom(e.ridInput, "keydown", (ev) => {
    if (ev.key === "Enter") gotoRecord();
  });
  reg.dom(e.classSel, "change", () => {
    if (e.classSel.value) a.send({ class: e.classSel.value });
    e.classSel.value = "";
  });
  reg.dom(e.rankBtns.uncertain, "click", () => a.doAction("uncertain"));
  reg.dom(e.rankBtns.atypical, "click", () => a.doAction("atypical"));
  reg.dom(e.kSlider, "input", () => {
    e.kValue.textContent = e.kSlider.value;
  });
  reg.dom(e.kSlider, "change", () => a.askK(Number(e.kSlider.value)));
  reg.dom(e.layoutSel, "change", () => a.setTrait("ecg_layout", e.layoutSel.value));
  reg.dom(e.bandSel, "change", () => a.setTrait("band_style", e.bandSel.value));
  reg.dom(e.gainSel, "change", () => a.setTrait("gain", Number(e.gainSel.value)));
  reg.dom(e.speedSel, "change", () => a.setSpeed(Number(e.speedSel.value)));
  reg.dom(e.scaleSel, "change", () => a.setTrait("font_scale", Number(e.scaleSel.value)));
  reg.dom(e.camBox, "change", () => a.setTrait("show_gradcam", e.camBox.checked));
  reg.dom(e.fitBox, "change", () => a.setTrait("fit_height", e.fitBox.checked));
  reg.dom(e.camSel, "change", () => a.send({ gradcam_class: e.camSel.value }));
  reg.dom(e.calBtn, "click", () => a.doAction("calipers"));
  reg.dom(e.presBtn, "click", () => a.doAction("present"));
  reg.dom(e.sideBtn, "click", a.toggleSide);
  reg.dom(e.helpBtn, "click", () => a.doAction("help"));
  reg.dom(e.messageClose, "click", () => {
    a.dismiss();
    e.message.hidden = true;
  });
  reg.dom(e.leadBar, "click", (ev) => {
    const b = ev.target.closest && ev.target.closest("[data-lead]");
    if (b) a.toggleLead(Number(b.dataset.lead));
  });
}

// prototypes.js
function smallCanvas(doc, w, h2, cls) {
  const c = doc.createElement("canvas");
  const dpr = typeof window !== "undefined" && window.devicePixelRatio || 1;
  c.width = Math.round(w * dpr);
  c.height = Math.round(h2 * dpr);
  c.style.width = `${w}px`;
  c.style.height = `${h2}px`;
  c.className = cls;
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return [c, ctx];
}
function swatch(doc, id, pal, canvas) {
  let c = canvas;
  let ctx;
  if (!c) [c, ctx] = smallCanvas(doc, 16, 16, "ecw-swatch");
  else ctx = c.getContext("2d");
  const col = pal.color(id);
  ctx.clearRect(0, 0, 16, 16);
  ctx.fillStyle = col;
  ctx.fillRect(0, 0, 16, 16);
  const pat = hatchPattern(ctx, pal.hatch(id), withAlpha(textColorOn(col), 0.6));
  if (pat) {
    ctx.fillStyle = pat;
    ctx.fillRect(0, 0, 16, 16);
  }
  c.dataset.color = col;
  return c;
}
function drawHist(ctx, w, h2, hist, color, theme) {
  ctx.fillStyle = theme.track;
  ctx.fillRect(0, 0, w, h2);
  const max = Math.max(1e-9, ...hist);
  const bw = w / hist.length;
  ctx.fillStyle = color;
  hist.forEach((v, i) => {
    const bh = v / max * (h2 - 2);
    ctx.fillRect(i * bw + 0.5, h2 - bh, Math.max(1, bw - 1), bh);
  });
}
function drawProto(ctx, w, h2, med, q25, q75, color, theme) {
  ctx.fillStyle = theme.paper;
  ctx.fillRect(0, 0, w, h2);
  const n = med.length;
  if (!n) return;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, q25[i], med[i]);
    hi = Math.max(hi, q75[i], med[i]);
  }
  if (!(hi > lo)) {
    hi = lo + 1;
  }
  const pad = 0.1 * (hi - lo);
  const x = (i) => i / Math.max(1, n - 1) * (w - 2) + 1;
  const y = (v) => h2 - 2 - (v - lo + pad) / (hi - lo + 2 * pad) * (h2 - 4);
  ctx.beginPath();
  for (let i = 0; i < n; i++) ctx.lineTo(x(i), y(q75[i]));
  for (let i = n - 1; i >= 0; i--) ctx.lineTo(x(i), y(q25[i]));
  ctx.closePath();
  ctx.fillStyle = withAlpha(color, 0.3);
  ctx.fill();
  ctx.beginPath();
  for (let i = 0; i < n; i++) ctx.lineTo(x(i), y(med[i]));
  ctx.strokeStyle = theme.trace;
  ctx.lineWidth = 1.3;
  ctx.stroke();
}
function drawSnip(ctx, w, h2, snip, color, theme) {
  ctx.fillStyle = theme.paper;
  ctx.fillRect(0, 0, w, h2);
  ctx.strokeStyle = color;
  ctx.lineWidth = 3;
  ctx.strokeRect(0, 0, w, h2);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of snip) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!(hi > lo)) hi = lo + 1;
  ctx.beginPath();
  snip.forEach((v, i) => {
    ctx.lineTo(i / Math.max(1, snip.length - 1) * (w - 4) + 2, h2 - 3 - (v - lo) / (hi - lo) * (h2 - 6));
  });
  ctx.strokeStyle = theme.trace;
  ctx.lineWidth = 1;
  ctx.stroke();
}
function reorder(parent, nodes) {
  let ref = parent.firstChild;
  for (const n of nodes) {
    if (n === ref) {
      ref = ref.nextSibling;
      continue;
    }
    parent.insertBefore(n, ref);
  }
  while (ref) {
    const next = ref.nextSibling;
    parent.removeChild(ref);
    ref = next;
  }
}
function createClusterPanel(doc, handlers) {
  const root = doc.createElement("div");
  root.className = "ecw-clusters";
  const cards = /* @__PURE__ */ new Map();
  function makeCard(id, d) {
    const card = doc.createElement("div");
    card.className = "ecw-card";
    card.dataset.clusterId = String(id);
    card.tabIndex = 0;
    card.setAttribute("role", "button");
    const head = doc.createElement("div");
    head.className = "ecw-card-head";
    const sw = swatch(doc, id, d.pal);
    const title = doc.createElement("span");
    title.className = "ecw-card-title";
    const stats = doc.createElement("span");
    stats.className = "ecw-card-stats";
    const badge = doc.createElement("span");
    const tree = doc.createElement("span");
    tree.className = "ecw-card-tree";
    head.append(sw, title, tree, stats, badge);
    const row = doc.createElement("div");
    row.className = "ecw-card-row";
    const ex = doc.createElement("div");
    ex.className = "ecw-examples";
    const mix = doc.createElement("div");
    mix.className = "ecw-mix";
    const editor = buildLabelEditor(doc, id, d.labels, d.vocab, handlers.onLabel, {
      onDone: () => card.focus({ preventScroll: true })
    });
    card.append(head, row, ex, mix, editor.el);
    card.addEventListener("click", () => handlers.onPick(id));
    card.addEventListener("keydown", (ev) => {
      if (ev.target === card && (ev.key === "Enter" || ev.key === " ")) {
        ev.preventDefault();
        ev.stopPropagation();
        handlers.onPick(id);
      } else if (ev.target === card && ev.key === "a" && editor.accept()) {
        ev.preventDefault();
        ev.stopPropagation();
      }
    });
    return { card, sw, title, tree, stats, badge, row, ex, mix, editor, key: "" };
  }
  function fill(c, info, d) {
    const id = info.id;
    const active = d.highlight === id;
    c.card.classList.toggle("ecw-card-active", active);
    c.card.setAttribute("aria-pressed", active ? "true" : "false");
    c.card.style.borderColor = d.pal.color(id);
    c.card.dataset.num = d.pal.short(id);
    const chain = (info.ancestors || []).map((a) => d.pal.short(a)).join(" \u2190 ");
    c.card.title = `cluster ${d.pal.short(id)} (stable id ${id})` + (chain ? `; in the cluster tree at K-1, K-2, \u2026: ${chain}` : "");
    swatch(doc, id, d.pal, c.sw);
    const anc = info.ancestors || [];
    const shown = d.pal.titleOrProposal(id, d.labels, info.proposed_name, anc);
    c.title.textContent = shown.text;
    c.title.classList.toggle("ecw-proposed", shown.proposed);
    c.title.classList.toggle("ecw-inherited", !!shown.inherited);
    const from = anc.length && anc[0] !== id ? anc[0] : null;
    c.tree.textContent = from == null ? "" : `from ${d.pal.short(from)}`;
    c.tree.hidden = from == null;
    c.card.dataset.parent = anc.length ? String(anc[0]) : "";
    c.card.dataset.proposed = shown.proposed ? info.proposed_name : "";
    c.editor.propose(info.proposed_name || "");
    c.stats.textContent = `${(100 * info.share).toFixed(1)}% of time \xB7 H\u0304 ${info.mean_entropy.toFixed(2)}`;
    const conf = info.confidence || "";
    c.badge.textContent = conf ? `${conf} (p${Math.round(100 * info.mean_pct)})` : "";
    c.badge.hidden = !conf;
    c.badge.className = `ecw-conf ecw-conf-${conf}`;
    c.badge.title = conf ? `its time steps are on average at the ${Math.round(100 * info.mean_pct)}th percentile of uncertainty in this dataset` : "";
    c.card.dataset.confidence = conf;
    c.editor.set(d.labels && d.labels[String(id)], d.pal.short(id));
    const key = `${d.dataKey}|${d.lead}|${d.theme.dark}|${d.pal.color(id)}`;
    if (key === c.key) return;
    c.key = key;
    const [K, , L, W] = d.protoShape && d.protoShape.length === 4 ? d.protoShape : [0, 3, 0, 0];
    const [, E, SL, SW] = d.snipShape && d.snipShape.length === 4 ? d.snipShape : [0, 0, 0, 0];
    const pos = info.position;
    const col = d.pal.color(id);
    c.row.replaceChildren();
    if (K && pos < K && L && W) {
      const li = Math.min(d.lead, L - 1);
      const base = (k, q) => ((k * 3 + q) * L + li) * W;
      const med = d.protos.subarray(base(pos, 0), base(pos, 0) + W);
      const q25 = d.protos.subarray(base(pos, 1), base(pos, 1) + W);
      const q75 = d.protos.subarray(base(pos, 2), base(pos, 2) + W);
      const [pc, pctx] = smallCanvas(doc, 140, 60, "ecw-proto");
      pc.title = "prototype: median and 25\u201375 % band";
      drawProto(pctx, 140, 60, med, q25, q75, col, d.theme);
      c.row.appendChild(pc);
    }
    const rel = info.pct_hist && info.pct_hist.length;
    const hist = rel ? info.pct_hist : info.entropy_hist;
    if (hist && hist.length) {
      const [hc, hctx] = smallCanvas(doc, 70, 60, "ecw-hist");
      hc.title = rel ? "its time steps by uncertainty percentile in this dataset (left: more certain than usual, right: less)" : "histogram of uncertainty (0 \u2026 1)";
      drawHist(hctx, 70, 60, hist, col, d.theme);
      c.row.appendChild(hc);
    }
    c.ex.replaceChildren();
    if (E && SW && pos < K) {
      (info.examples || []).slice(0, E).forEach((e, j) => {
        const off = ((pos * E + j) * SL + Math.min(d.lead, SL - 1)) * SW;
        const [sc, sctx] = smallCanvas(doc, 60, 34, "ecw-example");
        drawSnip(sctx, 60, 34, d.snips.subarray(off, off + SW), col, d.theme);
        sc.title = `record ${e.record_id} at ${e.start_s.toFixed(2)} s (click to open)`;
        sc.addEventListener("click", (ev) => {
          ev.stopPropagation();
          handlers.onExample(e);
        });
        c.ex.appendChild(sc);
      });
    }
    c.mix.replaceChildren();
    if (info.class_mix && Object.keys(info.class_mix).length) {
      for (const [name, v] of Object.entries(info.class_mix)) {
        const item = doc.createElement("span");
        item.className = "ecw-mix-item";
        const bar = doc.createElement("span");
        bar.className = "ecw-mix-bar";
        bar.style.width = `${Math.round(40 * v)}px`;
        bar.style.background = col;
        item.append(`${name} ${(100 * v).toFixed(0)}%`, bar);
        c.mix.appendChild(item);
      }
    }
  }
  function update(d) {
    const sorted = [...d.clusters].sort((a, b) => a.id - b.id);
    const keep = new Set(sorted.map((c) => c.id));
    for (const [id, c] of cards) {
      if (!keep.has(id)) {
        c.editor.flush();
        cards.delete(id);
      }
    }
    const nodes = [];
    for (const info of sorted) {
      let c = cards.get(info.id);
      if (!c) {
        c = makeCard(info.id, d);
        cards.set(info.id, c);
      }
      fill(c, info, d);
      nodes.push(c.card);
    }
    reorder(root, nodes);
  }
  return { el: root, update, cards };
}

// draw.js
var perf = globalThis.__ecwPerf = globalThis.__ecwPerf || { base: [], overlay: [], summary: [], render: [], hover: [] };
function track(key, t0) {
  const a = perf[key] || (perf[key] = []);
  a.push(performance.now() - t0);
  if (a.length > 500) a.shift();
}
function caliperText(r) {
  const bpm = r.bpm && r.ms >= 200 ? ` \xB7 ${Math.round(r.bpm)} bpm` : "";
  return `${Math.round(r.ms)} ms${bpm} \xB7 ${r.mv >= 0 ? "+" : ""}${r.mv.toFixed(2)} mV`;
}
function sizeCanvas(c, w, hgt) {
  const dpr = globalThis.devicePixelRatio || 1;
  const W = Math.round(w * dpr);
  const H = Math.round(hgt * dpr);
  if (c.width !== W || c.height !== H) {
    c.width = W;
    c.height = H;
    c.style.width = `${w}px`;
    c.style.height = `${hgt}px`;
  }
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}
function createDrawing(env) {
  const { model, el, S, get } = env;
  const { root, stage, legend, side, base, overlay, tip } = env.dom;
  const doc = el.ownerDocument || document;
  function drawBase() {
    const t0 = performance.now();
    const cur = S.cur;
    const width = Math.max(480, stage.clientWidth || el.clientWidth || 900);
    const L = S.L = computeLayout({
      layout: model.get("ecg_layout"),
      leads: env.visibleLeads(),
      leadNames: cur.rec.lead_names || [],
      width,
      duration: env.duration(),
      view: S.view,
      gradcam: !!(model.get("show_gradcam") && cur.cam),
      rhythmLead: S.protoLead,
      gain: get("gain", 10),
      speed: get("paper_speed", 25),
      scale: env.scale(),
      // Presentation mode always fits the screen, whatever the layout and the fit box.
      fitHeight: get("fit_height", false) || get("presentation", false) ? env.fitTarget() : 0,
      fitAll: !!get("presentation", false)
    });
    S.view = L.view;
    const theme = S.theme;
    const pal = S.pal;
    const ctx = sizeCanvas(base, L.width, L.height);
    sizeCanvas(overlay, L.width, L.height);
    ctx.clearRect(0, 0, L.width, L.height);
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, L.width, L.height);
    const hl = env.highlight();
    const style = get("band_style", "light");
    const showCam = model.get("show_gradcam") && cur.cam;
    const capH = Math.round(6 * L.scale);
    for (const p of L.panels) {
      drawGrid(ctx, p, L, theme);
      drawPanelBands(ctx, p, cur.segs, cur.fs, { pal, style, highlight: hl, chosen: p.lead === S.protoLead });
      if (showCam) drawPanelGradcam(ctx, p, cur.cam, cur.fs, theme);
    }
    for (const p of L.panels) {
      const off = p.lead * cur.nS;
      drawTrace(ctx, p, L, cur.sig, off, cur.nS, cur.fs, theme, leadCenter(cur.sig, off, cur.nS));
      if (p.col === 0) drawCalibration(ctx, p, L, theme);
      if (style !== "strip") {
        drawPanelCap(ctx, p, cur.segs, cur.fs, { pal, highlight: hl, theme, capH, fontPx: Math.round(9 * L.scale) });
      }
      drawLeadLabel(ctx, p, theme, L.scale, style !== "strip" ? capH : 0);
    }
    drawStrip(ctx, L.strip, cur.segs, cur.fs, env.labels(), hl, pal, Math.round(10 * L.scale));
    drawRibbon(ctx, L.ribbon, cur.entPct, cur.fs, theme, L.margin, L.scale, cur.relative);
    if (L.gradcam) drawGradcam(ctx, L.gradcam, cur.cam, cur.fs, theme, model.get("gradcam_label"), L.margin, L.scale);
    drawAxis(ctx, L.axis, L, theme);
    side.style.maxHeight = `${Math.max(420, L.height + legend.offsetHeight)}px`;
    drawOverlay();
    root.dataset.drawnId = String(cur.responseId);
    root.dataset.bands = cur.segs.map((r) => `${r.start}:${r.id}`).join(",").slice(0, 4e3);
    root.dataset.k = String(model.get("n_clusters"));
    root.dataset.bandStyle = style;
    root.dataset.colors = pal.ids.map((id) => pal.color(id)).join(",");
    track("base", t0);
  }
  function drawOverlay() {
    const L = S.L;
    if (!L) return;
    const t0 = performance.now();
    const ctx = overlay.getContext("2d");
    const dpr = globalThis.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, L.width, L.height);
    const tracks = [...L.panels, L.strip, L.ribbon, L.gradcam].filter(Boolean);
    const sel = S.localSel || model.get("selection");
    if (sel && sel.end > sel.start) {
      for (const p of tracks) {
        const a = Math.max(p.t0, sel.start_s);
        const b = Math.min(p.t1, sel.end_s);
        if (b <= a) continue;
        const x0 = timeToX(p, a);
        const x1 = timeToX(p, b);
        ctx.fillStyle = S.theme.select;
        ctx.fillRect(x0, p.y, x1 - x0, p.h);
        ctx.strokeStyle = S.theme.selectEdge;
        ctx.lineWidth = 1;
        ctx.strokeRect(x0 + 0.5, p.y + 0.5, x1 - x0 - 1, p.h - 1);
      }
    }
    if (S.caliper) drawCaliper(ctx, S.caliper);
    if (S.hover) drawCrosshair(ctx, tracks);
    track("overlay", t0);
  }
  function traceY(p, i) {
    const cur = S.cur;
    const off = p.lead * cur.nS;
    const center = leadCenter(cur.sig, off, cur.nS);
    return p.y + p.h / 2 - (cur.sig[off + i] - center) * S.L.pxPerMv;
  }
  function drawCrosshair(ctx, tracks) {
    const { hover, theme, cur } = S;
    const t = hover.t;
    ctx.save();
    ctx.strokeStyle = theme.cross;
    ctx.fillStyle = theme.cross;
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 3]);
    const i = Math.max(0, Math.min(cur.nS - 1, Math.round(t * cur.fs)));
    for (const p of tracks) {
      if (t < p.t0 || t > p.t1) continue;
      const x = Math.round(timeToX(p, t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, p.y);
      ctx.lineTo(x, p.y + p.h);
      ctx.stroke();
      if (p.kind === "lead") {
        const y = traceY(p, i);
        if (y >= p.y && y <= p.y + p.h) {
          ctx.beginPath();
          ctx.arc(x, y, p === hover.p ? 3.5 : 2.5, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    }
    ctx.setLineDash([]);
    if (hover.p.kind === "lead") {
      ctx.beginPath();
      ctx.moveTo(hover.p.x, Math.round(hover.y) + 0.5);
      ctx.lineTo(hover.p.x + hover.p.w, Math.round(hover.y) + 0.5);
      ctx.globalAlpha = 0.35;
      ctx.stroke();
    }
    ctx.restore();
  }
  function drawCaliper(ctx, c) {
    const L = S.L;
    const r = caliperReading(c.p, c.x0, c.y0, c.x1, c.y1, L.pxPerMv);
    const p = c.p;
    ctx.save();
    ctx.strokeStyle = S.theme.caliper;
    ctx.fillStyle = S.theme.caliper;
    ctx.lineWidth = 1.5;
    for (const x2 of [c.x0, c.x1]) {
      ctx.beginPath();
      ctx.moveTo(Math.round(x2) + 0.5, p.y);
      ctx.lineTo(Math.round(x2) + 0.5, p.y + p.h);
      ctx.stroke();
    }
    ctx.beginPath();
    ctx.moveTo(c.x0, c.y0);
    ctx.lineTo(c.x1, c.y0);
    ctx.lineTo(c.x1, c.y1);
    ctx.stroke();
    const text = caliperText(r);
    const px = Math.round(11 * L.scale);
    ctx.font = `bold ${px}px sans-serif`;
    ctx.textBaseline = "top";
    const w = ctx.measureText(text).width;
    const x = Math.min(Math.max(c.x0, c.x1) + 4, L.width - w - 6);
    const y = Math.max(p.y + 2, Math.min(c.y0, c.y1) - px - 6);
    ctx.fillStyle = S.theme.labelBg;
    ctx.fillRect(x - 2, y - 1, w + 4, px + 4);
    ctx.fillStyle = S.theme.caliper;
    ctx.fillText(text, x, y + 1);
    ctx.restore();
  }
  function updateTooltip() {
    const { hover, L, cur, pal } = S;
    if (!hover || !L) {
      tip.hidden = true;
      return;
    }
    const t0 = performance.now();
    const t = hover.t;
    const i = Math.max(0, Math.min(cur.nS - 1, Math.round(t * cur.fs)));
    const rows = [[`${t.toFixed(3)} s`, ""]];
    if (hover.p.kind === "lead") {
      const v = cur.sig[hover.p.lead * cur.nS + i];
      rows.push([`${cur.rec.lead_names?.[hover.p.lead] ?? hover.p.lead}`, `${v.toFixed(2)} mV`]);
    }
    const cid = cur.ids[i];
    rows.push(["cluster", pal.title(cid, env.labels())]);
    const e = valueAt(cur.ent, t, cur.fs);
    if (e != null) {
      const pct = cur.relative ? valueAt(cur.entPct, t, cur.fs) : null;
      rows.push(["uncertainty", pct != null ? `${e.toFixed(3)} (p${Math.round(100 * pct)})` : e.toFixed(3)]);
    }
    const g = cur.cam ? valueAt(cur.cam, t, cur.fs) : null;
    if (g != null) rows.push([`Grad-CAM ${model.get("gradcam_label") || ""}`.trim(), g.toFixed(3)]);
    tip.replaceChildren();
    const head = h(doc, "div", "ecw-tip-head");
    head.append(swatch(doc, cid, pal), rows[0][0]);
    tip.appendChild(head);
    for (const [k, v] of rows.slice(1)) {
      const r = h(doc, "div", "ecw-tip-row");
      r.append(h(doc, "span", "ecw-tip-key", k), h(doc, "span", "ecw-tip-val", v));
      tip.appendChild(r);
    }
    tip.dataset.t = t.toFixed(3);
    tip.dataset.cluster = String(cid);
    tip.hidden = false;
    const sw = stage.clientWidth || L.width;
    const tw = tip.offsetWidth || 160;
    const th = tip.offsetHeight || 80;
    const x = hover.x + 14 + tw > sw ? hover.x - tw - 14 : hover.x + 14;
    const y = Math.max(0, Math.min(hover.y + 14, L.height - th - 2));
    tip.style.left = `${Math.max(0, x)}px`;
    tip.style.top = `${y}px`;
    track("hover", t0);
  }
  return { drawBase, drawOverlay, updateTooltip };
}

// panels.js
function createPanels(env, handlers) {
  const { model, S } = env;
  const { summary, infoText, occOut, legend, leadPick, rankBadges } = env.dom;
  const doc = summary.ownerDocument;
  const panel = createClusterPanel(doc, handlers);
  const conf = h(doc, "div", "ecw-conf-summary");
  conf.setAttribute("aria-live", "polite");
  function drawSummary() {
    const t0 = performance.now();
    const cur = S.cur;
    summary.replaceChildren();
    const sel = S.localSel || model.get("selection");
    if (!sel || !(sel.end > sel.start)) {
      summary.appendChild(h(doc, "div", "ecw-hint", "Drag across a lead to select a time range; Esc clears. Press ? for help."));
      summary.dataset.state = "empty";
      return;
    }
    const s = selectionSummary(cur.ids, cur.ent, cur.cam, sel.start, sel.end);
    summary.appendChild(h(
      doc,
      "div",
      "ecw-sum-title",
      `${sel.start_s.toFixed(2)}\u2013${sel.end_s.toFixed(2)} s (${s.n} samples)`
    ));
    const list = h(doc, "div", "ecw-sum-list");
    for (const c of s.clusters) {
      const row = h(doc, "div", "ecw-sum-row");
      row.dataset.clusterId = String(c.id);
      const barEl = h(doc, "span", "ecw-sum-bar");
      barEl.style.width = `${Math.max(2, Math.round(80 * c.share))}px`;
      barEl.style.background = S.pal.color(c.id);
      row.append(
        swatch(doc, c.id, S.pal),
        h(doc, "span", "ecw-sum-name", S.pal.title(c.id, env.labels())),
        barEl,
        h(doc, "span", "ecw-sum-val", `${fmtPct(c.share)} \xB7 H\u0304 ${c.mean_entropy.toFixed(2)}`)
      );
      list.appendChild(row);
    }
    summary.appendChild(list);
    summary.appendChild(h(doc, "div", "ecw-sum-line", `mean uncertainty ${s.mean_entropy.toFixed(3)}`));
    if (s.gradcam_share != null) {
      summary.appendChild(h(
        doc,
        "div",
        "ecw-sum-line",
        `Grad-CAM share (${model.get("gradcam_label") || "class"}): ${fmtPct(s.gradcam_share)} of the mass in ${fmtPct(s.n / Math.max(1, cur.nS))} of the time`
      ));
    }
    const pred = cur.rec.prediction;
    if (pred && Object.keys(pred).length) {
      const txt = Object.entries(pred).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(" \xB7 ");
      summary.appendChild(h(doc, "div", "ecw-sum-line", `model prediction: ${txt}`));
    }
    summary.dataset.state = "filled";
    track("summary", t0);
  }
  function drawInfo() {
    const r = S.cur.rec;
    const parts = [`ECG ${r.index} / ${model.get("n_records") - 1}`, `record ${r.record_id}`];
    if (r.true_classes) parts.push(`true: ${r.true_classes.length ? r.true_classes.join(", ") : "\u2014"}`);
    if (r.prediction) {
      const top = Object.entries(r.prediction).sort((a, b) => b[1] - a[1]).slice(0, 3);
      parts.push(`model: ${top.map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(", ")}`);
    }
    if (r.mean_entropy != null) parts.push(`mean uncertainty ${r.mean_entropy.toFixed(3)}`);
    if (r.rank_info) parts.push(r.rank_info);
    infoText.textContent = parts.join("  \xB7  ");
    for (const key of ["uncertain", "atypical"]) {
      const pos = S.rankPos[key];
      rankBadges[key].textContent = pos >= 0 && S.rankN[key] ? ` #${pos + 1} of ${S.rankN[key]}` : "";
    }
  }
  function drawOcc() {
    const hl = env.highlight();
    const occ = S.occ;
    if (!occ || hl == null || occ.id !== hl) {
      occOut.textContent = "";
      delete occOut.dataset.index;
      return;
    }
    const name = S.pal.title(occ.id, env.labels());
    occOut.textContent = occ.n ? `${name}: occurrence ${occ.idx + 1} / ${occ.n}` : `${name} does not occur in this ECG`;
    occOut.dataset.index = String(occ.idx + 1);
    occOut.dataset.count = String(occ.n);
  }
  const legendItems = /* @__PURE__ */ new Map();
  function drawLegend() {
    const { cur, pal } = S;
    const whole = selectionSummary(cur.ids, cur.ent, null, 0, cur.ids.length);
    const byId = new Map(whole.clusters.map((c) => [c.id, c]));
    const hl = env.highlight();
    const nodes = [];
    const ids = cur.clusters.map((c) => c.id).sort((a, b) => a - b);
    const keep = new Set(ids);
    for (const id of [...legendItems.keys()]) if (!keep.has(id)) legendItems.delete(id);
    for (const id of ids) {
      let it = legendItems.get(id);
      if (!it) {
        const b = h(doc, "button", "ecw-legend-item");
        b.type = "button";
        const sw = swatch(doc, id, pal);
        const name = h(doc, "span", "ecw-legend-name");
        const val = h(doc, "span", "ecw-legend-val");
        b.append(sw, name, val);
        it = { b, sw, name, val };
        legendItems.set(id, it);
      }
      const c = byId.get(id);
      const info = cur.clusters.find((x) => x.id === id) || {};
      const shown = pal.titleOrProposal(id, env.labels(), info.proposed_name, info.ancestors);
      const title = shown.text;
      swatch(doc, id, pal, it.sw);
      it.b.dataset.clusterId = String(id);
      it.b.dataset.num = pal.short(id);
      it.b.setAttribute("aria-pressed", hl === id ? "true" : "false");
      it.b.classList.toggle("ecw-legend-active", hl === id);
      it.b.classList.toggle("ecw-legend-absent", !c);
      it.b.title = `${title}${shown.proposed ? " (proposed name, not confirmed)" : ""}: ${c ? fmtPct(c.share) : "0%"} of this ECG, mean uncertainty ${c ? c.mean_entropy.toFixed(2) : "\u2014"} (click to highlight; stable id ${id})`;
      it.name.textContent = title;
      it.name.classList.toggle("ecw-proposed", shown.proposed);
      it.b.dataset.proposed = shown.proposed ? info.proposed_name : "";
      it.val.textContent = c ? `${(100 * c.share).toFixed(0)}% \xB7 H\u0304 ${c.mean_entropy.toFixed(2)}` : "absent";
      nodes.push(it.b);
    }
    reorder(legend, nodes);
  }
  function drawClusters() {
    const cur = S.cur;
    panel.update({
      clusters: cur.clusters,
      protos: cur.protos,
      protoShape: cur.protoShape,
      snips: cur.snips,
      snipShape: cur.snipShape,
      lead: S.protoLead,
      labels: env.labels(),
      vocab: model.get("label_vocab") || DEFAULT_VOCAB,
      highlight: model.get("highlight_cluster"),
      theme: S.theme,
      pal: S.pal,
      dataKey: `${cur.responseId}`
    });
    drawConfidence();
    const names = cur.rec.lead_names || [];
    if (leadPick.options.length !== names.length) {
      leadPick.replaceChildren(...names.map((n, i) => option(doc, i, `prototype lead ${n}`)));
    }
    leadPick.value = String(S.protoLead);
  }
  function drawConfidence() {
    const groups = { confident: [], unsure: [] };
    for (const c of [...S.cur.clusters].sort((a, b) => a.id - b.id)) {
      if (c.confidence in groups) groups[c.confidence].push(c);
    }
    conf.replaceChildren();
    conf.hidden = !groups.confident.length && !groups.unsure.length;
    for (const [key, label] of [["confident", "confident"], ["unsure", "unsure"]]) {
      const row = h(doc, "div", `ecw-conf-row ecw-conf-${key}`);
      row.dataset.group = key;
      row.append(h(doc, "span", "ecw-conf-label", `${label}:`));
      for (const c of groups[key]) {
        const item = h(doc, "span", "ecw-conf-item");
        item.dataset.clusterId = String(c.id);
        item.dataset.num = S.pal.short(c.id);
        item.append(swatch(doc, c.id, S.pal), ` ${S.pal.short(c.id)}`);
        item.title = `${S.pal.title(c.id, env.labels())}: mean uncertainty at the ${Math.round(100 * c.mean_pct)}th percentile of this dataset`;
        row.append(item);
      }
      if (!groups[key].length) row.append(h(doc, "span", "ecw-conf-none", "none"));
      conf.append(row);
    }
  }
  return { panel, conf, drawSummary, drawInfo, drawOcc, drawLegend, drawClusters };
}

// actions.js
function createActions(c) {
  const {
    model,
    S,
    proto,
    kjob,
    draw,
    panels,
    help,
    calOut,
    tb,
    get,
    duration,
    highlight,
    updateBusy,
    refuse,
    setViewAndSync,
    setSelection,
    pickCluster,
    setTrait,
    syncControls,
    clearCaliper,
    undoLabels
  } = c;
  function gotoOccurrence(dir) {
    const id = highlight();
    if (id == null) {
      proto.st.flash = "highlight a cluster first (keys 1\u20139, the legend or a card), then n / p";
      updateBusy();
      return;
    }
    proto.st.flash = "";
    const { cur, view } = S;
    const list = occurrences(cur.segs, id);
    const prev = S.occ && S.occ.id === id && S.occ.rid === cur.responseId ? S.occ.idx : -1;
    const i = stepOccurrence(list, prev, dir, view[0] * cur.fs, view[1] * cur.fs);
    S.occ = { id, idx: i, n: list.length, rid: cur.responseId };
    panels.drawOcc();
    updateBusy();
    if (i < 0) return;
    const r = list[i];
    const span = view[1] - view[0];
    if (span < duration() - 1e-9) {
      const mid = (r.start + r.end) / 2 / cur.fs;
      setViewAndSync(panView([mid - span / 2, mid + span / 2], 0, duration()));
    }
    setSelection({ start_s: r.start / cur.fs, end_s: r.end / cur.fs, start: r.start, end: r.end });
  }
  function rankStep(key, dir) {
    const n = S.rankN[key] || 0;
    let pos = S.rankPos[key] + dir;
    if (pos < 0) pos = n ? n - 1 : 0;
    proto.send({ rank: key, rank_pos: pos, rank_source: "ui" });
  }
  const kLimit = (which, k) => `K=${k} is the ${which} K of this explorer (range ${model.get("k_min")}..${model.get("k_max")}; set it with ClusterExplorer(..., k_range=(low, high)))`;
  function askK(k) {
    const chk = checkInt(k, model.get("k_min"), model.get("k_max"), "K");
    if (!chk.ok) return refuse(chk.why);
    tb.kValue.textContent = String(chk.value);
    tb.kSlider.value = String(chk.value);
    kjob.ask(chk.value);
  }
  function doAction(a) {
    const n = model.get("n_records");
    const idx = proto.wanted("index");
    const k = kjob.wanted() ?? proto.wanted("k");
    const cycle = (key, list, fallback) => {
      const i = list.indexOf(get(key, fallback));
      setTrait(key, list[(i + 1) % list.length]);
    };
    switch (a) {
      case "help":
        help.hidden = !help.hidden;
        break;
      case "undo":
        undoLabels(-1);
        break;
      case "redo":
        undoLabels(1);
        break;
      // At an end of a range the key says so instead of doing nothing.
      case "k+":
        if (k < model.get("k_max")) askK(k + 1);
        else refuse(kLimit("largest", k));
        break;
      case "k-":
        if (k > model.get("k_min")) askK(k - 1);
        else refuse(kLimit("smallest", k));
        break;
      case "prev":
        if (idx > 0) proto.send({ index: idx - 1 });
        else refuse("this is the first ECG (index 0)");
        break;
      case "next":
        if (idx < n - 1) proto.send({ index: idx + 1 });
        else refuse(`this is the last ECG (index ${n - 1})`);
        break;
      case "uncertain":
        rankStep("uncertain", 1);
        break;
      case "atypical":
        rankStep("atypical", 1);
        break;
      case "uncertain-prev":
        rankStep("uncertain", -1);
        break;
      case "atypical-prev":
        rankStep("atypical", -1);
        break;
      case "pan-":
        setViewAndSync(panView(S.view, -(S.view[1] - S.view[0]) * 0.25, duration()));
        break;
      case "pan+":
        setViewAndSync(panView(S.view, (S.view[1] - S.view[0]) * 0.25, duration()));
        break;
      case "zoom-in":
        setViewAndSync(zoomView(S.view, (S.view[0] + S.view[1]) / 2, 1.5, duration()));
        break;
      case "zoom-out":
        setViewAndSync(zoomView(S.view, (S.view[0] + S.view[1]) / 2, 1 / 1.5, duration()));
        break;
      case "zoom-reset":
        setViewAndSync([0, naturalSpan(duration(), get("paper_speed", 25))]);
        break;
      case "occ+":
        gotoOccurrence(1);
        break;
      case "occ-":
        gotoOccurrence(-1);
        break;
      case "gradcam":
        if (model.get("gradcam_unavailable")) refuse(model.get("gradcam_unavailable"));
        else setTrait("show_gradcam", !model.get("show_gradcam"));
        break;
      case "bands":
        cycle("band_style", BAND_STYLES, "light");
        break;
      case "calipers":
        S.mode = S.mode === "caliper" ? "brush" : "caliper";
        if (S.mode === "brush") {
          S.caliper = null;
          calOut.textContent = "";
        }
        syncControls();
        draw.drawOverlay();
        break;
      case "present":
        setTrait("presentation", !get("presentation", false));
        break;
      case "layout":
        cycle("ecg_layout", LAYOUTS, "12x1");
        break;
      case "escape":
        if (!help.hidden) {
          help.hidden = true;
          break;
        }
        if (kjob.wanted() != null) {
          kjob.cancel();
          break;
        }
        if (S.caliper) {
          clearCaliper();
          break;
        }
        setSelection(null);
        if (model.get("highlight_cluster") >= 0) pickCluster(model.get("highlight_cluster"));
        break;
      default:
        if (a.startsWith("cluster")) {
          const j = Number(a.slice(7)) - 1;
          if (j < S.pal.ids.length) pickCluster(S.pal.ids[j]);
          else refuse(`there is no cluster ${j + 1} at K=${S.pal.ids.length}`);
        }
    }
  }
  return { doAction, askK };
}

// present.js
function createPlacement(o) {
  const { doc, el, root, stage } = o;
  function fitTarget() {
    let viewH = doc.defaultView && doc.defaultView.innerHeight || 900;
    const present = o.present();
    for (let n = root.parentElement; !present && n && n !== doc.body; n = n.parentElement) {
      const oy = getComputedStyle(n).overflowY;
      if ((oy === "auto" || oy === "scroll") && n.clientHeight > 200) viewH = Math.min(viewH, n.clientHeight);
    }
    const above = stage.getBoundingClientRect().top - root.getBoundingClientRect().top;
    return Math.max(present ? 200 : 360, viewH - above - 16);
  }
  function place(present) {
    const where = present ? doc.body : el;
    if (!where || root.parentElement === where) return;
    const had = root.contains(doc.activeElement);
    where.appendChild(root);
    if (had) root.focus({ preventScroll: true });
  }
  o.reg.onTeardown(() => {
    if (root.parentElement !== el) root.remove();
  });
  return { fitTarget, place };
}

// shell.js
function buildShell(doc) {
  const root = h(doc, "div", "ecw-root");
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.setAttribute("aria-label", "ECG cluster explorer (press ? for keyboard help)");
  const tb = buildToolbar(doc);
  const offlineMsg = h(doc, "div", "ecw-offline-msg", `\u26A0 ${DISCONNECTED}. Brush, zoom, hover and highlighting still work here.`);
  offlineMsg.setAttribute("role", "alert");
  offlineMsg.hidden = true;
  const info = h(doc, "div", "ecw-info");
  const infoText = h(doc, "span", "ecw-info-text");
  const occOut = h(doc, "span", "ecw-occ");
  occOut.setAttribute("aria-live", "polite");
  const calOut = h(doc, "span", "ecw-caliper-out");
  info.append(infoText, occOut, calOut);
  const legend = h(doc, "div", "ecw-legend");
  legend.setAttribute("aria-label", "clusters (click to highlight)");
  const stage = h(doc, "div", "ecw-stage");
  const base = h(doc, "canvas", "ecw-canvas");
  const overlay = h(doc, "canvas", "ecw-overlay");
  const tip = h(doc, "div", "ecw-tooltip");
  tip.hidden = true;
  stage.append(base, overlay, tip);
  const stageCol = h(doc, "div", "ecw-stage-col");
  stageCol.append(legend, stage);
  const side = h(doc, "div", "ecw-side");
  const summary = h(doc, "div", "ecw-summary");
  summary.setAttribute("aria-live", "polite");
  const leadPick = (
    /** @type {HTMLSelectElement} */
    h(doc, "select", "ecw-proto-lead")
  );
  leadPick.setAttribute("aria-label", "prototype lead (also the lead of 'bands: one lead')");
  const main = h(doc, "div", "ecw-main");
  main.append(stageCol, side);
  const help = buildHelp(doc);
  root.append(tb.bar, tb.message, offlineMsg, tb.leadBar, info, main, help);
  return { root, tb, offlineMsg, infoText, occOut, calOut, legend, stage, base, overlay, tip, side, summary, leadPick, help };
}

// page.js
function watchPage(c) {
  const { reg, doc, el, ui } = c;
  if (typeof ResizeObserver === "function") {
    let lastW = 0;
    const ro = reg.observer(new ResizeObserver(() => {
      const w = ui.stage.clientWidth;
      if (w && Math.abs(w - lastW) > 4) {
        lastW = w;
        c.draw.drawBase();
      }
    }));
    ro.observe(ui.stage);
  }
  const mq = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
  reg.dom(mq, "change", c.redrawAll);
  if (typeof MutationObserver === "function" && doc.body) {
    reg.observer(new MutationObserver(() => reg.timeout("theme", c.redrawAll, 50))).observe(doc.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  }
  if (typeof MutationObserver === "function") {
    const connObs = reg.observer(new MutationObserver(() => c.updateBusy()));
    for (let n = el; n && n !== doc.body; n = n.parentElement) {
      connObs.observe(n, { attributes: true, attributeFilter: ["class"] });
    }
  }
  let wasOffline = c.offline();
  reg.interval(() => {
    if (c.offline() !== wasOffline) {
      wasOffline = c.offline();
      c.updateBusy();
    }
  }, 1e3);
  reg.timeout("first-status", c.updateBusy, 0);
}

// index.js
function createCore(model, el, reg, ui) {
  const doc = el.ownerDocument || document;
  const { root, tb, offlineMsg, calOut, stage, side, summary } = ui;
  const standalone = !!model.standalone;
  const get = (key, fallback) => {
    const v = model.get(key);
    return v === void 0 || v === null ? fallback : v;
  };
  const cur0 = decodeResponse(model);
  const vr = model.get("view_range");
  const S = {
    cur: cur0,
    L: null,
    localSel: null,
    // selection while dragging, before it is sent
    view: vr && vr.length === 2 ? vr : [0, naturalSpan(cur0.nS / cur0.fs, get("paper_speed", 25))],
    protoLead: Math.min(1, Math.max(0, cur0.nL - 1)),
    theme: readTheme(el),
    pal: null,
    occ: null,
    // {id, idx, n, rid}: the occurrence n / p step from
    hover: null,
    caliper: null,
    mode: "brush",
    sideHidden: false,
    rankPos: { uncertain: -1, atypical: -1 },
    // the user's own cursor, from #1
    rankN: { uncertain: 0, atypical: 0 },
    dismissed: ""
  };
  S.pal = makePalette(cur0.clusterIds, S.theme.dark);
  const duration = () => (S.cur.nS || 1) / S.cur.fs;
  const labels = () => model.get("cluster_labels") || {};
  const highlight = () => {
    const v = model.get("highlight_cluster");
    return v >= 0 ? v : null;
  };
  const scale = () => {
    const s = Number(get("font_scale", 1)) || 1;
    return get("presentation", false) ? Math.max(1.5, s) : s;
  };
  const visibleLeads = () => {
    const v = model.get("leads") || [];
    return v.length ? v.filter((i) => i < S.cur.nL) : [...Array(S.cur.nL).keys()];
  };
  const placement = createPlacement({ doc, el, root, stage, reg, present: () => !!get("presentation", false) });
  const disconnected = () => !standalone && !!(el.closest && el.closest(".jupyter-widgets-disconnected"));
  const offline = () => standalone || disconnected();
  function save() {
    try {
      model.save_changes();
    } catch (err) {
      proto.st.noAnswer = true;
    }
  }
  const proto = createProtocol({ model, reg, offline, standalone, save, onState: () => updateBusy() });
  function updateBusy() {
    const v = proto.statusView();
    root.classList.toggle("ecw-busy", v.busy);
    root.classList.toggle("ecw-offline", v.off && !standalone);
    offlineMsg.hidden = !(v.off && !standalone);
    root.dataset.offline = v.off ? "1" : "0";
    tb.status.textContent = v.text;
    tb.status.classList.toggle("ecw-error", v.isError);
  }
  function flash(text) {
    proto.st.flash = text;
    updateBusy();
  }
  const refuse = (why) => flash(`\u26A0 ${why}`);
  const kjob = createKJob({ model, reg, ui: tb.kjob, offline, save, refuse, onChange: () => syncControls() });
  const env = {
    model,
    el,
    S,
    get,
    duration,
    labels,
    highlight,
    scale,
    visibleLeads,
    fitTarget: placement.fitTarget,
    dom: { ...ui, rankBadges: tb.rankBadges }
  };
  const draw = createDrawing(env);
  const labelEdits = createLabelEditing({
    model,
    save,
    flash,
    refuse,
    ids: () => S.cur.clusterIds,
    title: (id) => S.pal.title(id, {}),
    offlineNote: () => offline() && !standalone
  });
  const panels = createPanels(env, {
    onPick: (id) => pickCluster(id),
    onLabel: labelEdits.edit,
    onExample: (e) => {
      const span = Math.min(duration(), 2);
      const c = e.start_s;
      const v = [Math.max(0, c - span / 2), Math.max(0, c - span / 2) + span];
      if (proto.send({ index: e.record_index })) S.view = v;
    }
  });
  side.append(summary, ui.leadPick, panels.conf, panels.panel.el);
  function syncControls() {
    syncToolbar(tb, model, {
      recordId: S.cur.rec.record_id,
      get: (k, f) => k === "message" && get(k, f) === S.dismissed ? "" : get(k, f),
      mode: S.mode,
      visibleLeads: visibleLeads(),
      leadNames: S.cur.rec.lead_names || [],
      kWanted: kjob.wanted()
    });
    const present = !!get("presentation", false);
    placement.place(present);
    root.classList.toggle("ecw-present", present);
    root.classList.toggle("ecw-side-hidden", S.sideHidden || present);
    root.style.setProperty("--ecw-scale", String(scale()));
    root.classList.toggle("ecw-caliper-mode", S.mode === "caliper");
  }
  function keepFocus(fn) {
    const had = root.contains(doc.activeElement);
    fn();
    if (had && !root.contains(doc.activeElement)) root.focus({ preventScroll: true });
  }
  function redrawAll() {
    keepFocus(() => {
      S.theme = readTheme(el);
      S.pal = makePalette(S.cur.clusterIds, S.theme.dark);
      syncControls();
      panels.drawInfo();
      panels.drawLegend();
      draw.drawBase();
      panels.drawSummary();
      panels.drawClusters();
      panels.drawOcc();
      updateBusy();
    });
  }
  function redrawClusters(withSummary = false) {
    keepFocus(() => {
      draw.drawBase();
      panels.drawLegend();
      if (withSummary) panels.drawSummary();
      panels.drawClusters();
      panels.drawOcc();
    });
  }
  function setView(v) {
    S.view = v;
    draw.drawBase();
    if (S.hover) draw.updateTooltip();
  }
  function setViewAndSync(v) {
    setView(v);
    reg.timeout("view", () => {
      if (!checkViewRange(S.view, duration()).ok) return;
      model.set("view_range", S.view);
      save();
    }, 250);
  }
  function setSelection(sel) {
    S.localSel = null;
    const chk = checkSelection(sel, S.cur.fs, S.cur.nS);
    if (!chk.ok) return refuse(chk.why);
    model.set("selection", chk.value);
    save();
    draw.drawOverlay();
    panels.drawSummary();
  }
  function pickCluster(id) {
    const now = model.get("highlight_cluster");
    model.set("highlight_cluster", now === id ? -1 : id);
    save();
    S.occ = null;
    redrawClusters();
  }
  function setTrait(key, value) {
    model.set(key, value);
    save();
  }
  function setSpeed(speed) {
    const span = naturalSpan(duration(), speed);
    setTrait("paper_speed", speed);
    setViewAndSync(panView([S.view[0], S.view[0] + span], 0, duration()));
  }
  function clearCaliper() {
    S.caliper = null;
    calOut.textContent = "";
    draw.drawOverlay();
  }
  const { doAction, askK } = createActions({
    model,
    S,
    proto,
    kjob,
    draw,
    panels,
    help: ui.help,
    calOut,
    tb,
    get,
    duration,
    highlight,
    updateBusy,
    refuse,
    setViewAndSync,
    setSelection,
    pickCluster,
    setTrait,
    syncControls,
    clearCaliper,
    undoLabels: labelEdits.undo
  });
  return {
    model,
    el,
    doc,
    reg,
    ui,
    S,
    get,
    duration,
    visibleLeads,
    offline,
    save,
    proto,
    updateBusy,
    kjob,
    draw,
    history: labelEdits.history,
    panels,
    syncControls,
    keepFocus,
    redrawAll,
    redrawClusters,
    setView,
    setViewAndSync,
    setSelection,
    pickCluster,
    setTrait,
    setSpeed,
    clearCaliper,
    doAction,
    askK,
    refuse
  };
}
function wirePointer(c) {
  const { S, draw, ui } = c;
  attachPointer(ui.overlay, {
    listen: c.reg.dom,
    getLayout: () => S.L,
    getView: () => S.view,
    fs: () => S.cur.fs,
    nSamples: () => S.cur.nS,
    duration: c.duration,
    mode: () => S.mode,
    onBrush: (sel, final) => {
      if (final) c.setSelection(sel);
      else {
        S.localSel = sel;
        draw.drawOverlay();
      }
    },
    onView: c.setViewAndSync,
    onClick: (p, t) => {
      if (p.kind === "strip") {
        const i = Math.floor(t * S.cur.fs);
        if (i >= 0 && i < S.cur.ids.length) c.pickCluster(S.cur.ids[i]);
      } else if (S.mode === "caliper" && S.caliper) c.clearCaliper();
    },
    onHover: (p, x, y) => {
      S.hover = { p, x, y, t: Math.max(p.t0, Math.min(p.t1, xToTime(p, x))) };
      draw.drawOverlay();
      draw.updateTooltip();
    },
    onLeave: () => {
      if (!S.hover) return;
      S.hover = null;
      draw.drawOverlay();
      draw.updateTooltip();
    },
    onCaliper: (cal, final) => {
      S.caliper = cal;
      const r = caliperReading(cal.p, cal.x0, cal.y0, cal.x1, cal.y1, S.L.pxPerMv);
      ui.calOut.textContent = `calipers: ${caliperText(r)}`;
      ui.calOut.dataset.ms = r.ms.toFixed(1);
      ui.calOut.dataset.mv = r.mv.toFixed(3);
      draw.drawOverlay();
      if (final) ui.root.dataset.caliper = `${r.ms.toFixed(1)},${r.mv.toFixed(3)}`;
    }
  });
  c.reg.dom(ui.overlay, "pointerdown", () => ui.root.focus({ preventScroll: true }));
}
function wireControls(c) {
  const { S, ui, reg, model } = c;
  reg.dom(ui.root, "keydown", (ev) => {
    const tag = ev.target && ev.target.tagName || "";
    if (["INPUT", "TEXTAREA", "SELECT"].includes(tag) && ev.key !== "Escape") return;
    if (tag === "BUTTON" && (ev.key === "Enter" || ev.key === " ")) return;
    const a = actionFor(ev);
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    c.doAction(a);
  });
  wireToolbar(ui.tb, reg, {
    doAction: c.doAction,
    askK: c.askK,
    setTrait: c.setTrait,
    setSpeed: c.setSpeed,
    refuse: c.refuse,
    send: c.proto.send,
    wanted: c.proto.wanted,
    nRecords: () => model.get("n_records"),
    recordId: () => S.cur.rec.record_id,
    toggleSide: () => {
      S.sideHidden = !S.sideHidden;
      c.syncControls();
      c.draw.drawBase();
    },
    dismiss: () => {
      S.dismissed = c.get("message", "");
    },
    toggleLead: (i) => {
      const s = new Set(c.visibleLeads());
      if (s.has(i) && s.size > 1) s.delete(i);
      else s.add(i);
      c.setTrait("leads", [...s].sort((x, y) => x - y));
    }
  });
  reg.dom(ui.legend, "click", (ev) => {
    const b = ev.target.closest && ev.target.closest(".ecw-legend-item");
    if (b) c.pickCluster(Number(b.dataset.clusterId));
  });
  reg.dom(ui.leadPick, "change", () => {
    S.protoLead = Number(ui.leadPick.value);
    c.panels.drawClusters();
    if (c.get("band_style", "light") === "lead" || model.get("ecg_layout") === "3x4") c.draw.drawBase();
  });
}
function wireTraits(c) {
  const { S, model, reg, draw, panels } = c;
  const on = (key, fn) => reg.model(model, `change:${key}`, fn);
  on("response_id", () => queueMicrotask(() => {
    if (!c.proto.accept()) {
      c.updateBusy();
      return;
    }
    if (c.kjob.overtaken((model.get("record") || {}).k, S.cur.rec.k)) {
      c.updateBusy();
      return;
    }
    const prevRecord = S.cur.rec.index;
    S.cur = decodeResponse(model);
    const rk = S.cur.rec.rank;
    if (rk && rk.source === "ui" && rk.key in S.rankPos) {
      S.rankPos[rk.key] = rk.pos;
      S.rankN[rk.key] = rk.n;
    }
    if (S.cur.rec.index !== prevRecord) {
      S.localSel = null;
      S.occ = null;
      S.caliper = null;
      c.ui.calOut.textContent = "";
      S.hover = null;
      c.ui.tip.hidden = true;
      if (!(model.get("view_range") || []).length) S.view = [0, naturalSpan(c.duration(), c.get("paper_speed", 25))];
    }
    c.redrawAll();
    c.kjob.onAnswer();
  }));
  for (const key of ["busy", "status", "error"]) on(key, c.updateBusy);
  for (const key of ["message", "labels_report", "gradcam_unavailable"]) on(key, c.syncControls);
  const onLook = () => c.keepFocus(() => {
    c.syncControls();
    draw.drawBase();
  });
  for (const key of [
    "ecg_layout",
    "leads",
    "show_gradcam",
    "band_style",
    "gain",
    "paper_speed",
    "font_scale",
    "presentation",
    "fit_height"
  ]) on(key, onLook);
  on("cluster_labels", () => c.redrawClusters(true));
  on("selection", () => {
    draw.drawOverlay();
    panels.drawSummary();
  });
  on("highlight_cluster", () => c.redrawClusters());
  on("view_range", () => {
    const v = model.get("view_range");
    if (v && v.length === 2 && (v[0] !== S.view[0] || v[1] !== S.view[1])) c.setView(v);
  });
  reg.model(model, "msg:custom", (msg) => {
    if (msg && msg.type === "pong") c.proto.onPong();
  });
}
function render({ model, el }) {
  const tRender = performance.now();
  const reg = createRegistry();
  const ui = buildShell(el.ownerDocument || document);
  el.appendChild(ui.root);
  const c = createCore(model, el, reg, ui);
  wirePointer(c);
  wireControls(c);
  wireTraits(c);
  watchPage(c);
  c.redrawAll();
  reg.onTeardown(() => {
    for (const card of c.panels.panel.cards.values()) card.editor.flush();
  });
  const { S } = c;
  ui.root.__ecw = {
    layout: () => S.L,
    view: () => S.view.slice(),
    palette: () => S.pal,
    listeners: () => reg.size(),
    history: () => c.history.sizes(),
    get: (key) => model.get(key),
    send: (key, value) => {
      model.set(key, value);
      c.save();
    }
  };
  ui.root.dataset.ready = "1";
  track("render", tRender);
  return () => reg.teardown();
}
var index_default = { render };
export {
  index_default as default
};
